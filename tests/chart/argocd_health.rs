//! Runs the chart's Argo CD health check, `charts/ivschat-operator/argocd/health.lua`, on the
//! objects in `tests/chart/argocd-health.yaml`.
//!
//! The Lua 5.1 state is set up like Argo CD's. The object is the global `obj`, JSON null
//! becomes nil, and only the base, table, package and os libraries are loaded.

use mlua::serde::SerializeOptions;
use mlua::{Lua, LuaOptions, LuaSerdeExt, StdLib, Table};
use serde_json::Value;

use crate::tools::{chart_dir, documents, repo_path};

/// Expected health for each fixture object: name, status, and a part of the message.
const CASES: &[(&str, &str, &str)] = &[
    ("no-status", "Progressing", "Waiting for the operator"),
    (
        "empty-conditions",
        "Progressing",
        "Waiting for the operator",
    ),
    ("ready", "Healthy", "matches the spec"),
    ("observed", "Healthy", "Mirroring"),
    ("ready-without-message", "Healthy", "Ready"),
    ("creating", "Progressing", "Creating: Creating the IVS room"),
    ("updating", "Progressing", "Updating: Updating the IVS room"),
    ("referencenotready", "Progressing", "ReferenceNotReady: "),
    ("deleting", "Progressing", "Deleting: Waiting for rooms"),
    ("generation-behind", "Progressing", "generation 3"),
    ("condition-generation-behind", "Progressing", "generation 3"),
    (
        "condition-generation-current",
        "Healthy",
        "matches the spec",
    ),
    ("paused", "Suspended", "paused annotation"),
    (
        "access-denied",
        "Degraded",
        "AccessDenied: User is not authorized",
    ),
    (
        "adoption-target-not-found",
        "Degraded",
        "AdoptionTargetNotFound: ",
    ),
    (
        "ivs-failed",
        "Degraded",
        "IvsFailed: IVS reports CREATE_FAILED",
    ),
    ("not-found", "Degraded", "NotFound: "),
    (
        "synced-only",
        "Progressing",
        "Waiting for the Ready condition",
    ),
    ("ready-unknown", "Progressing", "Creating: Waiting for IVS"),
    ("null-fields", "Progressing", "Unknown: not ready yet"),
];

/// Health statuses that Argo CD accepts from a script. It reports any other value as Unknown.
const ARGO_STATUSES: &[&str] = &[
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
];

/// Returns the text of the chart's health check.
pub fn script() -> String {
    std::fs::read_to_string(chart_dir().join("argocd/health.lua"))
        .expect("charts/ivschat-operator/argocd/health.lua is readable")
}

/// Creates a Lua state with the libraries Argo CD loads for health scripts.
fn argo_lua() -> Lua {
    Lua::new_with(
        StdLib::TABLE | StdLib::PACKAGE | StdLib::OS,
        LuaOptions::default(),
    )
    .expect("a Lua state can be created")
}

/// Runs the health script on `object` and returns (status, message).
pub fn health(object: &Value) -> (String, String) {
    let lua = argo_lua();
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    let value = lua
        .to_value_with(object, options)
        .expect("the object converts to a Lua value");
    lua.globals()
        .set("obj", value)
        .expect("the global obj can be set");
    let result: Table = lua
        .load(script())
        .set_name("health.lua")
        .eval()
        .unwrap_or_else(|error| panic!("health.lua failed on {object}: {error}"));
    let status: String = result.get("status").expect("the result has a status");
    let message: String = result.get("message").expect("the result has a message");
    (status, message)
}

fn fixtures() -> Vec<Value> {
    let text = std::fs::read_to_string(repo_path("tests/chart/argocd-health.yaml"))
        .expect("tests/chart/argocd-health.yaml is readable");
    documents(&text)
}

#[test]
fn health_check_covers_every_fixture() {
    let fixtures = fixtures();
    let names: Vec<&str> = fixtures
        .iter()
        .map(|object| object["metadata"]["name"].as_str().expect("named fixture"))
        .collect();
    let cases: Vec<&str> = CASES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        names, cases,
        "every fixture needs exactly one expected result"
    );
}

#[test]
fn health_check_matches_expected_status() {
    for object in fixtures() {
        let name = object["metadata"]["name"].as_str().expect("named fixture");
        let (_, expected_status, expected_message) = CASES
            .iter()
            .find(|(case, _, _)| *case == name)
            .expect("every fixture has a case");
        let (status, message) = health(&object);
        assert_eq!(
            status, *expected_status,
            "status of fixture {name}: {message}"
        );
        assert!(
            message.contains(expected_message),
            "message of fixture {name} is {message:?}, expected it to contain {expected_message:?}"
        );
        assert!(ARGO_STATUSES.contains(&status.as_str()));
    }
}

/// Argo CD leaves the `string` library out, so a script that calls it fails there even when
/// it passes in a full Lua.
#[test]
fn health_check_state_has_no_string_library() {
    let lua = argo_lua();
    let string_library: mlua::Value = lua.globals().get("string").expect("globals can be read");
    assert!(string_library.is_nil());
    let method_call = lua.load(r#"return ("abc"):upper()"#).eval::<String>();
    assert!(
        method_call.is_err(),
        "string methods work without the library"
    );
}
