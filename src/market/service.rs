//! The service pages and the API ask for prices.
//!
//! A quote comes from, in order: this instance's cache (`QUOTE_TTL_SECS`); the database, when
//! another instance or the background refresh fetched it within the TTL; the kind's provider
//! chain, first answer wins; and when every provider fails, the last stored quote, marked stale.
//! Concurrent requests for one symbol share one fetch. Every fetched quote is stored.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::registry::{Chains, ProviderId};
use super::{Limits, QuoteError, QuoteProvider};
use crate::domain::{
    AssetKey, AssetKind, EARLIEST_PRICE_DATE, HistoryRange, PricePoint, Quote, Symbol,
};
use crate::store::{BreakerRecord, Budget, PriceStore, StoreError};

/// How the service caches, paces and guards its providers.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a fetched quote is reused.
    pub ttl: Duration,
    /// Most upstream requests in flight at once for one page.
    pub concurrency: usize,
    /// Failures in a row that open a provider's circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit stays open before one trial request is let through.
    pub breaker_cool_down: Duration,
    /// Keep request budgets and breakers in the database, so every instance on it keeps to
    /// one provider's limits together (PostgreSQL); otherwise each instance counts alone.
    pub shared_limits: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ttl: Duration::from_secs(60),
            concurrency: 64,
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(60),
            shared_limits: false,
        }
    }
}
/// How long a failed quote is remembered before its providers are asked again.
const FAILURE_MEMORY: Duration = Duration::from_secs(15);
/// The longest `Retry-After` worth waiting for inside a page request; longer skips the provider.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

type Key = (Symbol, AssetKind);

/// The state of a provider's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// What `/status` shows about one provider.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderHealth {
    pub name: &'static str,
    pub kinds: Vec<AssetKind>,
    pub circuit: CircuitState,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_failure: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub requests_today: u32,
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
}

#[derive(Default)]
struct SlotState {
    consecutive_failures: u32,
    open_until: Option<std::time::Instant>,
    /// When the half-open trial request started; a trial whose caller went away (timeout,
    /// disconnect) never reports back, so it only blocks others for one cool-down.
    trial_started: Option<std::time::Instant>,
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

/// The database's view of a provider's breaker, as this instance last read it.
#[derive(Default)]
struct SharedView {
    breaker: BreakerRecord,
    read_at: Option<std::time::Instant>,
    success_written_at: Option<std::time::Instant>,
    /// The database did not answer; until then this instance counts alone.
    down_until: Option<std::time::Instant>,
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
struct Slot {
    provider: Arc<dyn QuoteProvider>,
    per_minute: Option<DefaultDirectRateLimiter>,
    state: Mutex<SlotState>,
    threshold: u32,
    cool_down: Duration,
    /// Budgets and breaker kept in the database (every instance's), when shared.
    shared: Option<Arc<dyn PriceStore>>,
    view: Mutex<SharedView>,
    lease: tokio::sync::Mutex<Lease>,
}

impl Slot {
    fn new(
        provider: Arc<dyn QuoteProvider>,
        settings: &Settings,
        shared: Option<Arc<dyn PriceStore>>,
    ) -> Self {
        let per_minute = provider
            .limits()
            .per_minute
            .and_then(NonZeroU32::new)
            .map(|n| RateLimiter::direct(Quota::per_minute(n)));
        Slot {
            provider,
            per_minute,
            state: Mutex::new(SlotState::default()),
            threshold: settings.breaker_threshold.max(1),
            cool_down: settings.breaker_cool_down,
            shared,
            view: Mutex::new(SharedView::default()),
            lease: tokio::sync::Mutex::new(Lease::default()),
        }
    }

    fn name(&self) -> &'static str {
        self.provider.name()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // A poisoned lock only means another request panicked mid-update; the counters are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn view(&self) -> std::sync::MutexGuard<'_, SharedView> {
        self.view.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes permission for `cost` requests: circuit closed (or a half-open trial), and inside
    /// the per-minute and per-day budgets, counted with every instance's when shared. Says why
    /// not otherwise. A database that does not answer falls back to this instance's counts.
    async fn admit(&self, cost: u32) -> Result<(), String> {
        let Some(store) = self.shared_store() else {
            return self.admit_unshared(cost);
        };
        match self.admit_shared(store, cost).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(provider = self.name(), error = %e, "shared request budget unavailable; counting locally");
                self.view().down_until = Some(std::time::Instant::now() + SHARED_RETRY_AFTER);
                self.admit_unshared(cost)
            }
        }
    }

