//! Runtime settings that make the emulator behave like an eventually consistent service:
//! delays before a new room is visible and how long logging configurations stay in their
//! transitional states.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a logging configuration reads as CREATING, UPDATING or DELETING, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateHolds {
    /// Time in CREATING after CreateLoggingConfiguration.
    #[serde(rename = "CREATING")]
    pub creating: u64,
    /// Time in UPDATING after UpdateLoggingConfiguration.
    #[serde(rename = "UPDATING")]
    pub updating: u64,
    /// Time in DELETING after DeleteLoggingConfiguration, before the configuration disappears.
    #[serde(rename = "DELETING")]
    pub deleting: u64,
}

/// The current settings. All durations are 0 after start and after a reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Time after CreateRoom during which GetRoom, ListRooms, UpdateRoom and the tag
    /// operations do not see the new room, in milliseconds.
    pub room_visibility_delay_ms: u64,
    /// Transitional-state durations of logging configurations.
    pub logging_configuration_state_hold_ms: StateHolds,
}

impl Settings {
    /// Returns the room visibility delay.
    pub fn room_visibility_delay(&self) -> Duration {
        Duration::from_millis(self.room_visibility_delay_ms)
    }
}

/// A partial update of [`StateHolds`]: members left out keep their values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateHoldsPatch {
    #[serde(rename = "CREATING")]
    creating: Option<u64>,
    #[serde(rename = "UPDATING")]
    updating: Option<u64>,
    #[serde(rename = "DELETING")]
    deleting: Option<u64>,
}

/// A partial update of [`Settings`], the body of `PUT /settings`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    room_visibility_delay_ms: Option<u64>,
    logging_configuration_state_hold_ms: Option<StateHoldsPatch>,
}

/// The settings behind a lock.
#[derive(Debug, Default)]
pub struct SettingsCell {
    settings: Mutex<Settings>,
}

impl SettingsCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, Settings> {
        // Settings are plain values replaced in one assignment, so a poisoned lock still
        // contains a consistent value.
        self.settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Copies the current settings.
    pub fn get(&self) -> Settings {
        *self.lock()
    }

    /// Merges `patch` into the settings and returns the result.
    pub fn merge(&self, patch: SettingsPatch) -> Settings {
        let mut settings = self.lock();
        if let Some(delay) = patch.room_visibility_delay_ms {
            settings.room_visibility_delay_ms = delay;
        }
        if let Some(holds) = patch.logging_configuration_state_hold_ms {
            let current = &mut settings.logging_configuration_state_hold_ms;
            current.creating = holds.creating.unwrap_or(current.creating);
            current.updating = holds.updating.unwrap_or(current.updating);
            current.deleting = holds.deleting.unwrap_or(current.deleting);
        }
        *settings
    }

    /// Restores the defaults.
    pub fn reset(&self) {
        *self.lock() = Settings::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_merge_member_by_member() {
        let cell = SettingsCell::default();
        let patch: SettingsPatch = serde_json::from_str(
            r#"{"roomVisibilityDelayMs": 300, "loggingConfigurationStateHoldMs": {"CREATING": 5}}"#,
        )
        .expect("valid patch");
        cell.merge(patch);
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"loggingConfigurationStateHoldMs": {"DELETING": 7}}"#)
                .expect("valid patch");
        let merged = cell.merge(patch);
        assert_eq!(merged.room_visibility_delay_ms, 300);
        assert_eq!(merged.logging_configuration_state_hold_ms.creating, 5);
        assert_eq!(merged.logging_configuration_state_hold_ms.updating, 0);
        assert_eq!(merged.logging_configuration_state_hold_ms.deleting, 7);
        cell.reset();
        assert_eq!(cell.get(), Settings::default());
    }

    #[test]
    fn patch_rejects_unknown_members() {
        let parsed: Result<SettingsPatch, _> = serde_json::from_str(r#"{"roomDelayMs": 1}"#);
        assert!(parsed.is_err());
        let parsed: Result<SettingsPatch, _> =
            serde_json::from_str(r#"{"loggingConfigurationStateHoldMs": {"ACTIVE": 1}}"#);
        assert!(parsed.is_err());
    }
}
