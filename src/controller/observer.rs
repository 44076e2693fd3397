//! Bulk observation of rooms with ListRooms.
//!
//! Reading each room with GetRoom costs one call per room per resync, and IVS allows five a
//! second, so a few thousand rooms cannot be kept under watch that way. ListRooms returns 50
//! summaries a call, newest update first, with every field but the two message limits. The
//! observer reads one page per poll interval (more at the head after a burst of writes),
//! taking turns between two cursors:
//!
//! - the head of the list, where any room updated since the last look appears first. While a
//!   whole page is newer than the previous look, the head read goes on to the next page at
//!   once (up to ten pages), so a burst of writes does not delay the next look at the first
//!   page;
//! - a sweep through every page, which finds rooms that are gone and tag changes (tagging
//!   does not move a room's update time).
//!
//! The observer only decides when a room needs a full read. For every managed room it keeps
//! what the operator last saw: the update time and a fingerprint of the summary fields. A
//! summary that differs, or a room missing from a complete sweep, marks the room stale and
//! triggers its reconcile, which then reads the room with GetRoom. While a room is not stale,
//! its reconcile trusts status and calls nothing.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;

use crate::crd::ChatRoom;
use crate::ivs::{Handler, IvsClient, IvsError, IvsErrorKind, Room, RoomSummary};

/// Maximum number of pages one head read takes. Between two head reads at the default 5-second interval,
/// the quotas let at most 100 rooms move (CreateRoom and UpdateRoom at 5 a second each), and
/// ten pages cover that up to a 25-second interval. A larger burst is left to the sweep.
const HEAD_PAGES: usize = 10;

/// Observer's record of a room, for a reconcile deciding whether to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The observer watches the room and has seen no change since the operator last saw it,
    /// which had this update time and fingerprint.
    Unchanged {
        update_time: Option<String>,
        fingerprint: u64,
    },
    /// The room changed or went missing; read it.
    Stale,
    /// The observer works but does not track this room yet.
    Untracked,
    /// The observer cannot vouch for anything: its recent ListRooms calls failed.
    Blind,
}

/// Reads rooms in bulk and triggers the reconcile of rooms that changed.
pub struct RoomObserver {
    ivs: IvsClient,
    interval: Duration,
    state: Mutex<State>,
    triggers: Mutex<Vec<Trigger>>,
}

struct Trigger {
    /// Namespace the receiving controller watches; `None` for all.
    namespace: Option<String>,
    sender: mpsc::UnboundedSender<ObjectRef<ChatRoom>>,
}

struct State {
    rooms: HashMap<String, Entry>,
    /// Number of the sweep in progress, from 1.
    sweep: u64,
    /// Whether the sweep in progress has read its first page.
    sweep_begun: bool,
    sweep_token: Option<String>,
    /// Newest update time seen at the head.
    head_newest: Option<Timestamp>,
    /// Value of `head_newest` when the head read in progress began. The head read goes on to
    /// the next page while a whole page is newer than this.
    head_floor: Option<Timestamp>,
    /// Last successful ListRooms, or the observer's start.
    last_success: Instant,
    /// Count of stale marks so far, to order a mark against a reconcile in progress.
    marks: u64,
}

struct Entry {
    object: ObjectRef<ChatRoom>,
    update_time: Option<String>,
    fingerprint: u64,
    /// Last sweep during which a summary of the room was read, or the operator read it.
    seen_in: u64,
    /// Sweep during which tracking began; a sweep that began earlier does not judge it.
    tracked_in: u64,
    stale: bool,
    /// Value of `State::marks` when the room was marked stale.
    stale_mark: u64,
}

/// Cause of a reconcile the observer requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Changed,
    Missing,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Changed => "changed",
            Reason::Missing => "missing",
        }
    }
}

impl RoomObserver {
    /// Creates an observer reading `ivs` once per `interval`.
    pub fn new(ivs: IvsClient, interval: Duration) -> Self {
        Self {
            ivs,
            interval,
            state: Mutex::new(State::new()),
            triggers: Mutex::new(Vec::new()),
        }
    }

