//! Resource state, its durable storage, lookups by ARN and list paging.
//!
//! Every mutation runs on a copy of the state. With a state file, the copy is written to a
//! temporary file, flushed with fsync and renamed over the state file before it replaces the
//! in-memory state. So a response is sent only after its change is on disk, and a failed
//! write leaves both the file and the memory unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::error::{ApiError, LOGGING_CONFIGURATION, ROOM};
use super::model::{LoggingConfiguration, Room};
use super::patterns::{ResourceKind, parse_arn};
use super::pending::Pending;

/// Version of the state file format.
const STATE_FORMAT_VERSION: u32 = 1;

/// All resources of one account and region.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// File format version.
    pub version: u32,
    /// Region in every ARN.
    pub region: String,
    /// Account id in every ARN.
    pub account_id: String,
    /// Rooms by id.
    pub rooms: BTreeMap<String, Room>,
    /// Logging configurations by id.
    pub logging_configurations: BTreeMap<String, LoggingConfiguration>,
    /// The last sequence number handed out by [`State::next_sequence`].
    pub last_sequence: u64,
    /// Changes that are not visible yet, kept in memory only.
    #[serde(skip)]
    pub pending: Pending,
}

impl State {
    /// Creates an empty state.
    pub fn new(region: &str, account_id: &str) -> State {
        State {
            version: STATE_FORMAT_VERSION,
            region: region.to_string(),
            account_id: account_id.to_string(),
            rooms: BTreeMap::new(),
            logging_configurations: BTreeMap::new(),
            last_sequence: 0,
            pending: Pending::default(),
        }
    }

    /// Returns a new, store-wide unique sequence number.
    pub fn next_sequence(&mut self) -> u64 {
        self.last_sequence += 1;
        self.last_sequence
    }

    /// Returns a random 12-character `[a-zA-Z0-9]` id not used by any resource.
    pub fn new_id(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        loop {
            let id: String = (0..12)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            if !self.rooms.contains_key(&id) && !self.logging_configurations.contains_key(&id) {
                return id;
            }
        }
    }

    /// Builds the ARN of a resource in this account and region.
    pub fn arn(&self, kind: ResourceKind, id: &str) -> String {
        let resource = match kind {
            ResourceKind::Room => "room",
            ResourceKind::LoggingConfiguration => "logging-configuration",
        };
        format!(
            "arn:aws:ivschat:{}:{}:{resource}/{id}",
            self.region, self.account_id
        )
    }

    /// Returns the id of the resource `arn` names, if the ARN is of `kind`, belongs to this
    /// account and region, and the resource exists. Otherwise returns ResourceNotFoundException.
    pub fn resolve(&self, arn: &str, kind: ResourceKind) -> Result<String, ApiError> {
        let resource_type = match kind {
            ResourceKind::Room => ROOM,
            ResourceKind::LoggingConfiguration => LOGGING_CONFIGURATION,
        };
        let parsed = parse_arn(arn).filter(|parsed| parsed.kind == kind);
        let Some(parsed) = parsed else {
            return Err(ApiError::not_found(resource_type, "", arn));
        };
        let exists = match kind {
            ResourceKind::Room => self.rooms.contains_key(&parsed.id),
            ResourceKind::LoggingConfiguration => {
                self.logging_configurations.contains_key(&parsed.id)
            }
        };
        if parsed.region != self.region || parsed.account != self.account_id || !exists {
            return Err(ApiError::not_found(resource_type, &parsed.id, arn));
        }
        Ok(parsed.id)
    }

    /// Like [`State::resolve`], but also returns ResourceNotFoundException for a room that is
    /// still hidden after its creation.
    pub fn resolve_visible(&self, arn: &str, kind: ResourceKind) -> Result<String, ApiError> {
        let id = self.resolve(arn, kind)?;
        if kind == ResourceKind::Room && self.pending.is_room_hidden(&id, Instant::now()) {
            return Err(ApiError::not_found(ROOM, &id, arn));
        }
        Ok(id)
    }
}

/// The state behind a lock, with its optional state file.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    file: Option<PathBuf>,
}

