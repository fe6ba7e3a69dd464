//! One provider as the quote service uses it: its circuit breaker, its request budgets, and
//! what `/status` shows of it. Kept in this instance's memory, or in the database when several
//! instances share a provider's limits.
//!
//! Each operation (quotes, history) has its own breaker: a service whose history endpoint fails
//! still prices, and the other way round. The budgets are the provider's, shared by both.
//!
//! A circuit opens after `threshold` failures in a row and then refuses every request: no page
//! pays for finding out whether the service is back. A background probe (see the service) sends
//! one trial request after a pause that starts short ([`Settings::breaker_first_pause`]) and
//! doubles with each failed trial up to [`Settings::breaker_cool_down`]; its success closes the
//! circuit.

use std::num::NonZeroU32;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::service::Settings;
use super::{Limits, QuoteError, QuoteProvider};
use crate::domain::AssetKind;
use crate::store::{BreakerRecord, Budget, PriceStore, StoreError};

/// The state of a provider's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// What a request to a provider is for; each has its own circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Quote,
    History,
}

impl Op {
    fn index(self) -> usize {
        match self {
            Op::Quote => 0,
            Op::History => 1,
        }
    }
}

/// What `/status` shows about one provider.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderHealth {
    pub name: &'static str,
    pub kinds: Vec<AssetKind>,
    /// The quotes' circuit.
    pub circuit: CircuitState,
    /// The history's circuit.
    pub history_circuit: CircuitState,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_failure: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub requests_today: u32,
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
}

/// Why a request was not sent.
pub const CIRCUIT_OPEN: &str = "circuit open (a background probe checks when it is back)";

/// One operation's breaker in this instance's memory.
#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    /// When the trial request started; a trial that never reports back (its task stopped)
    /// blocks the next one for `CIRCUIT_BREAKER_COOL_DOWN_SECS` only.
    trial_started: Option<Instant>,
}

#[derive(Default)]
struct SlotState {
    breakers: [Breaker; 2],
    last_success: Option<OffsetDateTime>,
    last_failure: Option<OffsetDateTime>,
    last_error: Option<String>,
    day: Option<Date>,
    requests_today: u32,
}

/// How long an instance trusts the breaker it last read from the database.
const SHARED_BREAKER_MEMORY: Duration = Duration::from_secs(1);
/// How often a success with nothing to reset is still written, for `/status`.
const SHARED_SUCCESS_EVERY: Duration = Duration::from_secs(10);
/// After the database fails to answer, how long limits are counted by this instance alone
/// (so requests do not wait on a database that is down).
const SHARED_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The database's view of one operation's breaker, as this instance last read it.
#[derive(Default)]
struct SharedBreaker {
    record: BreakerRecord,
    read_at: Option<Instant>,
    success_written_at: Option<Instant>,
}

/// The database's view of a provider's breakers.
#[derive(Default)]
struct SharedView {
    breakers: [SharedBreaker; 2],
    /// The database did not answer; until then this instance counts alone.
    down_until: Option<Instant>,
}

/// Requests taken from the database's budget ahead, spent without asking it again.
#[derive(Default)]
struct Lease {
    tokens: u32,
    /// The UTC minute (or, for a budget without one, the day) they were taken in, after which
    /// they are gone.
    window: i64,
}

impl Lease {
    /// How many requests an instance takes at a time: a tenth of the smallest budget, at least
    /// one and at most five, so a page's concurrent fetches ask the database a few times rather
    /// than once each, and an instance leaves at most four of a window's budget unspent.
    fn size(limits: Limits) -> u32 {
        [limits.per_minute, limits.per_day]
            .into_iter()
            .flatten()
            .map(|n| n.div_ceil(10).clamp(1, 5))
            .min()
            .unwrap_or(100)
    }

    /// The window a lease taken at `now` lasts: its minute, or its day without a minute budget.
    fn window(limits: Limits, now: OffsetDateTime) -> i64 {
        match limits.per_minute {
            Some(_) => now.unix_timestamp().div_euclid(60),
            None => i64::from(now.date().to_julian_day()),
        }
    }
}

