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
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{HistoryRange, PricePoint, Quote, QuoteError, QuoteProvider};
use crate::domain::{AssetKind, Symbol};
use crate::store::{AssetKey, Store};

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ttl: Duration::from_secs(60),
            concurrency: 32,
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(60),
        }
    }
}
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
    trial_in_flight: bool,
    last_success: Option<OffsetDateTime>,
    last_failure: Option<OffsetDateTime>,
    last_error: Option<String>,
    day: Option<Date>,
    requests_today: u32,
}

/// A provider with its breaker, limits and counters.
struct Slot {
    provider: Arc<dyn QuoteProvider>,
    per_minute: Option<DefaultDirectRateLimiter>,
    state: Mutex<SlotState>,
    threshold: u32,
    cool_down: Duration,
}

impl Slot {
    fn new(provider: Arc<dyn QuoteProvider>, settings: &Settings) -> Self {
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
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // A poisoned lock only means another request panicked mid-update; the counters are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes permission for one request: circuit closed (or a half-open trial), and inside the
    /// per-minute and per-day budgets. Says why not otherwise.
    fn admit(&self) -> Result<(), String> {
        let mut s = self.state();
        if let Some(until) = s.open_until {
            if std::time::Instant::now() < until {
                return Err("circuit open".into());
            }
            if s.trial_in_flight {
                return Err("circuit half-open, trial in flight".into());
            }
            s.trial_in_flight = true;
        }
        let today = OffsetDateTime::now_utc().date();
        if s.day != Some(today) {
            s.day = Some(today);
            s.requests_today = 0;
        }
        if let Some(limit) = self.provider.limits().per_day
            && s.requests_today >= limit
        {
            s.trial_in_flight = false;
            return Err("daily request budget used up".into());
        }
        if let Some(limiter) = &self.per_minute
            && limiter.check().is_err()
        {
            s.trial_in_flight = false;
            return Err("per-minute request budget used up".into());
        }
        s.requests_today += 1;
        Ok(())
    }

    fn succeeded(&self) {
        let mut s = self.state();
        s.consecutive_failures = 0;
        s.open_until = None;
        s.trial_in_flight = false;
        s.last_success = Some(OffsetDateTime::now_utc());
    }

    fn failed(&self, err: &QuoteError) {
        let mut s = self.state();
        s.last_failure = Some(OffsetDateTime::now_utc());
        s.last_error = Some(err.to_string());
        if !err.is_provider_failure() {
            s.trial_in_flight = false;
            return;
        }
        s.consecutive_failures += 1;
        if s.trial_in_flight || s.consecutive_failures >= self.threshold {
            s.open_until = Some(std::time::Instant::now() + self.cool_down);
            s.trial_in_flight = false;
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
    store: Option<Arc<dyn Store>>,
    ttl: Duration,
    concurrency: usize,
}

impl QuoteService {
    /// `chains` names, per kind, the providers to ask in order (by `QuoteProvider::name`).
    /// Without a store nothing is recorded and there is no stale fallback.
    pub fn new(
        providers: Vec<Arc<dyn QuoteProvider>>,
        chains: &HashMap<AssetKind, Vec<String>>,
        store: Option<Arc<dyn Store>>,
        settings: Settings,
    ) -> Self {
        let Settings {
            ttl, concurrency, ..
        } = settings;
        let slots: Vec<Arc<Slot>> = providers
            .into_iter()
            .map(|p| Arc::new(Slot::new(p, &settings)))
            .collect();
        let chains = chains
            .iter()
            .map(|(kind, names)| {
                let chain = names
                    .iter()
                    .filter_map(|n| slots.iter().find(|s| s.provider.name() == n).cloned())
                    .collect();
                (*kind, chain)
            })
            .collect();
        let cache = moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(ttl.max(Duration::from_secs(1)))
            .build();
        Self {
            inner: Arc::new(Inner {
                slots,
                chains,
                cache,
                store,
                ttl,
                concurrency: concurrency.max(1),
            }),
        }
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
    pub fn provider_names(&self) -> Vec<String> {
        self.inner
            .slots
            .iter()
            .map(|s| s.provider.name().to_string())
            .collect()
    }

    /// Health of every configured provider, for `/status`.
    pub fn health(&self) -> Vec<ProviderHealth> {
        self.inner
            .slots
            .iter()
            .map(|slot| {
                let kinds = AssetKind::ALL
                    .into_iter()
                    .filter(|k| {
                        self.inner
                            .chains
                            .get(k)
                            .is_some_and(|c| c.iter().any(|s| Arc::ptr_eq(s, slot)))
                    })
                    .collect();
                let circuit = slot.circuit();
                let s = slot.state();
                let limits = slot.provider.limits();
                ProviderHealth {
                    name: slot.provider.name(),
                    kinds,
                    circuit,
                    last_success: s.last_success,
                    last_failure: s.last_failure,
                    last_error: s.last_error.clone(),
                    requests_today: s.requests_today,
                    per_minute: limits.per_minute,
                    per_day: limits.per_day,
                }
            })
            .collect()
    }

    /// One quote; see the module documentation for where it comes from.
    pub async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        if !kind.is_market_priced() {
            return Err(QuoteError::NoProvider(kind));
        }
        let key = (symbol.clone(), kind);
        let fetched = self
            .inner
            .cache
            .try_get_with(key.clone(), self.fetch(key))
            .await;
        match fetched {
            Ok(quote) => Ok(quote),
            Err(err) => {
                let err = (*err).clone();
                if matches!(err, QuoteError::NotFound(_) | QuoteError::NoProvider(_)) {
                    return Err(err);
                }
                match self.stored(symbol, kind).await {
                    Some(stored) => Ok(Quote {
                        stale: true,
                        ..stored.0
                    }),
                    None => Err(err),
                }
            }
        }
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
            match self.inner.cache.get(&key).await {
                Some(q) => {
                    found.insert(key, q);
                }
                None => missing.push(key),
            }
        }
        let batched = self.batch(&missing).await;
        missing.retain(|k| !batched.contains_key(k));
        found.extend(batched);
        let rest: Vec<(Key, Quote)> = stream::iter(missing)
            .map(|key| async move { self.quote(&key.0, key.1).await.ok().map(|q| (key, q)) })
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
        let latest = store.prices(key, Date::MIN).await.ok()?.pop()?;
        let mut quote = Quote::new(key.symbol.clone(), latest.close, "manual");
        quote.as_of = Some(latest.date.midnight().assume_utc());
        Some(quote)
    }

    /// Records a price an owner entered for an item.
    pub async fn add_manual_price(
        &self,
        key: &AssetKey,
        point: PricePoint,
    ) -> Result<(), crate::store::StoreError> {
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
        for slot in self.chain_for(&asset.symbol, asset.kind) {
            if slot.admit().is_err() {
                continue;
            }
            match slot
                .provider
                .history(&asset.symbol, asset.kind, range)
                .await
            {
                Ok(points) if !points.is_empty() => {
                    slot.succeeded();
                    if let Some(store) = &self.inner.store
                        && let Err(e) = store
                            .save_prices(asset, &points, slot.provider.name())
                            .await
                    {
                        tracing::warn!(error = %e, "could not store history");
                    }
                    return Ok(merge(points, stored));
                }
                Ok(_) => slot.succeeded(),
                Err(e) => slot.failed(&e),
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
        if let Some((quote, age)) = self.stored(&key.0, key.1).await
            && age < self.inner.ttl
        {
            return Ok(quote);
        }
        self.fetch_upstream(&key.0, key.1).await
    }

    async fn fetch_upstream(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        let chain = self.chain_for(symbol, kind);
        if chain.is_empty() {
            return Err(if self.inner.slots.is_empty() {
                QuoteError::NotConfigured
            } else {
                QuoteError::NotFound(symbol.to_string())
            });
        }
        let mut outcome: Option<QuoteError> = None;
        for slot in chain {
            if let Err(reason) = slot.admit() {
                let skipped = QuoteError::Unavailable {
                    provider: slot.provider.name().into(),
                    reason,
                };
                outcome = Some(worse(outcome, skipped));
                continue;
            }
            match call_with_retry(&slot, symbol, kind).await {
                Ok(quote) => {
                    slot.succeeded();
                    self.record(kind, &quote).await;
                    return Ok(quote);
                }
                Err(e) => {
                    slot.failed(&e);
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
                if slot.admit().is_err() {
                    break;
                }
                match slot.provider.quotes(chunk).await {
                    Ok(quotes) => {
                        slot.succeeded();
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
                    Err(e) => slot.failed(&e),
                }
            }
        }
        found
    }

    async fn record(&self, kind: AssetKind, quote: &Quote) {
        if let Some(store) = &self.inner.store
            && let Err(e) = store
                .save_quote(kind, quote, OffsetDateTime::now_utc())
                .await
        {
            tracing::warn!(error = %e, symbol = %quote.symbol, "could not store a quote");
        }
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
        let claim_until = now + self.inner.ttl;
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
            if let Ok(quote) = self.fetch_upstream(&symbol, kind).await {
                self.inner.cache.insert((symbol, kind), quote).await;
                refreshed += 1;
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

/// One request; when the provider throttles it, retried once after its `Retry-After` (or a
/// short pause) plus jitter, if that is short enough to wait for inside a page request. Other
/// failures fall through to the next provider at once: a timeout retried would double the wait.
async fn call_with_retry(
    slot: &Slot,
    symbol: &Symbol,
    kind: AssetKind,
) -> Result<Quote, QuoteError> {
    match slot.provider.quote(symbol, kind).await {
        Err(QuoteError::Throttled {
            retry_after,
            provider,
        }) => {
            let wait = retry_after.unwrap_or(Duration::from_millis(250));
            if wait > MAX_RETRY_WAIT {
                return Err(QuoteError::Throttled {
                    retry_after,
                    provider,
                });
            }
            tokio::time::sleep(wait + jitter()).await;
            slot.provider.quote(symbol, kind).await
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