    /// Returns the stream of rooms whose reconcile the observer requests, for the controller
    /// watching `namespace` (`None` for all namespaces).
    pub fn subscribe(
        &self,
        namespace: Option<String>,
    ) -> mpsc::UnboundedReceiver<ObjectRef<ChatRoom>> {
        let (sender, receiver) = mpsc::unbounded();
        if let Ok(mut triggers) = self.triggers.lock() {
            triggers.push(Trigger { namespace, sender });
        }
        receiver
    }

    /// Returns the observer's verdict on the room with this ARN.
    pub fn verdict(&self, arn: &str) -> Verdict {
        let Ok(state) = self.state.lock() else {
            return Verdict::Blind;
        };
        if state.last_success.elapsed() > self.blind_after() {
            return Verdict::Blind;
        }
        match state.rooms.get(arn) {
            None => Verdict::Untracked,
            Some(entry) if entry.stale => Verdict::Stale,
            Some(entry) => Verdict::Unchanged {
                update_time: entry.update_time.clone(),
                fingerprint: entry.fingerprint,
            },
        }
    }

    /// Returns the count of stale marks so far. A reconcile takes it when it starts and passes
    /// it to [`RoomObserver::track`].
    pub fn marks(&self) -> u64 {
        self.state.lock().map(|s| s.marks).unwrap_or_default()
    }

    /// Records `room` as the operator now sees it. With `read`, the operator just read it from
    /// IVS (or wrote it and read the response), which also counts as seeing it in the sweep in
    /// progress. A stale mark made after `marks_at_start` stays, because the reconcile that
    /// calls this may have read the room before the change that caused the mark.
    pub fn track(&self, object: ObjectRef<ChatRoom>, room: &Room, read: bool, marks_at_start: u64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let sweep = state.sweep;
        let tracked_in = if state.sweep_begun { sweep } else { sweep - 1 };
        let entry = state.rooms.entry(room.arn.clone()).or_insert(Entry {
            object: object.clone(),
            update_time: None,
            fingerprint: 0,
            seen_in: 0,
            tracked_in,
            stale: false,
            stale_mark: 0,
        });
        entry.object = object;
        entry.update_time = room.update_time.clone();
        entry.fingerprint = room_fingerprint(room);
        if entry.stale_mark <= marks_at_start {
            entry.stale = false;
        }
        if read {
            entry.seen_in = sweep;
        }
    }

