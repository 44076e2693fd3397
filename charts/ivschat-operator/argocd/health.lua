-- Argo CD health check for ChatRoom and ChatLoggingConfiguration
-- (ivschat.operators.dev/v1alpha1).
--
-- Argo CD runs this with the live object in the global `obj` and expects a
-- table with `status` and `message`. Its Lua runtime loads only the base,
-- table, package and os libraries, so this script uses no `string` function.
--
-- The checks run in this order. An object being deleted is Progressing. A
-- paused object is Suspended. An object the
-- operator has not reported on yet, or whose latest generation it has not
-- processed, is Progressing. A failed reconcile (Synced=False) is Degraded.
-- Otherwise the Ready condition decides.

local function condition(conditions, type)
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local function health(status, message)
  return { status = status, message = message }
end

-- Ready=False reasons for a state that needs a person: the resource failed in
-- IVS, or the resource to adopt or mirror does not exist.
local degraded_reasons = {
  IvsFailed = true,
  AdoptionTargetNotFound = true,
  NotFound = true,
}

local status = obj.status
local conditions = nil
if status ~= nil then
  conditions = status.conditions
end
if conditions == nil or #conditions == 0 then
  return health("Progressing", "Waiting for the operator to report status")
end

local ready = condition(conditions, "Ready")
local synced = condition(conditions, "Synced")

-- An object being deleted is on its way out, whatever the last reconcile said; Argo CD treats
-- deleting objects the same way before it runs a health script.
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  return health("Progressing", "Deleting: " .. text(ready, "waiting for the operator to delete the IVS resource"))
end

-- A paused object keeps its old conditions and an old observedGeneration, so
-- this check comes before the generation check.
if synced ~= nil and synced.status == "False" and synced.reason == "ReconcilePaused" then
  return health("Suspended", text(synced, "Reconciliation is paused"))
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local observed = status.observedGeneration
if observed == nil and ready ~= nil then
  observed = ready.observedGeneration
end
if generation ~= nil and (observed == nil or observed < generation) then
  return health("Progressing", "Waiting for the operator to process generation " .. tostring(generation))
end

if synced ~= nil and synced.status == "False" then
  local reason = synced.reason or "Unknown"
  return health("Degraded", reason .. ": " .. text(synced, "the last reconcile failed"))
end

if ready == nil then
  return health("Progressing", "Waiting for the Ready condition")
end
if ready.status == "True" then
  return health("Healthy", text(ready, "Ready"))
end
if ready.status == "False" and degraded_reasons[ready.reason] then
  return health("Degraded", ready.reason .. ": " .. text(ready, "the resource is not usable"))
end

-- Creating, Updating, ReferenceNotReady, Deleting, a reason this script does
-- not know, or Ready=Unknown: the operator is still working on it.
local reason = ready.reason or "Unknown"
return health("Progressing", reason .. ": " .. text(ready, "not ready yet"))
