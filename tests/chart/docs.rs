//! Checks that the chart README, `docs/argocd.md` and `docs/iam-policy.json` agree with the
//! chart and with the operator.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::argocd_health::script;
use crate::tools::{chart_dir, documents, repo_path};

/// The IVS Chat actions the operator calls, and so the only ones the IAM policy may allow.
const OPERATOR_ACTIONS: [&str; 12] = [
    "ivschat:CreateRoom",
    "ivschat:GetRoom",
    "ivschat:UpdateRoom",
    "ivschat:DeleteRoom",
    "ivschat:ListRooms",
    "ivschat:CreateLoggingConfiguration",
    "ivschat:GetLoggingConfiguration",
    "ivschat:UpdateLoggingConfiguration",
    "ivschat:DeleteLoggingConfiguration",
    "ivschat:ListLoggingConfigurations",
    "ivschat:TagResource",
    "ivschat:UntagResource",
];

/// Tag that scopes the policy to one cluster's resources.
const CLUSTER_TAG: &str = "ivschat.operators.dev/cluster";

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative))
        .unwrap_or_else(|error| panic!("{relative} is unreadable: {error}"))
}

/// Returns the `yaml` fenced code blocks of a Markdown text.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_start() == "```yaml" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn argocd_snippets_carry_the_health_check() {
    let script = script();
    for document in ["docs/argocd.md", "charts/ivschat-operator/README.md"] {
        let config_maps: Vec<Value> = yaml_blocks(&read(document))
            .iter()
            .flat_map(|block| documents(block))
            .filter(|object| object["metadata"]["name"] == "argocd-cm")
            .collect();
        assert_eq!(
            config_maps.len(),
            1,
            "{document} needs one argocd-cm snippet"
        );
        for kind in ["ChatRoom", "ChatLoggingConfiguration"] {
            let key = format!("resource.customizations.health.ivschat.operators.dev_{kind}");
            assert_eq!(
                config_maps[0]["data"][&key].as_str(),
                Some(script.as_str()),
                "{document}: {key} differs from charts/ivschat-operator/argocd/health.lua"
            );
        }
    }
}

/// Returns the dotted path of every key in values.yaml and whether a `# --` comment
/// documents it. Keys inside a documented value (such as `resources.requests`) are left out.
fn values_keys() -> Vec<(String, bool)> {
    let text =
        std::fs::read_to_string(chart_dir().join("values.yaml")).expect("values.yaml is readable");
    let mut keys = Vec::new();
    let mut path: Vec<(usize, String, bool)> = Vec::new();
    let mut in_doc_comment = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("# --") {
            in_doc_comment = true;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() || trimmed.starts_with('-') {
            continue;
        }
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        path.retain(|(parent_indent, _, _)| *parent_indent < indent);
        let inside_documented = path.iter().any(|(_, _, documented)| *documented);
        let documented = std::mem::take(&mut in_doc_comment);
        path.push((indent, key.to_owned(), documented));
        let is_leaf_or_documented = documented || !trimmed.trim_end().ends_with(':');
        if !inside_documented && is_leaf_or_documented {
            let dotted: Vec<&str> = path.iter().map(|(_, name, _)| name.as_str()).collect();
            keys.push((dotted.join("."), documented));
        }
    }
    keys
}

#[test]
fn every_value_is_documented() {
    let keys = values_keys();
    assert!(
        keys.len() > 40,
        "values.yaml parsed into too few keys: {keys:?}"
    );
    let readme = read("charts/ivschat-operator/README.md");
    for (key, documented) in &keys {
        assert!(documented, "values.yaml: {key} has no `# --` comment");
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "the chart README's values table lacks {key}"
        );
    }
}

#[test]
fn iam_policy_allows_only_operator_actions() {
    let policy: Value =
        serde_json::from_str(&read("docs/iam-policy.json")).expect("the policy is valid JSON");
    let statements = policy["Statement"].as_array().expect("a Statement list");
    let mut allowed = BTreeSet::new();
    for statement in statements {
        if statement["Effect"] != "Allow" {
            continue;
        }
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(action) => vec![action.as_str()],
            Value::Array(actions) => actions.iter().filter_map(Value::as_str).collect(),
            other => panic!("unexpected Action {other}"),
        };
        let is_list = actions
            .iter()
            .all(|action| action.starts_with("ivschat:List"));
        let condition = statement["Condition"].to_string();
        assert!(
            is_list || condition.contains(CLUSTER_TAG),
            "statement {} allows {actions:?} without the {CLUSTER_TAG} tag condition",
            statement["Sid"]
        );
        assert_ne!(statement["Resource"], "*", "Allow statements name ARNs");
        allowed.extend(actions);
    }
    assert_eq!(allowed, BTreeSet::from(OPERATOR_ACTIONS));
}