/// A provider with its breaker, limits and counters.
pub(super) struct Slot {
    pub provider: Arc<dyn QuoteProvider>,
    per_minute: Option<DefaultDirectRateLimiter>,
    state: Mutex<SlotState>,
    threshold: u32,
    first_pause: Duration,
    longest_pause: Duration,
    /// After this long a trial that never reported back no longer blocks the next.
    trial_timeout: Duration,
    /// Budgets and breaker kept in the database (every instance's), when shared.
    shared: Option<Arc<dyn PriceStore>>,
    view: Mutex<SharedView>,
    lease: tokio::sync::Mutex<Lease>,
    /// A background probe is running for this provider's open circuit.
    pub probing: AtomicBool,
}

/// How long a circuit pauses after its `failed_trials`th failed trial in a row: the first
/// pause, doubled each time, never past the longest.
pub(super) fn pause(first: Duration, longest: Duration, failed_trials: u32) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(failed_trials.min(30)))
        .min(longest)
        .max(first.min(longest))
}

impl Slot {
    pub fn new(
        provider: Arc<dyn QuoteProvider>,
        settings: &Settings,
        shared: Option<Arc<dyn PriceStore>>,
    ) -> Self {
        let per_minute = provider
            .limits()
            .per_minute
            .and_then(NonZeroU32::new)
            .map(|n| RateLimiter::direct(Quota::per_minute(n)));
        // Trials against a service with a daily budget spend at most half of it a day.
        let day_spacing = provider.limits().per_day.map_or(Duration::ZERO, |n| {
            Duration::from_secs(2 * 86_400 / u64::from(n.max(1)))
        });
        Slot {
            provider,
            per_minute,
            state: Mutex::new(SlotState::default()),
            threshold: settings.breaker_threshold.max(1),
            first_pause: settings.breaker_first_pause,
            longest_pause: settings.breaker_cool_down.max(day_spacing),
            trial_timeout: settings.breaker_cool_down,
            shared,
            view: Mutex::new(SharedView::default()),
            lease: tokio::sync::Mutex::new(Lease::default()),
            probing: AtomicBool::new(false),
        }
    }

    pub fn name(&self) -> &'static str {
        self.provider.name()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // A poisoned lock only means another request panicked mid-update; the counters are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn view(&self) -> std::sync::MutexGuard<'_, SharedView> {
        self.view.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pause after `failed_trials` failed trials.
    pub fn pause(&self, failed_trials: u32) -> Duration {
        pause(self.first_pause, self.longest_pause, failed_trials)
    }

    /// The database's name for an operation's breaker: the provider's for quotes.
    fn key(&self, op: Op) -> String {
        match op {
            Op::Quote => self.name().to_string(),
            Op::History => format!("{}:history", self.name()),
        }
    }

    /// Takes permission for `cost` requests of `op`: its circuit closed, and inside the
    /// per-minute and per-day budgets, counted with every instance's when shared. Says why not
    /// otherwise ([`CIRCUIT_OPEN`] while the circuit is open). A database that does not answer
    /// falls back to this instance's counts.
    pub async fn admit(&self, op: Op, cost: u32) -> Result<(), String> {
        self.admit_as(op, cost, false).await
    }

    /// Permission for one trial request of `op`: its circuit is open, its pause is over, and
    /// no other trial (of this instance or, when shared, any) is in flight.
    pub async fn admit_trial(&self, op: Op) -> Result<(), String> {
        self.admit_as(op, 1, true).await
    }