    /// Stops tracking the room with this ARN.
    pub fn untrack(&self, arn: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.rooms.remove(arn);
        }
    }

    /// Number of rooms tracked.
    pub fn tracked(&self) -> usize {
        self.state.lock().map(|s| s.rooms.len()).unwrap_or_default()
    }

    /// After this long without a successful ListRooms, the observer's verdicts are `Blind`.
    fn blind_after(&self) -> Duration {
        self.interval * 4 + Duration::from_secs(10)
    }

    /// Reads one page per interval until dropped, alternating between the head and the
    /// sweep. Nothing is read while no room is tracked.
    pub async fn run(&self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut head_turn = true;
        let mut failing = false;
        loop {
            ticks.tick().await;
            if self.tracked() == 0 {
                if let Ok(mut state) = self.state.lock() {
                    state.last_success = Instant::now();
                }
                continue;
            }
            let result = if head_turn {
                self.read_head().await
            } else {
                self.read_sweep().await
            };
            head_turn = !head_turn;
            // Only the first failure and the recovery are logged at once, so a lasting error
            // writes two lines instead of one per interval.
            match result {
                Err(error) if failing => tracing::debug!(%error, "Failed to list rooms again"),
                Err(error) => {
                    failing = true;
                    tracing::warn!(%error, "Failed to list rooms; rooms are read one by one at each resync until listing works again");
                }
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("Listing rooms works again");
                }
                Ok(()) => {}
            }
        }
    }

    /// Reads the head of the list: the first page, and the next ones while a whole page is
    /// newer than the previous head read, up to [`HEAD_PAGES`].
    async fn read_head(&self) -> Result<(), IvsError> {
        let mut token = None;
        for number in 0..HEAD_PAGES {
            let (page, next) = self.ivs.list_rooms_page(token).await?;
            let (triggers, more) = {
                let Ok(mut state) = self.state.lock() else {
                    return Ok(());
                };
                state.last_success = Instant::now();
                let more = next.is_some() && state.head_continues(&page, number == 0);
                (state.observe(&page), more)
            };
            self.send(triggers);
            if !more {
                return Ok(());
            }
            token = next;
        }
        tracing::debug!(
            pages = HEAD_PAGES,
            "More rooms moved since the last head read than one head read takes; the sweep finds the rest"
        );
        Ok(())
    }

    async fn read_sweep(&self) -> Result<(), IvsError> {
        let token = self.state.lock().ok().and_then(|s| s.sweep_token.clone());
        let (page, next) = self
            .ivs
            .list_rooms_page(token)
            .await
            .inspect_err(|error| self.forget_token(error, |s| &mut s.sweep_token))?;
        let triggers = {
            let Ok(mut state) = self.state.lock() else {
                return Ok(());
            };
            state.last_success = Instant::now();
            state.sweep_begun = true;
            let mut triggers = state.observe(&page);
            state.sweep_token = next;
            if state.sweep_token.is_none() {
                triggers.extend(state.finish_sweep());
            }
            triggers
        };
        self.send(triggers);
        Ok(())
    }

    /// Drops a page token that IVS rejected as invalid, so the next read starts from the first
    /// page instead of failing forever. Other errors keep the token for a retry.
    fn forget_token(
        &self,
        error: &IvsError,
        token: impl FnOnce(&mut State) -> &mut Option<String>,
    ) {
        if error.kind != IvsErrorKind::Validation {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            *token(&mut state) = None;
        }
    }

    fn send(&self, triggers: Vec<(ObjectRef<ChatRoom>, Reason)>) {
        if triggers.is_empty() {
            return;
        }
        let Ok(mut receivers) = self.triggers.lock() else {
            return;
        };
        receivers.retain(|r| !r.sender.is_closed());
        for (object, reason) in triggers {
            tracing::info!(namespace = object.namespace.as_deref().unwrap_or_default(), name = %object.name, reason = reason.as_str(), "Room differs from what the operator last saw; reading it");
            crate::metrics::global().drift_detected(reason.as_str());
            let receiver = receivers.iter().find(|r| {
                r.namespace.is_none() || r.namespace.as_deref() == object.namespace.as_deref()
            });
            if let Some(receiver) = receiver {
                let _ = receiver.sender.unbounded_send(object);
            }
        }
    }
}

impl State {
    fn new() -> Self {
        State {
            rooms: HashMap::new(),
            sweep: 1,
            sweep_begun: false,
            sweep_token: None,
            head_newest: None,
            head_floor: None,
            last_success: Instant::now(),
            marks: 0,
        }
    }

    /// Takes a head page and returns whether the page after it contains rooms updated since the
    /// previous head read, which is when the whole page is newer than that read.
    fn head_continues(&mut self, page: &[RoomSummary], first: bool) -> bool {
        if first {
            let newest = page
                .first()
                .and_then(|s| parse_time(s.update_time.as_deref()));
            self.head_floor = self.head_newest;
            self.head_newest = self.head_newest.max(newest);
        }
        let oldest = page
            .last()
            .and_then(|s| parse_time(s.update_time.as_deref()));
        matches!((self.head_floor, oldest), (Some(floor), Some(oldest)) if oldest > floor)
    }

    /// Marks the entry for `arn` stale and returns its object.
    fn mark(&mut self, arn: &str) -> Option<ObjectRef<ChatRoom>> {
        self.marks += 1;
        let marks = self.marks;
        let entry = self.rooms.get_mut(arn)?;
        entry.stale = true;
        entry.stale_mark = marks;
        Some(entry.object.clone())
    }

    /// Compares a page of summaries with the tracked rooms and marks those that moved.
    fn observe(&mut self, page: &[RoomSummary]) -> Vec<(ObjectRef<ChatRoom>, Reason)> {
        let sweep = self.sweep;
        let mut triggers = Vec::new();
        for summary in page {
            let Some(entry) = self.rooms.get_mut(&summary.arn) else {
                continue;
            };
            entry.seen_in = sweep;
            if entry.stale {
                continue;
            }
            if summary.update_time != entry.update_time
                || summary_fingerprint(summary) != entry.fingerprint
            {
                triggers.extend(self.mark(&summary.arn).map(|o| (o, Reason::Changed)));
            }
        }
        triggers
    }

