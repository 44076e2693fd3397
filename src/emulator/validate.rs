//! Input validation against the constraints of the IVS Chat API model.
//!
//! Requests arrive as untyped JSON, so every member is checked for its JSON type as well as
//! for the model's length, range, pattern and enum constraints. All violations of one
//! request are collected and returned together in the ValidationException's `fieldList`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{ApiError, FieldError};
use super::patterns::{
    is_lambda_arn_or_empty, is_logging_configuration_arn, is_resource_name, is_room_arn,
    is_taggable_arn,
};

/// A whole-string pattern match.
pub type Matcher = fn(&str) -> bool;

/// The constraints of one string shape.
#[derive(Clone, Copy)]
pub struct StringRule {
    /// Minimum length in Unicode code points.
    pub min: usize,
    /// Maximum length in Unicode code points.
    pub max: usize,
    /// The pattern as written in the model, for error messages, and its matcher.
    pub pattern: Option<(&'static str, Matcher)>,
    /// Allowed values, when the shape is an enum.
    pub allowed: Option<&'static [&'static str]>,
}

impl StringRule {
    /// Builds a rule with only length limits.
    pub const fn length(min: usize, max: usize) -> StringRule {
        StringRule {
            min,
            max,
            pattern: None,
            allowed: None,
        }
    }

    /// Builds a rule with length limits and a pattern.
    pub const fn pattern(
        min: usize,
        max: usize,
        text: &'static str,
        matcher: Matcher,
    ) -> StringRule {
        StringRule {
            min,
            max,
            pattern: Some((text, matcher)),
            allowed: None,
        }
    }

    /// Builds a rule for an enum shape.
    pub const fn one_of(allowed: &'static [&'static str]) -> StringRule {
        StringRule {
            min: 0,
            max: usize::MAX,
            pattern: None,
            allowed: Some(allowed),
        }
    }
}

/// Room and logging-configuration names.
pub const NAME: StringRule = StringRule::pattern(0, 128, "[a-zA-Z0-9-_]*", is_resource_name);
/// `messageReviewHandler.uri` and the ListRooms filter of the same shape.
pub const LAMBDA_ARN: StringRule = StringRule::pattern(
    0,
    170,
    "$|^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+.*",
    is_lambda_arn_or_empty,
);
/// Room identifiers.
pub const ROOM_ARN: StringRule = StringRule::pattern(
    1,
    128,
    "arn:aws:ivschat:[a-z0-9-]+:[0-9]+:room/[a-zA-Z0-9-]+",
    is_room_arn,
);
/// Logging-configuration identifiers.
pub const LOGGING_CONFIGURATION_ARN: StringRule = StringRule::pattern(
    1,
    128,
    "arn:aws:ivschat:[a-z0-9-]+:[0-9]+:logging-configuration/[a-zA-Z0-9-]+",
    is_logging_configuration_arn,
);
/// `resourceArn` of the tag operations. The model's own pattern admits only a one-character
/// resource type, which rejects every real ARN, so this rule accepts both real ARN forms.
pub const TAGGABLE_ARN: StringRule = StringRule::pattern(
    1,
    128,
    "arn:aws:ivschat:[a-z0-9-]+:[0-9]+:(room|logging-configuration)/[a-zA-Z0-9-]+",
    is_taggable_arn,
);
/// `nextToken`.
pub const PAGINATION_TOKEN: StringRule = StringRule::length(0, 1024);
/// Tag keys. The `aws:` prefix is checked separately.
pub const TAG_KEY: StringRule = StringRule::length(1, 128);
/// Tag values.
pub const TAG_VALUE: StringRule = StringRule::length(0, 256);
/// `fallbackResult`.
pub const FALLBACK_RESULT: StringRule = StringRule::one_of(&["ALLOW", "DENY"]);

/// The maximum number of tags on one resource.
pub const MAX_TAGS: usize = 50;

/// A collector of field errors for one request.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