impl Store {
    /// Opens the store: loads `file` when it exists, or starts empty. Fails when the file
    /// cannot be read, is not a state file, or was written for another region or account.
    pub async fn open(
        file: Option<PathBuf>,
        region: &str,
        account_id: &str,
    ) -> anyhow::Result<Store> {
        let state = match &file {
            Some(path) if tokio::fs::try_exists(path).await.unwrap_or(false) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .with_context(|| format!("failed to read state file {}", path.display()))?;
                let state: State = serde_json::from_slice(&bytes)
                    .with_context(|| format!("state file {} is not valid", path.display()))?;
                anyhow::ensure!(
                    state.version == STATE_FORMAT_VERSION,
                    "state file {} has format version {}, expected {STATE_FORMAT_VERSION}",
                    path.display(),
                    state.version
                );
                anyhow::ensure!(
                    state.region == region && state.account_id == account_id,
                    "state file {} holds resources of region {} and account {}, not of region \
                     {region} and account {account_id}; pass the matching --region and \
                     --account-id or use another state file",
                    path.display(),
                    state.region,
                    state.account_id
                );
                state
            }
            _ => State::new(region, account_id),
        };
        Ok(Store {
            state: Mutex::new(state),
            file,
        })
    }

    /// Runs a read-only function on the state.
    pub async fn read<T>(
        &self,
        read: impl FnOnce(&State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let state = self.state.lock().await;
        read(&state)
    }

    /// Runs `change` on a copy of the state, persists the copy when a state file is set, and
    /// then makes it the current state. Nothing changes when `change` or the write fails.
    pub async fn mutate<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.state.lock().await;
        let mut draft = state.clone();
        draft.pending.prune(Instant::now());
        let output = change(&mut draft)?;
        if let Some(path) = &self.file {
            let bytes = serde_json::to_vec_pretty(&draft)
                .map_err(|error| ApiError::Internal(format!("failed to encode state: {error}")))?;
            let path = path.clone();
            let written =
                tokio::task::spawn_blocking(move || write_atomically(&path, &bytes)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(error = %format!("{error:#}"), "failed to write state file");
                    return Err(ApiError::Internal(
                        "failed to persist the change".to_string(),
                    ));
                }
                Err(error) => {
                    tracing::error!(%error, "state file writer task failed");
                    return Err(ApiError::Internal(
                        "failed to persist the change".to_string(),
                    ));
                }
            }
        }
        *state = draft;
        Ok(output)
    }

    /// Removes every resource and every pending change, persisting the empty state.
    pub async fn clear(&self) -> Result<(), ApiError> {
        self.mutate(|state| {
            *state = State::new(&state.region, &state.account_id);
            Ok(())
        })
        .await
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory: write, fsync,
/// rename, then fsync the directory so the rename itself survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;

    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("state file path {} has no file name", path.display()))?;
    let mut temporary_name = file_name.to_os_string();
    temporary_name.push(".tmp");
    let temporary = directory.join(temporary_name);

    let mut file = std::fs::File::create(&temporary)
        .with_context(|| format!("failed to create {}", temporary.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    file.sync_all()
        .with_context(|| format!("failed to fsync {}", temporary.display()))?;
    drop(file);
    std::fs::rename(&temporary, path).with_context(|| {
        format!(
            "failed to rename {} to {}",
            temporary.display(),
            path.display()
        )
    })?;
    let directory_handle = std::fs::File::open(&directory)
        .with_context(|| format!("failed to open directory {}", directory.display()))?;
    directory_handle
        .sync_all()
        .with_context(|| format!("failed to fsync directory {}", directory.display()))?;
    Ok(())
}

/// A position in a list sorted by newest `updateTime` first, ties broken by the larger
/// sequence number first. A page token names the last item of the previous page, so it stays
/// valid when items are created, updated or deleted between pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    /// `updateTime` in microseconds since the Unix epoch.
    pub micros: i64,
    /// `update_sequence`.
    pub sequence: u64,
}

impl SortKey {
    /// Builds the sort key of an item.
    pub fn of(update_time: &DateTime<Utc>, sequence: u64) -> SortKey {
        SortKey {
            micros: update_time.timestamp_micros(),
            sequence,
        }
    }
}

/// Encodes a page token for the list `kind` (for example `rooms`) as hex, so it is opaque.
pub fn encode_token(kind: &str, after: SortKey) -> String {
    hex::encode(format!("v1:{kind}:{}:{}", after.micros, after.sequence))
}

/// Decodes a page token made by [`encode_token`] for the same list kind.
pub fn decode_token(kind: &str, token: &str) -> Result<SortKey, ApiError> {
    let invalid = || ApiError::field("nextToken", "The pagination token is invalid or expired");
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    let (Some("v1"), Some(token_kind), Some(micros), Some(sequence), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    if token_kind != kind {
        return Err(invalid());
    }
    Ok(SortKey {
        micros: micros.parse().map_err(|_| invalid())?,
        sequence: sequence.parse().map_err(|_| invalid())?,
    })
}

/// Sorts `items` newest first, skips those at or before `after`, and cuts a page of
/// `max_results`. Returns the page and the token for the next page, if more items follow.
pub fn paginate<T>(
    mut items: Vec<(SortKey, T)>,
    kind: &str,
    after: Option<SortKey>,
    max_results: usize,
) -> (Vec<T>, Option<String>) {
    items.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    let mut remaining = items
        .into_iter()
        .filter(|(key, _)| after.is_none_or(|after| *key < after))
        .peekable();
    let mut page = Vec::new();
    let mut last = None;
    while page.len() < max_results {
        let Some((key, item)) = remaining.next() else {
            break;
        };
        last = Some(key);
        page.push(item);
    }
    let token = match (remaining.peek(), last) {
        (Some(_), Some(last)) => Some(encode_token(kind, last)),
        _ => None,
    };
    (page, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(micros: i64, sequence: u64) -> SortKey {
        SortKey { micros, sequence }
    }

    #[test]
    fn token_round_trips_and_rejects_other_lists() {
        let token = encode_token("rooms", key(5, 9));
        assert_eq!(decode_token("rooms", &token).ok(), Some(key(5, 9)));
        assert!(decode_token("loggingConfigurations", &token).is_err());
        assert!(decode_token("rooms", "zz").is_err());
        assert!(decode_token("rooms", &hex::encode("v1:rooms:x:1")).is_err());
    }

    #[test]
    fn paging_is_newest_first_and_survives_deletes() {
        let items: Vec<(SortKey, u64)> = (1..=5).map(|i| (key(100, i), i)).collect();
        let (page, token) = paginate(items.clone(), "rooms", None, 2);
        assert_eq!(page, [5, 4]);
        let after = token.as_deref().map(|t| decode_token("rooms", t));
        let Some(Ok(after)) = after else {
            panic!("expected a token");
        };
        // Item 3, the next one, disappears between pages.
        let fewer: Vec<(SortKey, u64)> = items.into_iter().filter(|(_, i)| *i != 3).collect();
        let (page, token) = paginate(fewer, "rooms", Some(after), 2);
        assert_eq!(page, [2, 1]);
        assert_eq!(token, None);
    }

    #[test]
    fn state_file_write_replaces_content() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("state.json");
        write_atomically(&path, b"one").expect("first write");
        write_atomically(&path, b"two").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read back"), b"two");
        assert!(!directory.path().join("state.json.tmp").exists());
    }
}
