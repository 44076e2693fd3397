//! The CRDs checked in under `crds/` must be exactly what the Rust types generate.

#[test]
fn checked_in_crds_match_generated() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/ivschat.operators.dev.yaml"
    );
    let checked_in =
        std::fs::read_to_string(path).expect("crds/ivschat.operators.dev.yaml is readable");
    let generated = ivschat_operator::crd::definitions_yaml().expect("CRDs render as YAML");
    assert!(
        checked_in == generated,
        "crds/ivschat.operators.dev.yaml is stale; regenerate it with `make crds`"
    );
}
