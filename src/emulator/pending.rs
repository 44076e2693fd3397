//! Changes that clients see only after a delay, as on an eventually consistent service: rooms
//! hidden for a while after CreateRoom, and logging configurations that read as CREATING,
//! UPDATING or DELETING before they settle.
//!
//! The delays come from the admin settings. This timing lives in memory only, so after a
//! restart every resource reads as settled.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::model::LoggingConfiguration;

/// The state a logging configuration settles in.
pub const ACTIVE: &str = "ACTIVE";
/// The state of a configuration right after CreateLoggingConfiguration.
pub const CREATING: &str = "CREATING";
/// The state of a configuration right after UpdateLoggingConfiguration.
pub const UPDATING: &str = "UPDATING";
/// The state of a configuration right after DeleteLoggingConfiguration.
pub const DELETING: &str = "DELETING";

/// Unsettled changes, each with the instant it settles.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    /// Rooms by id that stay invisible until the instant.
    hidden_rooms: HashMap<String, Instant>,
    /// Logging configurations by id in a transitional state until the instant.
    logging_states: HashMap<String, (&'static str, Instant)>,
    /// Deleted logging configurations by id that read as DELETING until the instant.
    deleting: BTreeMap<String, (LoggingConfiguration, Instant)>,
}

impl Pending {
    /// Hides room `id` for `delay` from now. A zero delay does nothing.
    pub fn hide_room(&mut self, id: &str, delay: Duration) {
        if !delay.is_zero() {
            self.hidden_rooms
                .insert(id.to_string(), Instant::now() + delay);
        }
    }

    /// Returns whether room `id` is still hidden at `now`.
    pub fn is_room_hidden(&self, id: &str, now: Instant) -> bool {
        self.hidden_rooms.get(id).is_some_and(|until| now < *until)
    }

    /// Puts logging configuration `id` in `state` for `hold` from now. A zero hold settles it
    /// at once.
    pub fn hold_logging_state(&mut self, id: &str, state: &'static str, hold: Duration) {
        if hold.is_zero() {
            self.logging_states.remove(id);
        } else {
            self.logging_states
                .insert(id.to_string(), (state, Instant::now() + hold));
        }
    }

    /// Returns the state that logging configuration `id` reads as at `now`.
    pub fn logging_state(&self, id: &str, now: Instant) -> &'static str {
        match self.logging_states.get(id) {
            Some((state, until)) if now < *until => state,
            _ => ACTIVE,
        }
    }

    /// Keeps a deleted logging configuration visible as DELETING for `hold` from now. A zero
    /// hold makes it disappear at once.
    pub fn hold_deleted(&mut self, configuration: LoggingConfiguration, hold: Duration) {
        self.logging_states.remove(&configuration.id);
        if !hold.is_zero() {
            self.deleting.insert(
                configuration.id.clone(),
                (configuration, Instant::now() + hold),
            );
        }
    }

    /// Returns the deleted logging configuration `id` if it still reads as DELETING at `now`.
    pub fn deleted(&self, id: &str, now: Instant) -> Option<&LoggingConfiguration> {
        match self.deleting.get(id) {
            Some((configuration, until)) if now < *until => Some(configuration),
            _ => None,
        }
    }

    /// Returns every deleted logging configuration that still reads as DELETING at `now`.
    pub fn all_deleted(&self, now: Instant) -> impl Iterator<Item = &LoggingConfiguration> {
        self.deleting
            .values()
            .filter(move |(_, until)| now < *until)
            .map(|(configuration, _)| configuration)
    }

    /// Drops every entry that has settled by `now`.
    pub fn prune(&mut self, now: Instant) {
        self.hidden_rooms.retain(|_, until| now < *until);
        self.logging_states.retain(|_, (_, until)| now < *until);
        self.deleting.retain(|_, (_, until)| now < *until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_room_appears_after_delay() {
        let mut pending = Pending::default();
        pending.hide_room("a", Duration::from_secs(60));
        pending.hide_room("b", Duration::ZERO);
        let now = Instant::now();
        assert!(pending.is_room_hidden("a", now));
        assert!(!pending.is_room_hidden("b", now));
        assert!(!pending.is_room_hidden("a", now + Duration::from_secs(61)));
        pending.prune(now + Duration::from_secs(61));
        assert!(pending.hidden_rooms.is_empty());
    }

    #[test]
    fn logging_state_settles_to_active() {
        let mut pending = Pending::default();
        pending.hold_logging_state("c", CREATING, Duration::from_secs(60));
        let now = Instant::now();
        assert_eq!(pending.logging_state("c", now), CREATING);
        assert_eq!(
            pending.logging_state("c", now + Duration::from_secs(61)),
            ACTIVE
        );
        pending.hold_logging_state("c", UPDATING, Duration::ZERO);
        assert_eq!(pending.logging_state("c", now), ACTIVE);
    }
}
