//! Whole-string matchers for the patterns of the IVS Chat API model, and ARN parsing.
//!
//! The model's patterns are not anchored, but the service matches them against the whole
//! value, so every pattern here is a whole-string match written out by hand.

/// The kind of resource an IVS Chat ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `room/<id>`
    Room,
    /// `logging-configuration/<id>`
    LoggingConfiguration,
}

/// The parts of an IVS Chat ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// Region, `[a-z0-9-]+`.
    pub region: String,
    /// Account id, `[0-9]+`.
    pub account: String,
    /// Resource kind.
    pub kind: ResourceKind,
    /// Resource id, `[a-zA-Z0-9-]+`.
    pub id: String,
}

/// Parses `arn:aws:ivschat:<region>:<account>:room/<id>` or
/// `arn:aws:ivschat:<region>:<account>:logging-configuration/<id>`, with the character
/// classes of the model's `RoomArn` and `LoggingConfigurationArn` patterns.
pub fn parse_arn(value: &str) -> Option<Arn> {
    let rest = value.strip_prefix("arn:aws:ivschat:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, resource) = rest.split_once(':')?;
    let (kind, id) = if let Some(id) = resource.strip_prefix("room/") {
        (ResourceKind::Room, id)
    } else if let Some(id) = resource.strip_prefix("logging-configuration/") {
        (ResourceKind::LoggingConfiguration, id)
    } else {
        return None;
    };
    let region_ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let account_ok = !account.is_empty() && account.chars().all(|c| c.is_ascii_digit());
    let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (region_ok && account_ok && id_ok).then(|| Arn {
        region: region.to_string(),
        account: account.to_string(),
        kind,
        id: id.to_string(),
    })
}

/// Matches `[a-zA-Z0-9-_]*`, the pattern of room and logging-configuration names.
pub fn is_resource_name(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Matches the model's `LambdaArn` pattern as a whole string: empty, or
/// `arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:` followed by at least one character other
/// than a line break.
pub fn is_lambda_arn_or_empty(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    let Some(rest) = value.strip_prefix("arn:aws:lambda:") else {
        return false;
    };
    let Some((region, rest)) = rest.split_once(':') else {
        return false;
    };
    let region_ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let Some((account, function)) = rest.split_once(':') else {
        return false;
    };
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    let Some(function) = function.strip_prefix("function:") else {
        return false;
    };
    region_ok && account_ok && !function.is_empty() && !function.contains(['\n', '\r'])
}

/// Matches the model's `RoomArn` and `RoomIdentifier` pattern.
pub fn is_room_arn(value: &str) -> bool {
    parse_arn(value).is_some_and(|arn| arn.kind == ResourceKind::Room)
}

/// Matches the model's `LoggingConfigurationArn` and `LoggingConfigurationIdentifier` pattern.
pub fn is_logging_configuration_arn(value: &str) -> bool {
    parse_arn(value).is_some_and(|arn| arn.kind == ResourceKind::LoggingConfiguration)
}

/// Matches an ARN of either resource kind, because the tag operations take both.
pub fn is_taggable_arn(value: &str) -> bool {
    parse_arn(value).is_some()
}

/// Matches `[a-z0-9-.]+`, the S3 bucket name pattern.
pub fn is_bucket_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// Matches `[.\-_/#A-Za-z0-9]+`, the CloudWatch Logs group name pattern.
pub fn is_log_group_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
}

/// Matches `[a-zA-Z0-9_.-]+`, the Firehose delivery stream name pattern.
pub fn is_delivery_stream_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Matches `[a-zA-Z0-9]+`, the pattern of generated ids.
pub fn is_id(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parser_accepts_both_resource_kinds() {
        let room = parse_arn("arn:aws:ivschat:us-east-1:123456789012:room/AbCdEf123456");
        assert_eq!(room.as_ref().map(|a| a.kind), Some(ResourceKind::Room));
        assert_eq!(room.map(|a| a.id), Some("AbCdEf123456".to_string()));
        let logging =
            parse_arn("arn:aws:ivschat:eu-west-1:1:logging-configuration/abc-def").map(|a| a.kind);
        assert_eq!(logging, Some(ResourceKind::LoggingConfiguration));
    }

    #[test]
    fn arn_parser_rejects_malformed_arns() {
        for bad in [
            "",
            "arn:aws:ivs:us-east-1:123456789012:room/abc",
            "arn:aws:ivschat:US-EAST-1:123456789012:room/abc",
            "arn:aws:ivschat:us-east-1:12345678901a:room/abc",
            "arn:aws:ivschat:us-east-1:123456789012:room/",
            "arn:aws:ivschat:us-east-1:123456789012:room/a_b",
            "arn:aws:ivschat:us-east-1:123456789012:channel/abc",
            "arn:aws:ivschat:us-east-1:123456789012:room/abc/def",
            "xarn:aws:ivschat:us-east-1:123456789012:room/abc",
        ] {
            assert!(parse_arn(bad).is_none(), "{bad} should be rejected");
        }
    }

    #[test]
    fn lambda_pattern_is_whole_string() {
        assert!(is_lambda_arn_or_empty(""));
        assert!(is_lambda_arn_or_empty(
            "arn:aws:lambda:us-west-2:123456789012:function:review"
        ));
        assert!(!is_lambda_arn_or_empty(
            "arn:aws:lambda:us-west-2:12345678901:function:review"
        ));
        assert!(!is_lambda_arn_or_empty(
            "arn:aws:lambda:us-west-2:123456789012:function:"
        ));
        assert!(!is_lambda_arn_or_empty(
            "x arn:aws:lambda:us-west-2:123456789012:function:review"
        ));
        assert!(!is_lambda_arn_or_empty("not-an-arn"));
    }

    #[test]
    fn destination_name_patterns() {
        assert!(is_bucket_name("my.bucket-1"));
        assert!(!is_bucket_name("My_Bucket"));
        assert!(is_log_group_name("/aws/chat#1"));
        assert!(!is_log_group_name("group name"));
        assert!(is_delivery_stream_name("stream_1.a-b"));
        assert!(!is_delivery_stream_name("stream/1"));
    }
}