    /// Ends the sweep in progress: every room tracked before it began and not seen during
    /// it may be gone.
    fn finish_sweep(&mut self) -> Vec<(ObjectRef<ChatRoom>, Reason)> {
        let sweep = self.sweep;
        let missing: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, e)| !e.stale && e.seen_in < sweep && e.tracked_in < sweep)
            .map(|(arn, _)| arn.clone())
            .collect();
        let triggers = missing
            .iter()
            .filter_map(|arn| self.mark(arn).map(|o| (o, Reason::Missing)))
            .collect();
        self.sweep += 1;
        self.sweep_begun = false;
        triggers
    }
}

fn parse_time(time: Option<&str>) -> Option<Timestamp> {
    time?.parse().ok()
}

/// Fingerprint of the fields a room and its summary share, besides the update time.
pub fn room_fingerprint(room: &Room) -> u64 {
    fingerprint(
        &room.name,
        room.handler.as_ref(),
        &room.logging_configuration_arns,
        &room.tags,
    )
}

fn summary_fingerprint(summary: &RoomSummary) -> u64 {
    fingerprint(
        &summary.name,
        summary.handler.as_ref(),
        &summary.logging_configuration_arns,
        &summary.tags,
    )
}

fn fingerprint(
    name: &str,
    handler: Option<&Handler>,
    logging_configuration_arns: &[String],
    tags: &BTreeMap<String, String>,
) -> u64 {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    handler
        .map(|h| (&h.uri, &h.fallback_result))
        .hash(&mut hasher);
    logging_configuration_arns.hash(&mut hasher);
    tags.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(arn: &str, update_time: &str) -> Room {
        Room {
            arn: arn.into(),
            name: format!("name-{arn}"),
            tags: BTreeMap::from([("k".into(), "v".into())]),
            update_time: Some(update_time.into()),
            ..Room::default()
        }
    }

    fn summary(room: &Room) -> RoomSummary {
        RoomSummary {
            arn: room.arn.clone(),
            name: room.name.clone(),
            handler: room.handler.clone(),
            logging_configuration_arns: room.logging_configuration_arns.clone(),
            tags: room.tags.clone(),
            update_time: room.update_time.clone(),
        }
    }

    fn entry(name: &str, room: &Room, seen_in: u64, tracked_in: u64) -> Entry {
        Entry {
            object: ObjectRef::new(name).within("ns"),
            update_time: room.update_time.clone(),
            fingerprint: room_fingerprint(room),
            seen_in,
            tracked_in,
            stale: false,
            stale_mark: 0,
        }
    }

    #[test]
    fn unchanged_summary_triggers_nothing() {
        let a = room("a", "2026-01-01T00:00:00Z");
        let mut state = State::new();
        state.rooms.insert("a".into(), entry("a", &a, 0, 0));
        assert!(state.observe(&[summary(&a)]).is_empty());
        assert_eq!(state.rooms["a"].seen_in, 1);
    }

    #[test]
    fn changed_summary_marks_room_stale_once() {
        let a = room("a", "2026-01-01T00:00:00Z");
        let b = room("b", "2026-01-01T00:00:00Z");
        let mut state = State::new();
        state.rooms.insert("a".into(), entry("a", &a, 0, 0));
        state.rooms.insert("b".into(), entry("b", &b, 0, 0));
        let mut moved = summary(&a);
        moved.update_time = Some("2026-01-01T00:00:01Z".into());
        let mut tagged = summary(&b);
        tagged.tags.insert("other".into(), "x".into());
        let triggers = state.observe(&[moved.clone(), tagged]);
        let names: Vec<_> = triggers.iter().map(|(o, _)| o.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(
            state.observe(&[moved]).is_empty(),
            "a stale room triggers once"
        );
    }

    #[test]
    fn summaries_of_untracked_rooms_are_ignored() {
        let mut state = State::new();
        let other = room("other", "2026-01-01T00:00:00Z");
        assert!(state.observe(&[summary(&other)]).is_empty());
        assert!(state.rooms.is_empty());
    }

    #[test]
    fn sweep_reports_rooms_it_missed() {
        let a = room("a", "2026-01-01T00:00:00Z");
        let gone = room("gone", "2026-01-01T00:00:00Z");
        let late = room("late", "2026-01-01T00:00:00Z");
        let mut state = State::new();
        state.rooms.insert("a".into(), entry("a", &a, 0, 0));
        state
            .rooms
            .insert("gone".into(), entry("gone", &gone, 0, 0));
        state
            .rooms
            .insert("late".into(), entry("late", &late, 0, 1));
        state.observe(&[summary(&a)]);
        let missing: Vec<_> = state
            .finish_sweep()
            .into_iter()
            .map(|(o, reason)| (o.name, reason))
            .collect();
        assert_eq!(missing, [("gone".to_string(), Reason::Missing)]);
        assert_eq!(state.sweep, 2);
        // The next sweep judges the late room too; the gone room is already stale.
        state.observe(&[summary(&a)]);
        let missing: Vec<_> = state
            .finish_sweep()
            .into_iter()
            .map(|(o, _)| o.name)
            .collect();
        assert_eq!(missing, ["late"]);
    }

    #[test]
    fn head_reads_on_while_whole_page_is_new() {
        let at = |second: u32| summary(&room("r", &format!("2026-01-01T00:00:{second:02}Z")));
        let mut state = State::new();
        assert!(
            !state.head_continues(&[at(10), at(9)], true),
            "the first head read has nothing to compare with"
        );
        assert!(
            state.head_continues(&[at(30), at(20)], true),
            "a page wholly newer than the previous head read"
        );
        assert!(
            state.head_continues(&[at(19), at(11)], false),
            "the following page is still newer than the previous head read"
        );
        assert!(
            !state.head_continues(&[at(10), at(5)], false),
            "a page that reaches the previous head read ends the head read"
        );
        assert!(
            !state.head_continues(&[at(30), at(25)], true),
            "rooms moved since the last head read fit on one page"
        );
        assert!(
            !state.head_continues(&[], true),
            "an empty list ends the head read"
        );
    }

    fn observer() -> RoomObserver {
        let config = aws_sdk_ivschat::Config::builder()
            .behavior_version(aws_sdk_ivschat::config::BehaviorVersion::latest())
            .region(aws_sdk_ivschat::config::Region::new("us-east-1"))
            .build();
        let ivs = IvsClient::from_client(aws_sdk_ivschat::Client::from_conf(config), 1.0);
        RoomObserver::new(ivs, Duration::from_secs(1))
    }

    #[test]
    fn verdict_follows_tracking_and_health() {
        let observer = observer();
        let a = room("a", "2026-01-01T00:00:00Z");
        assert_eq!(observer.verdict("a"), Verdict::Untracked);

        observer.track(ObjectRef::new("a").within("ns"), &a, true, observer.marks());
        let unchanged = Verdict::Unchanged {
            update_time: a.update_time.clone(),
            fingerprint: room_fingerprint(&a),
        };
        assert_eq!(observer.verdict("a"), unchanged);

        let started = observer.marks();
        observer
            .state
            .lock()
            .expect("the state lock is not poisoned")
            .mark("a");
        assert_eq!(observer.verdict("a"), Verdict::Stale);
        observer.track(ObjectRef::new("a").within("ns"), &a, true, started);
        assert_eq!(
            observer.verdict("a"),
            Verdict::Stale,
            "a mark made while a reconcile ran outlives that reconcile"
        );
        observer.track(ObjectRef::new("a").within("ns"), &a, true, observer.marks());
        assert_eq!(
            observer.verdict("a"),
            unchanged,
            "a read that began after the mark clears it"
        );

        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(60))
            .expect("the monotonic clock is past one minute");
        observer
            .state
            .lock()
            .expect("the state lock is not poisoned")
            .last_success = long_ago;
        assert_eq!(observer.verdict("a"), Verdict::Blind);

        observer.untrack("a");
        assert_eq!(observer.tracked(), 0);
    }

    #[test]
    fn room_and_summary_fingerprints_agree() {
        let mut a = room("a", "2026-01-01T00:00:00Z");
        a.handler = Some(Handler {
            uri: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            fallback_result: "ALLOW".into(),
        });
        a.logging_configuration_arns = vec!["x".into(), "y".into()];
        a.maximum_message_length = 10;
        assert_eq!(room_fingerprint(&a), summary_fingerprint(&summary(&a)));
        let mut reordered = summary(&a);
        reordered.logging_configuration_arns.reverse();
        assert_ne!(room_fingerprint(&a), summary_fingerprint(&reordered));
    }
}