    /// This instance's own count, when limits are not shared, or the database that shares them
    /// does not answer. A provider with a daily budget is then not asked: this instance cannot
    /// tell how much of the day the others have used.
    fn admit_unshared(&self, cost: u32) -> Result<(), String> {
        if self.shared.is_some() && self.provider.limits().per_day.is_some() {
            return Err("daily request budget unknown (the database does not answer)".into());
        }
        self.admit_local(cost)
    }

    /// The store budgets and breaker are shared through, unless it is down for now.
    fn shared_store(&self) -> Option<&dyn PriceStore> {
        let store = self.shared.as_deref()?;
        let down = self
            .view()
            .down_until
            .is_some_and(|t| std::time::Instant::now() < t);
        (!down).then_some(store)
    }

    async fn admit_shared(
        &self,
        store: &dyn PriceStore,
        cost: u32,
    ) -> Result<Result<(), String>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let breaker = self.shared_breaker(store).await?;
        let mut trial = false;
        if let Some(until) = breaker.open_until {
            if now < until {
                return Ok(Err("circuit open".into()));
            }
            if !store
                .claim_trial(self.name(), now, to_time(self.cool_down))
                .await?
            {
                return Ok(Err("circuit half-open, trial in flight".into()));
            }
            trial = true;
        }
        let refused = match self.take_shared(store, cost).await? {
            Budget::Taken => return Ok(Ok(())),
            Budget::MinuteUsedUp => "per-minute request budget used up",
            Budget::DayUsedUp => "daily request budget used up",
        };
        if trial {
            // The trial was never sent: another request may make it.
            store.release_trial(self.name(), now).await?;
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

    /// The breaker as the database has it, read at most once per [`SHARED_BREAKER_MEMORY`].
    async fn shared_breaker(&self, store: &dyn PriceStore) -> Result<BreakerRecord, StoreError> {
        {
            let mut view = self.view();
            if view
                .read_at
                .is_some_and(|t| t.elapsed() < SHARED_BREAKER_MEMORY)
            {
                return Ok(view.breaker.clone());
            }
            // One request reads it; the others meanwhile go by the last reading.
            view.read_at = Some(std::time::Instant::now());
        }
        match store.breaker(self.name()).await {
            Ok(breaker) => {
                let breaker = breaker.unwrap_or_default();
                self.view().breaker = breaker.clone();
                Ok(breaker)
            }
            Err(e) => {
                self.view().read_at = None;
                Err(e)
            }
        }
    }

    /// This instance's own budgets and breaker.
    fn admit_local(&self, cost: u32) -> Result<(), String> {
        let mut s = self.state();
        let now = std::time::Instant::now();
        if let Some(until) = s.open_until {
            if now < until {
                return Err("circuit open".into());
            }
            if s.trial_started
                .is_some_and(|t| now.duration_since(t) < self.cool_down)
            {
                return Err("circuit half-open, trial in flight".into());
            }
            s.trial_started = Some(now);
        }
        let today = OffsetDateTime::now_utc().date();
        if s.day != Some(today) {
            s.day = Some(today);
            s.requests_today = 0;
        }
        if let Some(limit) = self.provider.limits().per_day
            && s.requests_today + cost > limit
        {
            s.trial_started = None;
            return Err("daily request budget used up".into());
        }
        let minute_ok = match (&self.per_minute, NonZeroU32::new(cost)) {
            (Some(limiter), Some(n)) => matches!(limiter.check_n(n), Ok(Ok(()))),
            _ => true,
        };
        if !minute_ok {
            s.trial_started = None;
            return Err("per-minute request budget used up".into());
        }
        s.requests_today += cost;
        Ok(())
    }

    /// A request went through: the breaker closes (in the database too, when shared).
    async fn succeeded(&self) {
        self.succeeded_local();
        let Some(store) = self.shared_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        {
            // One request writes it; those succeeding meanwhile find it written.
            let mut view = self.view();
            let write = view.breaker.failures > 0
                || view.breaker.open_until.is_some()
                || view
                    .success_written_at
                    .is_none_or(|t| t.elapsed() >= SHARED_SUCCESS_EVERY);
            if !write {
                return;
            }
            view.breaker.failures = 0;
            view.breaker.open_until = None;
            view.breaker.trial_started = None;
            view.breaker.last_success = Some(now);
            view.success_written_at = Some(std::time::Instant::now());
        }
        match store.breaker_succeeded(self.name(), now).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(provider = self.name(), error = %e, "cannot record a success");
                self.view().down_until = Some(std::time::Instant::now() + SHARED_RETRY_AFTER);
            }
        }
    }

    /// A request failed: counted against the provider's health (in the database too, when
    /// shared) unless it only did not know the symbol.
    async fn failed(&self, err: &QuoteError) {
        self.failed_local(err);
        let Some(store) = self.shared_store() else {
            return;
        };
        let recorded = store
            .breaker_failed(
                self.name(),
                OffsetDateTime::now_utc(),
                &err.to_string(),
                err.is_provider_failure(),
                self.threshold,
                to_time(self.cool_down),
            )
            .await;
        match recorded {
            Ok(breaker) => {
                let mut view = self.view();
                view.breaker = breaker;
                view.read_at = Some(std::time::Instant::now());
            }
            Err(e) => {
                tracing::warn!(provider = self.name(), error = %e, "cannot record a failure");
                self.view().down_until = Some(std::time::Instant::now() + SHARED_RETRY_AFTER);
            }
        }
    }

    fn succeeded_local(&self) {
        let mut s = self.state();
        s.consecutive_failures = 0;
        s.open_until = None;
        s.trial_started = None;
        s.last_success = Some(OffsetDateTime::now_utc());
    }

    fn failed_local(&self, err: &QuoteError) {
        let mut s = self.state();
        s.last_failure = Some(OffsetDateTime::now_utc());
        s.last_error = Some(err.to_string());
        if !err.is_provider_failure() {
            s.trial_started = None;
            return;
        }
        s.consecutive_failures += 1;
        if s.trial_started.is_some() || s.consecutive_failures >= self.threshold {
            s.open_until = Some(std::time::Instant::now() + self.cool_down);
            s.trial_started = None;
        }
    }

    fn circuit(&self) -> CircuitState {
        let s = self.state();
        match s.open_until {
            None => CircuitState::Closed,
            Some(until) if std::time::Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// What `/status` shows: the database's breaker and today's count when shared, else this
    /// instance's.
    async fn health(&self, kinds: Vec<AssetKind>) -> ProviderHealth {
        let limits = self.provider.limits();
        let mut health = {
            let circuit = self.circuit();
            let s = self.state();
            ProviderHealth {
                name: self.name(),
                kinds,
                circuit,
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
            if let Ok(Some(b)) = store.breaker(self.name()).await {
                health.circuit = match b.open_until {
                    None => CircuitState::Closed,
                    Some(until) if now < until => CircuitState::Open,
                    Some(_) => CircuitState::HalfOpen,
                };
                health.last_success = b.last_success;
                health.last_failure = b.last_failure;
                health.last_error = b.last_error;
            }
            if let Ok(n) = store.requests_today(self.name(), now).await {
                health.requests_today = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        health
    }
}

/// A std duration as a `time` one (saturating).
fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// Pages and the API ask this for prices.
#[derive(Clone)]
pub struct QuoteService {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Vec<Arc<Slot>>,
    chains: HashMap<AssetKind, Vec<Arc<Slot>>>,
    cache: moka::future::Cache<Key, Quote>,
    /// Recent failures (or the stale quote shown instead), kept for [`FAILURE_MEMORY`].
    failures: moka::future::Cache<Key, Result<Quote, QuoteError>>,
    history: moka::future::Cache<(AssetKey, HistoryRange), Vec<PricePoint>>,
    /// Exchange rates by pair (`EURUSD`); `None` remembered briefly when no service had one.
    fx: moka::future::Cache<String, Option<Decimal>>,
    /// The services asked for exchange rates, in order (`QUOTE_PROVIDERS_FX`).
    fx_chain: Vec<Arc<Slot>>,
    store: Option<Arc<dyn PriceStore>>,
    ttl: Duration,
    concurrency: usize,
}

impl QuoteService {
    /// `chains` names the providers to ask, in order, per kind and for exchange rates.
    /// Without a store nothing is recorded, there is no stale fallback, and limits are this
    /// instance's alone.
    pub fn new(
        providers: Vec<Arc<dyn QuoteProvider>>,
        chains: &Chains,
        store: Option<Arc<dyn PriceStore>>,
        settings: Settings,
    ) -> Self {
        let Settings {
            ttl, concurrency, ..
        } = settings;
        let shared = store.clone().filter(|_| settings.shared_limits);
        let slots: Vec<Arc<Slot>> = providers
            .into_iter()
            .map(|p| Arc::new(Slot::new(p, &settings, shared.clone())))
            .collect();
        let chain = |ids: &[ProviderId]| -> Vec<Arc<Slot>> {
            ids.iter()
                .filter_map(|id| slots.iter().find(|s| s.provider.id() == *id).cloned())
                .collect()
        };
        let kinds = chains
            .kinds
            .iter()
            .map(|(kind, ids)| (*kind, chain(ids)))
            .collect();
        let fx_chain = chain(&chains.fx);
        let cache = moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(ttl.max(Duration::from_secs(1)))
            .build();
        Self {
            inner: Arc::new(Inner {
                slots,
                chains: kinds,
                cache,
                failures: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(FAILURE_MEMORY.min(ttl).max(Duration::from_secs(1)))
                    .build(),
                history: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_secs(3600))
                    .build(),
                fx: moka::future::Cache::builder()
                    .max_capacity(1_000)
                    .time_to_live(ttl.max(Duration::from_secs(1)))
                    .build(),
                fx_chain,
                store,
                ttl,
                concurrency: concurrency.max(1),
            }),
        }
    }

    /// How many `to` one `from` buys (1 for the same currency): the `FROMTO=X` quote of the FX
    /// chain (Yahoo's code for a currency pair), cached for the quote TTL. `None` when no
    /// service has the pair (remembered for the same time, so a page does not wait on it
    /// again).
    pub async fn fx_rate(&self, from: &str, to: &str) -> Option<Decimal> {
        let (from, to) = (from.to_ascii_uppercase(), to.to_ascii_uppercase());
        if from == to {
            return Some(Decimal::ONE);
        }
        let pair = format!("{from}{to}");
        let code = format!("{pair}=X");
        let fetch = async {
            let symbol = Symbol::parse(&code).ok()?;
            for slot in &self.inner.fx_chain {
                if slot.admit(1).await.is_err() {
                    continue;
                }
                match call_with_retry(slot, &symbol, AssetKind::Stock).await {
                    Ok(quote) => {
                        // It answered (a trial, too, is settled), though a rate of zero is none.
                        slot.succeeded().await;
                        if quote.price > Decimal::ZERO {
                            return Some(quote.price);
                        }
                    }
                    Err(e) => slot.failed(&e).await,
                }
            }
            None
        };
        self.inner.fx.get_with(pair, fetch).await
    }

    /// The providers asked for a kind, in order.
    pub fn chain(&self, kind: AssetKind) -> Vec<&'static str> {
        self.inner
            .chains
            .get(&kind)
            .map(|c| c.iter().map(|s| s.provider.name()).collect())
            .unwrap_or_default()
    }

    /// The names of every configured provider.
    /// The services a quote of this kind is asked of, for messages ("tried: yahoo, iex").
    pub fn tried(&self, kind: AssetKind) -> Vec<String> {
        self.chain(kind).into_iter().map(str::to_string).collect()
    }

    pub fn provider_names(&self) -> Vec<String> {
        self.inner
            .slots
            .iter()
            .map(|s| s.provider.name().to_string())
            .collect()
    }

    /// Health of every configured provider, for `/status`.
    pub async fn health(&self) -> Vec<ProviderHealth> {
        let all = self.inner.slots.iter().map(|slot| {
            let kinds = AssetKind::ALL
                .into_iter()
                .filter(|k| {
                    self.inner
                        .chains
                        .get(k)
                        .is_some_and(|c| c.iter().any(|s| Arc::ptr_eq(s, slot)))
                })
                .collect();
            slot.health(kinds)
        });
        futures::future::join_all(all).await
    }

    /// One quote; see the module documentation for where it comes from.
    pub async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        self.quote_checking_store(symbol, kind, true).await
    }

    /// [`Self::quote`]; `check_store` false when the caller just found nothing fresh there.
    async fn quote_checking_store(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        check_store: bool,
    ) -> Result<Quote, QuoteError> {
        if !kind.is_market_priced() {
            return Err(QuoteError::NoProvider(kind));
        }
        let key = (symbol.clone(), kind);
        if let Some(outcome) = self.inner.failures.get(&key).await {
            return outcome;
        }
        let fetched = if check_store {
            self.inner
                .cache
                .try_get_with(key.clone(), self.fetch(key.clone()))
                .await
        } else {
            self.inner
                .cache
                .try_get_with(key.clone(), self.fetch_upstream(symbol, kind))
                .await
        };
        let err = match fetched {
            Ok(quote) => return Ok(quote),
            Err(err) => (*err).clone(),
        };
        let outcome = if matches!(err, QuoteError::NotFound(_) | QuoteError::NoProvider(_)) {
            Err(err)
        } else {
            match self.stored(symbol, kind).await {
                // Without the provider's own time, the fetch time still tells the price's age.
                Some((quote, age)) => Ok(Quote {
                    stale: true,
                    as_of: quote
                        .as_of
                        .or_else(|| Some(OffsetDateTime::now_utc() - age)),
                    ..quote
                }),
                None => Err(err),
            }
        };
        // Remember the failure (or the stale price) briefly, so pages shown while a provider
        // is down neither wait on it nor read the database for every row again.
        self.inner.failures.insert(key, outcome.clone()).await;
        outcome
    }

    /// Quotes for many assets: cached ones at once, then one batch request per provider that
    /// has a batch endpoint, then the rest concurrently (at most `QUOTE_CONCURRENCY` at a time).
    /// Assets without any price are absent from the map.
    pub async fn quotes(&self, assets: &[Key]) -> HashMap<Key, Quote> {
        let mut wanted: Vec<Key> = assets
            .iter()
            .filter(|(_, k)| k.is_market_priced())
            .cloned()
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for key in wanted {
            if let Some(q) = self.inner.cache.get(&key).await {
                metrics::counter!("quote_cache_total", "result" => "hit").increment(1);
                found.insert(key, q);
            } else if let Some(outcome) = self.inner.failures.get(&key).await {
                if let Ok(stale) = outcome {
                    found.insert(key, stale);
                }
            } else {
                missing.push(key);
            }
        }
        // Quotes another instance or the refresher stored recently need no upstream call.
        let stored =
            futures::future::join_all(missing.iter().map(|k| self.stored(&k.0, k.1))).await;
        let mut unstored = Vec::new();
        for (key, stored) in missing.into_iter().zip(stored) {
            match stored {
                Some((quote, age)) if age < self.inner.ttl / 2 => {
                    self.inner.cache.insert(key.clone(), quote.clone()).await;
                    found.insert(key, quote);
                }
                _ => unstored.push(key),
            }
        }
        let mut missing = unstored;
        metrics::counter!("quote_cache_total", "result" => "miss").increment(missing.len() as u64);
        let batched = self.batch(&missing).await;
        missing.retain(|k| !batched.contains_key(k));
        found.extend(batched);
        let rest: Vec<(Key, Quote)> = stream::iter(missing)
            .map(|key| async move {
                self.quote_checking_store(&key.0, key.1, false)
                    .await
                    .ok()
                    .map(|q| (key, q))
            })
            .buffer_unordered(self.inner.concurrency)
            .filter_map(|entry| async move { entry })
            .collect()
            .await;
        found.extend(rest);
        found
    }

    /// An item's price: the latest one its owner entered, dated that day.
    pub async fn item_quote(&self, key: &AssetKey) -> Option<Quote> {
        let store = self.inner.store.as_ref()?;
        let latest = store.prices(key, EARLIEST_PRICE_DATE).await.ok()?.pop()?;
        let mut quote = Quote::new(key.symbol.clone(), latest.close, "manual");
        quote.as_of = Some(latest.date.midnight().assume_utc());
        Some(quote)
    }

    /// Records a price an owner entered for an item.
    pub async fn add_manual_price(
        &self,
        key: &AssetKey,
        point: PricePoint,
    ) -> Result<(), StoreError> {
        match &self.inner.store {
            Some(store) => store.save_prices(key, &[point], "manual").await,
            None => Ok(()),
        }
    }

    /// Daily closes for the range: stored prices, filled from the first provider with history.
    pub async fn history(
        &self,
        asset: &AssetKey,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let today = OffsetDateTime::now_utc().date();
        let from = range.start(today);
        let stored = match &self.inner.store {
            Some(store) => store.prices(asset, from).await.unwrap_or_default(),
            None => Vec::new(),
        };
        // Items have only their owner's prices; a market asset with a stored series reaching
        // back to the range's start needs no upstream call.
        let covered = stored
            .first()
            .is_some_and(|p| p.date <= from + time::Duration::days(7));
        if !asset.kind.is_market_priced() || covered {
            return Ok(stored);
        }
        // A provider's series may start later than the range (a young listing, CoinGecko's one
        // year): remember what was fetched for a while instead of asking again on every view.
        let cache_key = (asset.clone(), range);
        if let Some(points) = self.inner.history.get(&cache_key).await {
            return Ok(merge(points, stored));
        }
        for slot in self.chain_for(&asset.symbol, asset.kind) {
            if slot.admit(1).await.is_err() {
                continue;
            }
            let answer = slot
                .provider
                .history(&asset.symbol, asset.kind, range)
                .await;
            count_call(slot.provider.name(), &answer);
            match answer {
                Ok(points) if !points.is_empty() => {
                    slot.succeeded().await;
                    if let Some(store) = &self.inner.store
                        && let Err(e) = store
                            .save_prices(asset, &points, slot.provider.name())
                            .await
                    {
                        tracing::warn!(error = %e, "could not store history");
                    }
                    self.inner.history.insert(cache_key, points.clone()).await;
                    return Ok(merge(points, stored));
                }
                Ok(_) => slot.succeeded().await,
                Err(e) => slot.failed(&e).await,
            }
        }
        Ok(stored)
    }

    fn chain_for(&self, symbol: &Symbol, kind: AssetKind) -> Vec<Arc<Slot>> {
        self.inner
            .chains
            .get(&kind)
            .map(|c| {
                c.iter()
                    .filter(|s| s.provider.supports(symbol, kind))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A stored quote younger than the TTL (another instance or the refresher fetched it), or
    /// the chain.
    async fn fetch(&self, key: Key) -> Result<Quote, QuoteError> {
        // Half the TTL, because the memory cache then keeps the quote for a whole TTL more.
        if let Some((quote, age)) = self.stored(&key.0, key.1).await
            && age < self.inner.ttl / 2
        {
            return Ok(quote);
        }
        self.fetch_upstream(&key.0, key.1).await
    }

    async fn fetch_upstream(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        let chain = self.chain_for(symbol, kind);
        if chain.is_empty() {
            let configured = self.inner.chains.get(&kind).is_some_and(|c| !c.is_empty());
            return Err(match (self.inner.slots.is_empty(), configured) {
                (true, _) => QuoteError::NotConfigured,
                (false, false) => QuoteError::NoProvider(kind),
                // Providers exist for the kind, but none has a code for this symbol.
                (false, true) => QuoteError::NotFound(symbol.to_string()),
            });
        }
        let mut outcome: Option<QuoteError> = None;
        for slot in chain {
            if let Err(reason) = slot.admit(1).await {
                let skipped = QuoteError::Unavailable {
                    provider: slot.provider.name().into(),
                    reason,
                };
                outcome = Some(worse(outcome, skipped));
                continue;
            }
            match call_with_retry(&slot, symbol, kind).await {
                Ok(quote) => {
                    slot.succeeded().await;
                    self.record(kind, &quote).await;
                    return Ok(quote);
                }
                Err(e) => {
                    slot.failed(&e).await;
                    outcome = Some(worse(outcome, e));
                }
            }
        }
        Err(outcome.unwrap_or(QuoteError::NotConfigured))
    }

    /// One request per batch-capable provider for the assets it is first in line for.
    async fn batch(&self, keys: &[Key]) -> HashMap<Key, Quote> {
        let mut groups: HashMap<&'static str, (Arc<Slot>, Vec<Key>)> = HashMap::new();
        for key in keys {
            if let Some(first) = self.chain_for(&key.0, key.1).into_iter().next()
                && first.provider.limits().batch_size > 1
            {
                groups
                    .entry(first.provider.name())
                    .or_insert_with(|| (first.clone(), Vec::new()))
                    .1
                    .push(key.clone());
            }
        }
        let mut found = HashMap::new();
        for (_, (slot, keys)) in groups {
            if keys.len() < 2 {
                continue;
            }
            for chunk in keys.chunks(slot.provider.limits().batch_size) {
                let cost = if slot.provider.limits().cost_per_symbol {
                    chunk.len()
                } else {
                    1
                };
                if slot
                    .admit(u32::try_from(cost).unwrap_or(u32::MAX))
                    .await
                    .is_err()
                {
                    break;
                }
                let answer = slot.provider.quotes(chunk).await;
                count_call(slot.provider.name(), &answer);
                match answer {
                    Ok(quotes) => {
                        slot.succeeded().await;
                        for quote in quotes {
                            let Some(key) = chunk.iter().find(|k| k.0 == quote.symbol).cloned()
                            else {
                                continue;
                            };
                            self.record(key.1, &quote).await;
                            self.inner.cache.insert(key.clone(), quote.clone()).await;
                            found.insert(key, quote);
                        }
                    }
                    Err(e) => slot.failed(&e).await,
                }
            }
        }
        found
    }

    /// Stores a fetched quote in the background: the page that asked need not wait for the
    /// write, and writes to SQLite would otherwise queue behind each other on a cold page.
    async fn record(&self, kind: AssetKind, quote: &Quote) {
        let Some(store) = self.inner.store.clone() else {
            return;
        };
        let quote = quote.clone();
        let fetched_at = OffsetDateTime::now_utc();
        tokio::spawn(async move {
            if let Err(e) = store.save_quote(kind, &quote, fetched_at).await {
                tracing::warn!(error = %e, symbol = %quote.symbol, "could not store a quote");
            }
        });
    }

    /// The stored quote and its age.
    async fn stored(&self, symbol: &Symbol, kind: AssetKind) -> Option<(Quote, Duration)> {
        let store = self.inner.store.as_ref()?;
        let stored = store.latest_quote(symbol, kind).await.ok()??;
        let age = (OffsetDateTime::now_utc() - stored.fetched_at)
            .try_into()
            .unwrap_or(Duration::ZERO);
        Some((stored.quote, age))
    }

    /// Refreshes held assets whose quote is older than the TTL, claiming them in the database
    /// first so several instances never fetch the same one. Returns how many were refreshed.
    pub async fn refresh_held(&self, limit: i64) -> usize {
        let Some(store) = &self.inner.store else {
            return 0;
        };
        let now = OffsetDateTime::now_utc();
        // Long enough for a pass to finish before another instance may take the same assets;
        // a crashed instance's claims lapse after it.
        let claim_until = now + self.inner.ttl.max(Duration::from_secs(300));
        let stale_before = now - self.inner.ttl;
        let claimed = match store
            .claim_for_refresh(stale_before, claim_until, limit)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim assets to refresh");
                return 0;
            }
        };
        let batched = self.batch(&claimed).await;
        let rest: Vec<Key> = claimed
            .into_iter()
            .filter(|k| !batched.contains_key(k))
            .collect();
        let mut refreshed = batched.len();
        for (symbol, kind) in rest {
            // Only the first provider in line: the refresher must not spend the scarce budgets
            // of the keyed fallbacks, which page views may need.
            let Some(slot) = self.chain_for(&symbol, kind).into_iter().next() else {
                continue;
            };
            if slot.admit(1).await.is_err() {
                continue;
            }
            let answer = slot.provider.quote(&symbol, kind).await;
            count_call(slot.provider.name(), &answer);
            match answer {
                Ok(quote) => {
                    slot.succeeded().await;
                    self.record(kind, &quote).await;
                    self.inner.cache.insert((symbol, kind), quote).await;
                    refreshed += 1;
                }
                Err(e) => slot.failed(&e).await,
            }
        }
        refreshed
    }
}

/// Keeps the more telling of two failures: a provider failure over "unknown symbol", since
/// another provider's outage says nothing about whether the symbol exists.
fn worse(current: Option<QuoteError>, new: QuoteError) -> QuoteError {
    match current {
        Some(e) if e.is_provider_failure() => e,
        _ => new,
    }
}

/// One request; when the provider throttles it with a `Retry-After` short enough to wait for
/// inside a page request, retried once after it plus jitter (and within the budget). Other
/// failures fall through to the next provider at once: a timeout retried would double the wait.
/// Counts an upstream call by provider and outcome.
fn count_call(provider: &'static str, outcome: &Result<impl Sized, QuoteError>) {
    let outcome = match outcome {
        Ok(_) => "ok",
        Err(QuoteError::NotFound(_)) => "not_found",
        Err(QuoteError::Throttled { .. }) => "throttled",
        Err(_) => "error",
    };
    metrics::counter!("upstream_requests_total", "provider" => provider, "outcome" => outcome)
        .increment(1);
}

async fn call_with_retry(
    slot: &Slot,
    symbol: &Symbol,
    kind: AssetKind,
) -> Result<Quote, QuoteError> {
    let first = slot.provider.quote(symbol, kind).await;
    count_call(slot.provider.name(), &first);
    match first {
        // Without a Retry-After (a daily limit inside a 200, say) waiting would not help.
        Err(QuoteError::Throttled {
            retry_after: Some(wait),
            provider,
        }) if wait <= MAX_RETRY_WAIT => {
            tokio::time::sleep(wait + jitter()).await;
            if slot.admit(1).await.is_err() {
                return Err(QuoteError::Throttled {
                    retry_after: Some(wait),
                    provider,
                });
            }
            let second = slot.provider.quote(symbol, kind).await;
            count_call(slot.provider.name(), &second);
            second
        }
        other => other,
    }
}

/// Up to 100 ms, so retries from many requests do not arrive together.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos % 100))
}

/// Provider history with stored prices (manual or earlier) for the days it lacks, oldest first.
fn merge(mut fetched: Vec<PricePoint>, stored: Vec<PricePoint>) -> Vec<PricePoint> {
    for p in stored {
        if !fetched.iter().any(|f| f.date == p.date) {
            fetched.push(p);
        }
    }
    fetched.sort_by_key(|p| p.date);
    fetched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Limits;
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

    fn slot(threshold: u32, cool_down_ms: u64) -> Slot {
        let settings = Settings {
            breaker_threshold: threshold,
            breaker_cool_down: Duration::from_millis(cool_down_ms),
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
    fn a_trial_whose_caller_vanished_blocks_others_for_one_cool_down_only() {
        let s = slot(1, 40);
        assert!(s.admit_local(1).is_ok());
        s.failed_local(&outage());
        assert_eq!(s.circuit(), CircuitState::Open);
        assert!(s.admit_local(1).is_err(), "open");
        std::thread::sleep(Duration::from_millis(50));
        assert!(s.admit_local(1).is_ok(), "half-open: one trial");
        // The trial's request is dropped without reporting back.
        assert!(s.admit_local(1).is_err(), "the trial is still in flight");
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            s.admit_local(1).is_ok(),
            "a vanished trial does not block for ever"
        );
        s.succeeded_local();
        assert_eq!(s.circuit(), CircuitState::Closed);
    }

    #[test]
    fn budgets_count_requests_and_batch_credits() {
        let s = slot(5, 1000);
        assert!(s.admit_local(2).is_ok());
        assert!(s.admit_local(1).is_ok());
        assert_eq!(
            s.admit_local(1).unwrap_err(),
            "per-minute request budget used up"
        );
        assert_eq!(s.state().requests_today, 3);
        let unknown = QuoteError::NotFound("X".into());
        s.failed_local(&unknown);
        assert_eq!(
            s.circuit(),
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