/// Returns the member `key` of `object`, treating JSON `null` as absent.
pub fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// Joins a parent path and a member name.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Checker {
    /// Creates an empty collector.
    pub fn new() -> Checker {
        Checker::default()
    }

    /// Records a violation.
    pub fn fail(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            name: name.into(),
            message: message.into(),
        });
    }

    /// Returns the collected violations as a ValidationException, or `Ok` when there are none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::fields(self.errors))
        }
    }

    /// Records a violation when a required member is absent or null.
    pub fn require(&mut self, object: &Map<String, Value>, key: &str, path: &str) {
        if member(object, key).is_none() {
            self.fail(path, "Member must not be null");
        }
    }

    /// Checks a string value against `rule`.
    pub fn check_string(&mut self, value: &Value, path: &str, rule: &StringRule) -> Option<String> {
        let Some(text) = value.as_str() else {
            self.fail(path, "Member must be a string");
            return None;
        };
        let length = text.chars().count();
        let mut ok = true;
        if let Some(allowed) = rule.allowed
            && !allowed.contains(&text)
        {
            self.fail(
                path,
                format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
            ok = false;
        }
        if length < rule.min {
            self.fail(
                path,
                format!(
                    "Member must have length greater than or equal to {}",
                    rule.min
                ),
            );
            ok = false;
        }
        if length > rule.max {
            self.fail(
                path,
                format!("Member must have length less than or equal to {}", rule.max),
            );
            ok = false;
        }
        if let Some((pattern, matcher)) = rule.pattern
            && !matcher(text)
        {
            self.fail(
                path,
                format!("Member must satisfy regular expression pattern: {pattern}"),
            );
            ok = false;
        }
        ok.then(|| text.to_string())
    }

    /// Reads an optional string member.
    pub fn string(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        rule: &StringRule,
    ) -> Option<String> {
        let value = member(object, key)?;
        self.check_string(value, &join(path, key), rule)
    }

    /// Reads an optional integer member within `min..=max`.
    pub fn integer(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let value = member(object, key)?;
        let path = join(path, key);
        let Some(number) = value.as_i64() else {
            self.fail(path, "Member must be an integer");
            return None;
        };
        if number < min {
            self.fail(
                path,
                format!("Member must have value greater than or equal to {min}"),
            );
            return None;
        }
        if number > max {
            self.fail(
                path,
                format!("Member must have value less than or equal to {max}"),
            );
            return None;
        }
        Some(number)
    }

    /// Reads an optional structure member.
    pub fn object<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        let value = member(object, key)?;
        let found = value.as_object();
        if found.is_none() {
            self.fail(join(path, key), "Member must be a structure");
        }
        found
    }

    /// Reads an optional list of strings with `min..=max` entries, each checked against `rule`.
    /// Returns `None` when the list or any entry is invalid.
    pub fn string_list(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        (min, max): (usize, usize),
        rule: &StringRule,
    ) -> Option<Vec<String>> {
        let value = member(object, key)?;
        let path = join(path, key);
        let Some(items) = value.as_array() else {
            self.fail(path, "Member must be a list");
            return None;
        };
        let before = self.errors.len();
        if items.len() < min {
            self.fail(
                &path,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if items.len() > max {
            self.fail(
                &path,
                format!("Member must have length less than or equal to {max}"),
            );
        }
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}.{}", index + 1);
            if item.is_null() {
                self.fail(item_path, "Member must not be null");
            } else if let Some(text) = self.check_string(item, &item_path, rule) {
                out.push(text);
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    /// Reads an optional map of strings to strings with at most `max_entries` entries.
    pub fn string_map(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        max_entries: usize,
        (key_rule, value_rule): (&StringRule, &StringRule),
    ) -> Option<BTreeMap<String, String>> {
        let value = member(object, key)?;
        let path = join(path, key);
        let Some(entries) = value.as_object() else {
            self.fail(path, "Member must be a map");
            return None;
        };
        let before = self.errors.len();
        if entries.len() > max_entries {
            self.fail(
                &path,
                format!("Member must have length less than or equal to {max_entries}"),
            );
        }
        let mut out = BTreeMap::new();
        for (entry_key, entry_value) in entries {
            let key_path = format!("{path}.{entry_key}");
            let checked_key =
                self.check_string(&Value::String(entry_key.clone()), &key_path, key_rule);
            let checked_value = if entry_value.is_null() {
                self.fail(&key_path, "Member must not be null");
                None
            } else {
                self.check_string(entry_value, &key_path, value_rule)
            };
            if let (Some(k), Some(v)) = (checked_key, checked_value) {
                out.insert(k, v);
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    /// Reads an optional `tags` map: at most 50 entries, keys 1-128 code points without the
    /// reserved `aws:` prefix, values 0-256 code points.
    pub fn tags(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<BTreeMap<String, String>> {
        let tags = self.string_map(object, key, path, MAX_TAGS, (&TAG_KEY, &TAG_VALUE))?;
        let before = self.errors.len();
        for tag_key in tags.keys() {
            self.check_tag_key_prefix(tag_key, &format!("{}.{tag_key}", join(path, key)));
        }
        (self.errors.len() == before).then_some(tags)
    }

    /// Records a violation when a tag key uses the `aws:` prefix, which AWS reserves.
    // NOTE: whether IVS Chat rejects `aws:` keys is not documented. Rejecting them is the
    // stricter choice.
    pub fn check_tag_key_prefix(&mut self, tag_key: &str, path: &str) {
        if tag_key.to_ascii_lowercase().starts_with("aws:") {
            self.fail(
                path,
                "Tag keys must not start with the reserved prefix 'aws:'",
            );
        }
    }
}

/// Parses a request body into a JSON object. An empty body counts as `{}`.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::other("The request body must be a JSON object")),
        Err(error) => Err(ApiError::other(format!(
            "The request body is not valid JSON: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn string_rule_reports_length_and_pattern() {
        let mut checker = Checker::new();
        let long = "a".repeat(129);
        let request = object(json!({ "name": long, "other": "bad name!" }));
        assert_eq!(checker.string(&request, "name", "", &NAME), None);
        assert_eq!(checker.string(&request, "other", "", &NAME), None);
        let Err(ApiError::Validation { fields, .. }) = checker.finish() else {
            panic!("expected a validation error");
        };
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].name, "name");
        assert!(fields[0].message.contains("less than or equal to 128"));
        assert_eq!(fields[1].name, "other");
        assert!(fields[1].message.contains("pattern"));
    }

    #[test]
    fn string_length_counts_code_points() {
        let mut checker = Checker::new();
        let value = Value::String("é".repeat(128));
        assert!(checker.check_string(&value, "name", &TAG_KEY).is_some());
        assert!(checker.finish().is_ok());
    }

    #[test]
    fn integer_rule_rejects_bad_values() {
        let mut checker = Checker::new();
        let request = object(json!({ "a": 501, "b": 0, "c": "5", "d": 2.5, "e": 7 }));
        assert_eq!(checker.integer(&request, "a", "", 1, 500), None);
        assert_eq!(checker.integer(&request, "b", "", 1, 500), None);
        assert_eq!(checker.integer(&request, "c", "", 1, 500), None);
        assert_eq!(checker.integer(&request, "d", "", 1, 500), None);
        assert_eq!(checker.integer(&request, "e", "", 1, 500), Some(7));
        let Err(ApiError::Validation { fields, .. }) = checker.finish() else {
            panic!("expected a validation error");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn list_rule_checks_size_and_entries() {
        let mut checker = Checker::new();
        let request = object(json!({ "ids": ["a", "b", "c", "d"], "bad": ["x", 3] }));
        let rule = StringRule::length(1, 1);
        assert_eq!(
            checker.string_list(&request, "ids", "", (0, 3), &rule),
            None
        );
        assert_eq!(
            checker.string_list(&request, "bad", "", (0, 3), &rule),
            None
        );
        let Err(ApiError::Validation { fields, .. }) = checker.finish() else {
            panic!("expected a validation error");
        };
        assert_eq!(fields[0].name, "ids");
        assert_eq!(fields[1].name, "bad.2");
    }

    #[test]
    fn tags_reject_reserved_prefix_and_too_many_entries() {
        let mut checker = Checker::new();
        let request = object(json!({ "tags": { "aws:owner": "x", "ok": "y" } }));
        assert_eq!(checker.tags(&request, "tags", ""), None);
        assert!(checker.finish().is_err());

        let many: Map<String, Value> = (0..51)
            .map(|i| (format!("k{i}"), Value::String(String::new())))
            .collect();
        let mut checker = Checker::new();
        let request = object(json!({ "tags": many }));
        assert_eq!(checker.tags(&request, "tags", ""), None);
        assert!(checker.finish().is_err());
    }

    #[test]
    fn body_parser_handles_empty_and_malformed_input() {
        assert_eq!(parse_body(b"").ok(), Some(Map::new()));
        assert!(parse_body(b"{").is_err());
        assert!(parse_body(b"[1]").is_err());
        assert!(parse_body(br#"{"a":1}"#).is_ok());
    }
}