    async fn admit_as(&self, op: Op, cost: u32, trial: bool) -> Result<(), String> {
        let Some(store) = self.shared_store() else {
            return self.admit_unshared(op, cost, trial);
        };
        match self.admit_shared(store, op, cost, trial).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(provider = self.name(), error = %e, "shared request budget unavailable; counting locally");
                self.view().down_until = Some(Instant::now() + SHARED_RETRY_AFTER);
                self.admit_unshared(op, cost, trial)
            }
        }
    }

    /// This instance's own count, when limits are not shared, or the database that shares them
    /// does not answer. A provider with a daily budget is then not asked: this instance cannot
    /// tell how much of the day the others have used.
    fn admit_unshared(&self, op: Op, cost: u32, trial: bool) -> Result<(), String> {
        if self.shared.is_some() && self.provider.limits().per_day.is_some() {
            return Err("daily request budget unknown (the database does not answer)".into());
        }
        self.admit_local(op, cost, trial)
    }

    /// The store budgets and breaker are shared through, unless it is down for now.
    fn shared_store(&self) -> Option<&dyn PriceStore> {
        let store = self.shared.as_deref()?;
        let down = self.view().down_until.is_some_and(|t| Instant::now() < t);
        (!down).then_some(store)
    }

    async fn admit_shared(
        &self,
        store: &dyn PriceStore,
        op: Op,
        cost: u32,
        trial: bool,
    ) -> Result<Result<(), String>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let breaker = self.shared_breaker(store, op).await?;
        match (breaker.open_until, trial) {
            (None, false) => {}
            (None, true) => return Ok(Err("circuit closed".into())),
            (Some(_), false) => return Ok(Err(CIRCUIT_OPEN.into())),
            (Some(until), true) if now < until => return Ok(Err("circuit paused".into())),
            (Some(_), true) => {
                let timeout = to_time(self.trial_timeout);
                if !store.claim_trial(&self.key(op), now, timeout).await? {
                    return Ok(Err("trial in flight".into()));
                }
            }
        }
        let refused = match self.take_shared(store, cost).await? {
            Budget::Taken => return Ok(Ok(())),
            Budget::MinuteUsedUp => "per-minute request budget used up",
            Budget::DayUsedUp => "daily request budget used up",
        };
        if trial {
            // The trial was never sent: it may be made later.
            store.release_trial(&self.key(op), now).await?;
        }
        Ok(Err(refused.into()))
    }

    /// Spends `cost` requests of the lease, taking a new one from the database's budget when
    /// it runs short (just `cost` when a whole lease no longer fits).
    async fn take_shared(&self, store: &dyn PriceStore, cost: u32) -> Result<Budget, StoreError> {
        let limits = self.provider.limits();
        let mut lease = self.lease.lock().await;
        // Read after the wait for the lease, so the window is the one the request goes in.
        let now = OffsetDateTime::now_utc();
        let window = Lease::window(limits, now);
        if window > lease.window {
            *lease = Lease { tokens: 0, window };
        }
        if lease.tokens >= cost {
            lease.tokens -= cost;
            return Ok(Budget::Taken);
        }
        let take =
            |n: u32| store.take_budget(self.name(), n, limits.per_minute, limits.per_day, now);
        let size = Lease::size(limits).max(cost);
        let mut outcome = take(size).await?;
        if outcome == Budget::Taken {
            lease.tokens = size - cost;
        } else if size > cost {
            outcome = take(cost).await?;
        }
        Ok(outcome)
    }

    /// An operation's breaker as the database has it, read at most once per
    /// [`SHARED_BREAKER_MEMORY`].
    async fn shared_breaker(
        &self,
        store: &dyn PriceStore,
        op: Op,
    ) -> Result<BreakerRecord, StoreError> {
        {
            let mut view = self.view();
            let shared = &mut view.breakers[op.index()];
            if shared
                .read_at
                .is_some_and(|t| t.elapsed() < SHARED_BREAKER_MEMORY)
            {
                return Ok(shared.record.clone());
            }
            // One request reads it; the others meanwhile go by the last reading.
            shared.read_at = Some(Instant::now());
        }
        match store.breaker(&self.key(op)).await {
            Ok(breaker) => {
                let breaker = breaker.unwrap_or_default();
                self.view().breakers[op.index()].record = breaker.clone();
                Ok(breaker)
            }
            Err(e) => {
                self.view().breakers[op.index()].read_at = None;
                Err(e)
            }
        }
    }

    /// This instance's own budgets and breaker.
    fn admit_local(&self, op: Op, cost: u32, trial: bool) -> Result<(), String> {
        let mut s = self.state();
        let now = Instant::now();
        let breaker = &mut s.breakers[op.index()];
        match (breaker.open_until, trial) {
            (None, false) => {}
            (None, true) => return Err("circuit closed".into()),
            (Some(_), false) => return Err(CIRCUIT_OPEN.into()),
            (Some(until), true) if now < until => return Err("circuit paused".into()),
            (Some(_), true) => {
                if breaker
                    .trial_started
                    .is_some_and(|t| now.duration_since(t) < self.trial_timeout)
                {
                    return Err("trial in flight".into());
                }
                breaker.trial_started = Some(now);
            }
        }
        let today = OffsetDateTime::now_utc().date();
        if s.day != Some(today) {
            s.day = Some(today);
            s.requests_today = 0;
        }
        if let Some(limit) = self.provider.limits().per_day
            && s.requests_today + cost > limit
        {
            s.breakers[op.index()].trial_started = None;
            return Err("daily request budget used up".into());
        }
        let minute_ok = match (&self.per_minute, NonZeroU32::new(cost)) {
            (Some(limiter), Some(n)) => matches!(limiter.check_n(n), Ok(Ok(()))),
            _ => true,
        };
        if !minute_ok {
            s.breakers[op.index()].trial_started = None;
            return Err("per-minute request budget used up".into());
        }
        s.requests_today += cost;
        Ok(())
    }

    /// How long until a trial of `op` may be sent: `None` once its circuit is closed (here,
    /// or in the database when shared).
    pub async fn until_trial(&self, op: Op) -> Option<Duration> {
        if let Some(store) = self.shared_store()
            && let Ok(breaker) = self.shared_breaker(store, op).await
        {
            let until = breaker.open_until?;
            let left = until - OffsetDateTime::now_utc();
            return Some(left.try_into().unwrap_or(Duration::ZERO));
        }
        let until = self.state().breakers[op.index()].open_until?;
        Some(until.saturating_duration_since(Instant::now()))
    }

    /// Whether the circuit of `op` is open, as this instance last saw it.
    pub fn is_open(&self, op: Op) -> bool {
        if self.shared_store().is_some() {
            return self.view().breakers[op.index()].record.open_until.is_some();
        }
        self.state().breakers[op.index()].open_until.is_some()
    }

    /// How many trials of `op` failed since its circuit opened (as this instance last saw it).
    pub fn failed_trials(&self, op: Op) -> u32 {
        let failures = if self.shared_store().is_some() {
            self.view().breakers[op.index()].record.failures
        } else {
            self.state().breakers[op.index()].consecutive_failures
        };
        failures.saturating_sub(self.threshold)
    }

    /// A request of `op` went through: its breaker closes (in the database too, when shared).
    pub async fn succeeded(&self, op: Op) {
        self.succeeded_local(op);
        let Some(store) = self.shared_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        {
            // One request writes it; those succeeding meanwhile find it written.
            let mut view = self.view();
            let shared = &mut view.breakers[op.index()];
            let write = shared.record.failures > 0
                || shared.record.open_until.is_some()
                || shared
                    .success_written_at
                    .is_none_or(|t| t.elapsed() >= SHARED_SUCCESS_EVERY);
            if !write {
                return;
            }
            shared.record.failures = 0;
            shared.record.open_until = None;
            shared.record.trial_started = None;
            shared.record.last_success = Some(now);
            shared.success_written_at = Some(Instant::now());
        }
        if let Err(e) = store.breaker_succeeded(&self.key(op), now).await {
            tracing::warn!(provider = self.name(), error = %e, "cannot record a success");
            self.view().down_until = Some(Instant::now() + SHARED_RETRY_AFTER);
        }
    }

    /// A request of `op` failed: counted against its breaker (in the database too, when
    /// shared) unless it only did not know the symbol. A circuit that opens now (or a trial
    /// that failed) pauses for `pause`.
    pub async fn failed(&self, op: Op, err: &QuoteError, pause: Duration) {
        self.failed_local(op, err, pause);
        let Some(store) = self.shared_store() else {
            return;
        };
        let recorded = store
            .breaker_failed(
                &self.key(op),
                OffsetDateTime::now_utc(),
                &err.to_string(),
                err.is_provider_failure(),
                self.threshold,
                to_time(pause),
            )
            .await;
        match recorded {
            Ok(breaker) => {
                let mut view = self.view();
                let shared = &mut view.breakers[op.index()];
                shared.record = breaker;
                shared.read_at = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(provider = self.name(), error = %e, "cannot record a failure");
                self.view().down_until = Some(Instant::now() + SHARED_RETRY_AFTER);
            }
        }
    }

    fn succeeded_local(&self, op: Op) {
        let mut s = self.state();
        s.breakers[op.index()] = Breaker::default();
        s.last_success = Some(OffsetDateTime::now_utc());
    }

    fn failed_local(&self, op: Op, err: &QuoteError, pause: Duration) {
        let mut s = self.state();
        s.last_failure = Some(OffsetDateTime::now_utc());
        s.last_error = Some(err.to_string());
        let breaker = &mut s.breakers[op.index()];
        if !err.is_provider_failure() {
            breaker.trial_started = None;
            return;
        }
        breaker.consecutive_failures += 1;
        if breaker.trial_started.is_some() || breaker.consecutive_failures >= self.threshold {
            breaker.open_until = Some(Instant::now() + pause);
            breaker.trial_started = None;
        }
    }

    fn circuit(&self, op: Op) -> CircuitState {
        circuit_at(self.state().breakers[op.index()].open_until, Instant::now())
    }

    /// What `/status` shows: the database's breakers and today's count when shared, else this
    /// instance's.
    pub async fn health(&self, kinds: Vec<AssetKind>) -> ProviderHealth {
        let limits = self.provider.limits();
        let mut health = {
            let (circuit, history_circuit) = (self.circuit(Op::Quote), self.circuit(Op::History));
            let s = self.state();
            ProviderHealth {
                name: self.name(),
                kinds,
                circuit,
                history_circuit,
                last_success: s.last_success,
                last_failure: s.last_failure,
                last_error: s.last_error.clone(),
                requests_today: s.requests_today,
                per_minute: limits.per_minute,
                per_day: limits.per_day,
            }
        };
        if let Some(store) = self.shared_store() {
            let now = OffsetDateTime::now_utc();
            if let Ok(Some(b)) = store.breaker(&self.key(Op::Quote)).await {
                health.circuit = circuit_at(b.open_until, now);
                health.last_success = b.last_success;
                health.last_failure = b.last_failure;
                health.last_error = b.last_error;
            }
            if let Ok(Some(b)) = store.breaker(&self.key(Op::History)).await {
                health.history_circuit = circuit_at(b.open_until, now);
            }
            if let Ok(n) = store.requests_today(self.name(), now).await {
                health.requests_today = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        health
    }
}

/// A circuit paused until `open_until`, as it stands at `now`.
fn circuit_at<T: PartialOrd>(open_until: Option<T>, now: T) -> CircuitState {
    match open_until {
        None => CircuitState::Closed,
        Some(until) if now < until => CircuitState::Open,
        Some(_) => CircuitState::HalfOpen,
    }
}

/// A std duration as a `time` one (saturating).
pub(super) fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Quote, Symbol};
    use crate::market::ProviderId;
    use async_trait::async_trait;

    struct Dummy;

    #[async_trait]
    impl QuoteProvider for Dummy {
        fn id(&self) -> ProviderId {
            ProviderId::Stooq
        }
        fn limits(&self) -> Limits {
            Limits {
                per_minute: Some(3),
                per_day: Some(5),
                batch_size: 1,
                cost_per_symbol: false,
            }
        }
        fn supports(&self, _: &Symbol, _: AssetKind) -> bool {
            true
        }
        async fn quote(&self, symbol: &Symbol, _: AssetKind) -> Result<Quote, QuoteError> {
            Err(QuoteError::NotFound(symbol.to_string()))
        }
    }

    fn slot(threshold: u32, longest_ms: u64) -> Slot {
        let settings = Settings {
            breaker_threshold: threshold,
            breaker_first_pause: Duration::from_millis(longest_ms / 4),
            breaker_cool_down: Duration::from_millis(longest_ms),
            ..Settings::default()
        };
        Slot::new(Arc::new(Dummy), &settings, None)
    }

    fn outage() -> QuoteError {
        QuoteError::Unavailable {
            provider: "dummy".into(),
            reason: "HTTP 500".into(),
        }
    }

    #[test]
    fn an_open_circuit_refuses_requests_and_lets_only_the_probe_try() {
        let s = slot(1, 40);
        assert!(s.admit_local(Op::Quote, 1, false).is_ok());
        assert_eq!(
            s.admit_local(Op::Quote, 1, true).unwrap_err(),
            "circuit closed"
        );
        s.failed_local(Op::Quote, &outage(), Duration::from_millis(10));
        assert_eq!(s.circuit(Op::Quote), CircuitState::Open);
        assert_eq!(
            s.admit_local(Op::Quote, 1, false).unwrap_err(),
            CIRCUIT_OPEN
        );
        assert_eq!(
            s.admit_local(Op::Quote, 1, true).unwrap_err(),
            "circuit paused"
        );
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(
            s.admit_local(Op::Quote, 1, false).unwrap_err(),
            CIRCUIT_OPEN,
            "a page never makes the trial"
        );
        assert!(s.admit_local(Op::Quote, 1, true).is_ok(), "the probe may");
        // The trial's task stops without reporting back.
        assert_eq!(
            s.admit_local(Op::Quote, 1, true).unwrap_err(),
            "trial in flight"
        );
        std::thread::sleep(Duration::from_millis(45));
        assert!(
            s.admit_local(Op::Quote, 1, true).is_ok(),
            "a vanished trial blocks for the configured longest pause only"
        );
        s.succeeded_local(Op::Quote);
        assert_eq!(s.circuit(Op::Quote), CircuitState::Closed);
        assert_ne!(
            s.admit_local(Op::Quote, 1, false).err().as_deref(),
            Some(CIRCUIT_OPEN),
            "closed again"
        );
    }

    #[test]
    fn history_failures_open_only_the_history_circuit() {
        let s = slot(2, 1000);
        for _ in 0..6 {
            s.failed_local(Op::History, &outage(), Duration::from_secs(60));
        }
        assert_eq!(s.circuit(Op::History), CircuitState::Open);
        assert_eq!(s.circuit(Op::Quote), CircuitState::Closed);
        assert!(
            s.admit_local(Op::Quote, 1, false).is_ok(),
            "quotes still go"
        );
        assert_eq!(
            s.admit_local(Op::History, 1, false).unwrap_err(),
            CIRCUIT_OPEN
        );
        s.succeeded_local(Op::Quote);
        assert_eq!(
            s.circuit(Op::History),
            CircuitState::Open,
            "a quote's success says nothing about history"
        );
        assert_eq!(s.failed_trials(Op::History), 4);
    }

    #[test]
    fn a_failed_trial_pauses_longer_each_time_up_to_the_longest() {
        let ms = Duration::from_millis;
        let pauses: Vec<u128> = (0..7)
            .map(|n| pause(Duration::from_secs(2), Duration::from_secs(60), n).as_secs() as u128)
            .collect();
        assert_eq!(pauses, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(
            pause(ms(2000), ms(1000), 0),
            ms(1000),
            "never past the longest"
        );
        assert_eq!(pause(ms(2000), ms(60_000), u32::MAX), ms(60_000));
    }

    #[test]
    fn budgets_count_requests_and_batch_credits() {
        let s = slot(5, 1000);
        assert!(s.admit_local(Op::Quote, 2, false).is_ok());
        assert!(s.admit_local(Op::Quote, 1, false).is_ok());
        assert_eq!(
            s.admit_local(Op::Quote, 1, false).unwrap_err(),
            "per-minute request budget used up"
        );
        assert_eq!(s.state().requests_today, 3);
        let unknown = QuoteError::NotFound("X".into());
        s.failed_local(Op::Quote, &unknown, Duration::from_secs(1));
        assert_eq!(
            s.circuit(Op::Quote),
            CircuitState::Closed,
            "an unknown symbol is not the provider's failure"
        );
    }

    #[test]
    fn an_instance_takes_a_tenth_of_the_smallest_budget_at_a_time() {
        let limits = |per_minute, per_day| Limits {
            per_minute,
            per_day,
            batch_size: 1,
            cost_per_symbol: false,
        };
        assert_eq!(Lease::size(limits(Some(60), None)), 5);
        assert_eq!(Lease::size(limits(Some(30), None)), 3);
        assert_eq!(
            Lease::size(limits(Some(5), Some(25))),
            1,
            "never less than one"
        );
        assert_eq!(Lease::size(limits(Some(8), Some(800))), 1);
        assert_eq!(
            Lease::size(limits(None, Some(500))),
            5,
            "never more than five"
        );
        assert_eq!(
            Lease::size(limits(None, None)),
            100,
            "unlimited: counted in hundreds"
        );
        let t = time::macros::datetime!(2026-11-29 10:00:59 UTC);
        let next = time::macros::datetime!(2026-11-29 10:01:00 UTC);
        let minute = limits(Some(60), None);
        assert_ne!(
            Lease::window(minute, t),
            Lease::window(minute, next),
            "a minute's lease ends with it"
        );
        let day = limits(None, Some(500));
        assert_eq!(
            Lease::window(day, t),
            Lease::window(day, next),
            "a day's lasts the day"
        );
    }
}
