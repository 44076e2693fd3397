//! Schema pieces shared by both kinds: tags and CEL rules.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Maximum number of tags IVS accepts on one resource.
pub const IVS_MAX_TAGS: usize = 50;

/// Number of tags the operator adds to every resource it creates, to find it again.
pub const OWNER_TAGS: usize = 4;

/// Maximum number of tags a spec may hold, leaving room for the operator's own.
pub const MAX_TAGS: usize = IVS_MAX_TAGS - OWNER_TAGS;

/// Schema of a `tags` map: at most 46 entries (IVS allows 50 and the operator uses 4), keys
/// of 1 to 128 characters outside the reserved `aws:` and `ivschat.operators.dev/` prefixes, values of at
/// most 256 characters.
pub fn tags(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": MAX_TAGS,
        "additionalProperties": { "type": "string", "maxLength": 256 },
        "x-kubernetes-validations": [
            {
                "rule": "self.all(k, size(k) >= 1 && size(k) <= 128)",
                "message": "tag keys must be 1 to 128 characters long"
            },
            {
                "rule": "self.all(k, !k.lowerAscii().startsWith('aws:'))",
                "message": "tag keys starting with 'aws:' (in any case) are reserved for AWS"
            },
            {
                "rule": "self.all(k, !k.startsWith('ivschat.operators.dev/'))",
                "message": "tag keys starting with 'ivschat.operators.dev/' are reserved for the operator"
            }
        ]
    })
}
