#!/usr/bin/env bash
# The main job end to end, on a control plane started by tools/testenv/run.sh:
# start the local IVS Chat service, install the CRDs, run the operator, apply
# examples/, wait for Ready, show both sides, then stop everything it started.
#
# Usage: tools/testenv/run.sh tools/demo.sh [--keep]
#   --keep  leave the stack running until Ctrl-C, for exploring
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
operator="$repo/target/debug/ivschat-operator"
work=$(mktemp -d "${TMPDIR:-/tmp}/ivschat-demo.XXXXXX")
keep=${1:-}
pids=()

say() { printf '\n== %s\n' "$*"; }

stop_all() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # With --keep, Ctrl-C or SIGTERM is the normal way to stop.
  if [[ "$keep" == --keep ]] && ((status == 130 || status == 143)); then
    status=0
  fi
  if ((status != 0)); then
    echo "demo failed; logs follow" >&2
    tail -n 40 "$work"/*.log >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -x "$operator" ]] || { echo "missing $operator; run 'cargo build' first" >&2; exit 1; }
[[ -n "${KUBECONFIG:-}" ]] || { echo "KUBECONFIG is not set; run this through tools/testenv/run.sh" >&2; exit 1; }

# Demo credentials for the local service only; they never leave this machine.
export AWS_ACCESS_KEY_ID=AKIADEMODEMODEMO0000
export AWS_SECRET_ACCESS_KEY=demo-secret-key-for-the-local-ivs-chat-service
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

say "Starting the local IVS Chat service"
"$operator" emulator --listen 127.0.0.1:0 --region us-east-1 --account-id 123456789012 \
  --credentials "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  >"$work/emulator.out" 2>"$work/emulator.log" &
pids+=("$!")
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/emulator.out" 2>/dev/null && break
  sleep 0.1
done
endpoint=$(sed -n 's/^listening on //p' "$work/emulator.out")
[[ -n "$endpoint" ]] || { echo "the local IVS Chat service did not start" >&2; exit 1; }
echo "IVS Chat endpoint: $endpoint"

say "Installing the CRDs"
kubectl apply --server-side -f "$repo/crds/"
kubectl wait --for=condition=Established --timeout=60s \
  crd/chatrooms.ivschat.operators.dev crd/chatloggingconfigurations.ivschat.operators.dev

say "Starting the operator"
"$operator" controller --ivs-endpoint-url "$endpoint" >"$work/operator.log" 2>&1 &
pids+=("$!")

say "Applying examples/"
kubectl apply -f "$repo/examples/logging-configuration.yaml" -f "$repo/examples/chat-room.yaml"
kubectl wait --for=condition=Ready --timeout=120s \
  chatloggingconfiguration/test-logging-config chatroom/test-room-1

say "Kubernetes: kubectl get ivschat -o wide"
kubectl get ivschat -o wide

room_arn=$(kubectl get chatroom test-room-1 -o jsonpath='{.status.arn}')
config_arn=$(kubectl get chatloggingconfiguration test-logging-config -o jsonpath='{.status.arn}')

say "IVS: aws ivschat get-room"
aws ivschat get-room --endpoint-url "$endpoint" --identifier "$room_arn" --output json
say "IVS: aws ivschat get-logging-configuration"
aws ivschat get-logging-configuration --endpoint-url "$endpoint" --identifier "$config_arn" --output json

if [[ "$keep" == --keep ]]; then
  say "The stack is up. In another shell:"
  echo "  export KUBECONFIG=$KUBECONFIG"
  echo "  export PATH=$(dirname "$(command -v kubectl)"):\$PATH"
  echo "  export AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1"
  echo "  kubectl get ivschat -o wide"
  echo "  aws ivschat list-rooms --endpoint-url $endpoint"
  echo "Logs of the operator and the local IVS Chat service: $work"
  echo "Press Ctrl-C to stop."
  while true; do sleep 3600; done
fi

say "Done: both objects are Ready and IVS holds the same room and logging configuration"
