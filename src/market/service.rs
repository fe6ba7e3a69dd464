//! The service pages and the API ask for prices.
//!
//! Reads never wait on a price service when a price is known: this instance's memory, else the
//! database (another instance or the background refresh may have stored it), gives the last
//! price at once, marked stale once it is older than the TTL (`QUOTE_TTL_SECS`), and a
//! background fetch brings a fresh one for the next view. Only an asset with no price at all
//! (and a single lookup whose price is stale) waits for the services, and at most for the
//! deadline (`QUOTE_PAGE_DEADLINE_MS`); what comes later is stored for the next view.
//!
//! A fetch walks each asset's chain of services, first answer wins. Assets first in line at a
//! service with a batch endpoint go to it in one request; when that request fails, the whole
//! batch moves to the next service in the chain, never one request per asset to the one that
//! just failed. Everyone asking for one asset meanwhile waits for the same fetch (single
//! flight), across pages, the API and the refresher. Every fetched quote is stored, in the
//! major unit of its currency.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use rust_decimal::Decimal;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::registry::{Chains, ProviderId};
use super::slot::{CIRCUIT_OPEN, Op, Slot};
use super::{QuoteError, QuoteProvider};
use crate::domain::{
    AssetKey, AssetKind, EARLIEST_PRICE_DATE, HistoryRange, PricePoint, Quote, Symbol,
};
use crate::store::{PriceStore, StoreError};

pub use super::slot::{CircuitState, ProviderHealth};

/// How the service caches, paces and guards its providers.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a fetched quote counts as fresh.
    pub ttl: Duration,
    /// Most upstream requests in flight at once for one fetch.
    pub concurrency: usize,
    /// Failures in a row that open a provider's circuit.
    pub breaker_threshold: u32,
    /// The pause before the first trial request to a provider whose circuit opened.
    pub breaker_first_pause: Duration,
    /// The longest pause between trial requests (each failed trial doubles the pause).
    pub breaker_cool_down: Duration,
    /// Keep request budgets and breakers in the database, so every instance on it keeps to
    /// one provider's limits together (PostgreSQL); otherwise each instance counts alone.
    pub shared_limits: bool,
    /// The longest a read waits for a price it has none of (or a fresh one for a single lookup).
    pub deadline: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ttl: Duration::from_secs(60),
            concurrency: 64,
            breaker_threshold: 5,
            breaker_first_pause: Duration::from_secs(2),
            breaker_cool_down: Duration::from_secs(10),
            shared_limits: false,
            deadline: Duration::from_millis(800),
        }
    }
}

/// How long a failed fetch is remembered before its providers are asked again for that asset.
const FAILURE_MEMORY: Duration = Duration::from_secs(15);
/// The longest `Retry-After` worth waiting for before asking again; longer skips the provider.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);
/// How long adding a holding or an import check waits for a provider to say whether a symbol
/// exists (they need an answer, not a fast one).
const CHECK_WAIT: Duration = Duration::from_secs(15);
/// How long the probe waits at least between looks at a circuit (another instance may hold
/// the trial).
const PROBE_POLL: Duration = Duration::from_millis(250);

type Key = (Symbol, AssetKind);

/// What a fetch in flight ends with; `None` until then.
type Outcome = Option<Result<Quote, QuoteError>>;

/// Where a service's answers for single assets go, one by one.
type Answers = futures::channel::mpsc::UnboundedSender<(Key, Result<Quote, QuoteError>)>;

/// Pages and the API ask this for prices.
#[derive(Clone)]
pub struct QuoteService {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Vec<Arc<Slot>>,
    chains: HashMap<AssetKind, Vec<Arc<Slot>>>,
    /// The services asked for exchange rates, in order (`QUOTE_PROVIDERS_FX`).
    fx_chain: Vec<Arc<Slot>>,
    /// The latest quote of each asset this instance has, fresh or not (`fetched_at` set).
    known: moka::future::Cache<Key, Quote>,
    /// Assets whose last fetch failed, and why, for [`FAILURE_MEMORY`].
    failures: moka::future::Cache<Key, QuoteError>,
    /// Fetches in flight: whoever wants one of these assets waits for that fetch.
    inflight: Mutex<HashMap<Key, watch::Receiver<Outcome>>>,
    history: moka::future::Cache<(AssetKey, HistoryRange), Vec<PricePoint>>,
    store: Option<Arc<dyn PriceStore>>,
    ttl: Duration,
    concurrency: usize,
    deadline: Duration,
    /// Counts every change to the quotes known, so a page built from them can be reused
    /// until it moves.
    generation: AtomicU64,
}

impl QuoteService {
    /// `chains` names the providers to ask, in order, per kind and for exchange rates.
    /// Without a store nothing is recorded, there is no stored price to fall back on, and
    /// limits are this instance's alone.
    pub fn new(
        providers: Vec<Arc<dyn QuoteProvider>>,
        chains: &Chains,
        store: Option<Arc<dyn PriceStore>>,
        settings: Settings,
    ) -> Self {
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
        Self {
            inner: Arc::new(Inner {
                slots,
                chains: kinds,
                fx_chain,
                known: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(Duration::from_secs(24 * 3600))
                    .build(),
                failures: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(FAILURE_MEMORY.min(settings.ttl).max(Duration::from_secs(1)))
                    .build(),
                inflight: Mutex::new(HashMap::new()),
                history: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_secs(3600))
                    .build(),
                store,
                ttl: settings.ttl,
                concurrency: settings.concurrency.max(1),
                deadline: settings.deadline,
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// Whether any service is configured for exchange rates.
    pub fn has_fx_service(&self) -> bool {
        !self.inner.fx_chain.is_empty()
    }

    /// How many `to` one `from` buys (1 for the same currency): the `FROMTO=X` quote of the FX
    /// chain (Yahoo's code for a currency pair), read like any price (the last rate at once,
    /// refreshed in the background). `None` when no service has the pair.
    pub async fn fx_rate(&self, from: &str, to: &str) -> Option<Decimal> {
        let (from, to) = (from.to_ascii_uppercase(), to.to_ascii_uppercase());
        if from == to {
            return Some(Decimal::ONE);
        }
        if self.inner.fx_chain.is_empty() {
            return None;
        }
        let key = (
            Symbol::parse(&format!("{from}{to}=X")).ok()?,
            AssetKind::Stock,
        );
        let mut found = self.quotes(std::slice::from_ref(&key)).await;
        found.remove(&key).map(|q| q.price)
    }

    /// The providers asked for a kind, in order.
    pub fn chain(&self, kind: AssetKind) -> Vec<&'static str> {
        self.inner
            .chains
            .get(&kind)
            .map(|c| c.iter().map(|s| s.provider.name()).collect())
            .unwrap_or_default()
    }

    /// The services a quote of this kind is asked of, for messages ("tried: yahoo, iex").
    pub fn tried(&self, kind: AssetKind) -> Vec<String> {
        self.chain(kind).into_iter().map(str::to_string).collect()
    }

    /// The names of every configured provider.
    pub fn provider_names(&self) -> Vec<String> {
        self.inner
            .slots
            .iter()
            .map(|s| s.provider.name().to_string())
            .collect()
    }

    /// Changes with every quote this instance learns: a view built from quotes read at one
    /// generation is still current while it stays the same (and no quote has gone stale).
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Relaxed)
    }

    /// Whether a fetch of this asset's price is under way (a page without its price can say
    /// it is loading).
    pub fn is_fetching(&self, symbol: &Symbol, kind: AssetKind) -> bool {
        let inflight = self
            .inner
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        inflight.contains_key(&(symbol.clone(), kind))
    }

    /// The longest a read waits for the price services (`QUOTE_PAGE_DEADLINE_MS`).
    pub fn deadline(&self) -> Duration {
        self.inner.deadline
    }

    /// How long a quote counts as fresh.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
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

    /// One quote for a page or the API: a fresh one at once when known; else the services are
    /// asked and waited for up to the deadline, after which the last price is shown marked
    /// stale ([`QuoteError::Pending`] when there is none yet).
    pub async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        self.inner.look_up(symbol, kind, self.inner.deadline).await
    }

    /// [`Self::quote`] for a change that needs to know whether the symbol exists (adding a
    /// holding, checking an import): waits for the services' answer rather than the deadline.
    pub async fn quote_to_check(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> Result<Quote, QuoteError> {
        self.inner.look_up(symbol, kind, CHECK_WAIT).await
    }

    /// Quotes for many assets: known ones at once (stale ones refreshed in the background),
    /// the rest fetched together and waited for up to the deadline. Assets without any price
    /// by then are absent from the map.
    pub async fn quotes(&self, assets: &[Key]) -> HashMap<Key, Quote> {
        self.inner.read(assets).await
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

    /// Daily closes for the range: stored prices, filled from the first provider with history;
    /// says so when every provider asked failed.
    pub async fn history(&self, asset: &AssetKey, range: HistoryRange) -> History {
        self.inner.history(asset, range).await
    }

    /// Refreshes held assets whose quote is older than the TTL, claiming them in the database
    /// first so several instances never fetch the same one, and asking only the first service
    /// in each chain (the refresher must not spend the scarce budgets of the keyed fallbacks,
    /// which page views may need). Returns how many were refreshed.
    pub async fn refresh_held(&self, limit: i64) -> usize {
        let inner = &self.inner;
        let Some(store) = &inner.store else {
            return 0;
        };
        let now = OffsetDateTime::now_utc();
        // Long enough for a pass to finish before another instance may take the same assets;
        // a crashed instance's claims lapse after it.
        let claim_until = now + inner.ttl.max(Duration::from_secs(300));
        let claimed = match store
            .claim_for_refresh(now - inner.ttl, claim_until, limit)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim assets to refresh");
                return 0;
            }
        };
        let waits = inner.start(claimed, 1);
        let outcomes = futures::future::join_all(waits.into_values().map(|rx| answer(rx, None)));
        outcomes
            .await
            .into_iter()
            .filter(|o| matches!(o, Some(Ok(_))))
            .count()
    }
}

impl Inner {
    /// See [`QuoteService::quote`]; `wait` is how long the services are waited for.
    async fn look_up(
        self: &Arc<Self>,
        symbol: &Symbol,
        kind: AssetKind,
        wait: Duration,
    ) -> Result<Quote, QuoteError> {
        if !kind.is_market_priced() {
            return Err(QuoteError::NoProvider(kind));
        }
        let key = (symbol.clone(), kind);
        if self.chain_for(&key).is_empty() {
            return Err(self.no_chain(&key));
        }
        let now = OffsetDateTime::now_utc();
        let mut known = self.known.get(&key).await;
        if known.as_ref().is_none_or(|q| self.is_stale(q, now)) {
            // Another instance, or the refresher, may have stored a fresher one.
            if let Some(stored) = self.stored(&key).await
                && known
                    .as_ref()
                    .is_none_or(|k| k.fetched_at < stored.fetched_at)
            {
                self.remember(&key, stored.clone()).await;
                known = Some(stored);
            }
        }
        let known = known.map(|q| self.judged(q, now));
        if let Some(q) = known.as_ref().filter(|q| !q.stale) {
            return Ok(q.clone());
        }
        if let Some(err) = self.failures.get(&key).await {
            return known.ok_or(err);
        }
        let rx = self.start(vec![key.clone()], usize::MAX).remove(&key);
        let outcome = match rx {
            Some(rx) => answer(rx, Some(wait)).await,
            None => None,
        };
        match outcome {
            Some(Ok(quote)) => Ok(quote),
            Some(Err(e)) if !e.is_provider_failure() && e != QuoteError::Pending => Err(e),
            Some(Err(e)) => known.ok_or(e),
            None => known.ok_or(QuoteError::Pending),
        }
    }

    /// See [`QuoteService::quotes`].
    async fn read(self: &Arc<Self>, assets: &[Key]) -> HashMap<Key, Quote> {
        let mut wanted: Vec<Key> = assets
            .iter()
            .filter(|(_, k)| k.is_market_priced())
            .cloned()
            .collect();
        wanted.sort();
        wanted.dedup();
        let now = OffsetDateTime::now_utc();
        let mut found = HashMap::with_capacity(wanted.len());
        let mut stale = Vec::new();
        let mut unknown = Vec::new();
        for key in wanted {
            match self.known.get(&key).await {
                Some(q) => {
                    let q = self.judged(q, now);
                    if q.stale {
                        stale.push(key.clone());
                    }
                    found.insert(key, q);
                }
                None => unknown.push(key),
            }
        }
        metrics::counter!("quote_cache_total", "result" => "hit")
            .increment((found.len() - stale.len()) as u64);
        // Quotes stored by another instance, the refresher, or before a restart.
        let stored = futures::future::join_all(unknown.iter().map(|k| self.stored(k))).await;
        let mut missing = Vec::new();
        for (key, stored) in unknown.into_iter().zip(stored) {
            match stored {
                Some(q) => {
                    self.remember(&key, q.clone()).await;
                    let q = self.judged(q, now);
                    if q.stale {
                        stale.push(key.clone());
                    }
                    found.insert(key, q);
                }
                None => missing.push(key),
            }
        }
        // Those that failed lately are not asked again yet.
        let mut ask = Vec::with_capacity(stale.len() + missing.len());
        for key in stale.into_iter().chain(missing.iter().cloned()) {
            if !self.failures.contains_key(&key) {
                ask.push(key);
            }
        }
        metrics::counter!("quote_cache_total", "result" => "miss").increment(ask.len() as u64);
        if ask.is_empty() {
            return found;
        }
        let mut waits = self.start(ask, usize::MAX);
        let deadline = tokio::time::Instant::now() + self.deadline;
        let pending: Vec<_> = missing
            .into_iter()
            .filter_map(|key| Some((waits.remove(&key)?, key)))
            .collect();
        let answers = futures::future::join_all(
            pending
                .into_iter()
                .map(|(rx, key)| async move { (key, answer_by(rx, deadline).await) }),
        )
        .await;
        for (key, outcome) in answers {
            if let Some(Ok(quote)) = outcome {
                found.insert(key, quote);
            }
        }
        found
    }

    /// True once a quote is older than the TTL (or its fetch time is unknown).
    fn is_stale(&self, quote: &Quote, now: OffsetDateTime) -> bool {
        quote
            .fetched_at
            .is_none_or(|t| now - t >= super::slot::to_time(self.ttl))
    }

    /// The quote as a reader gets it: marked stale when it is.
    fn judged(&self, mut quote: Quote, now: OffsetDateTime) -> Quote {
        quote.stale = self.is_stale(&quote, now);
        quote
    }

    async fn remember(&self, key: &Key, quote: Quote) {
        self.known.insert(key.clone(), quote).await;
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The stored quote, with the time it was fetched.
    async fn stored(&self, key: &Key) -> Option<Quote> {
        let store = self.store.as_ref()?;
        let stored = store.latest_quote(&key.0, key.1).await.ok()??;
        Some(Quote {
            fetched_at: Some(stored.fetched_at),
            ..stored.quote
        })
    }

    /// The services an asset is asked of, in order: the kind's chain (those that have a code
    /// for the symbol), or for a currency pair (`EURUSD=X`) the exchange-rate chain.
    fn chain_for(&self, key: &Key) -> Vec<Arc<Slot>> {
        let (symbol, kind) = key;
        if *kind == AssetKind::Stock && is_currency_pair(symbol) && !self.fx_chain.is_empty() {
            return self.fx_chain.clone();
        }
        self.chains
            .get(kind)
            .map(|c| {
                c.iter()
                    .filter(|s| s.provider.supports(symbol, *kind))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Why an asset with no service to ask has no price.
    fn no_chain(&self, key: &Key) -> QuoteError {
        let configured = self.chains.get(&key.1).is_some_and(|c| !c.is_empty());
        match (self.slots.is_empty(), configured) {
            (true, _) => QuoteError::NotConfigured,
            (false, false) => QuoteError::NoProvider(key.1),
            // Providers exist for the kind, but none has a code for this symbol.
            (false, true) => QuoteError::NotFound(key.0.to_string()),
        }
    }

    /// Starts fetching `keys` (asking at most the first `depth` services of each chain), or
    /// joins the fetch already in flight for those being fetched, and returns where each
    /// answer will arrive.
    fn start(
        self: &Arc<Self>,
        keys: Vec<Key>,
        depth: usize,
    ) -> HashMap<Key, watch::Receiver<Outcome>> {
        let mut waits = HashMap::with_capacity(keys.len());
        let mut mine = HashMap::new();
        {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            for key in keys {
                if let Some(rx) = inflight.get(&key) {
                    waits.insert(key, rx.clone());
                    continue;
                }
                let (tx, rx) = watch::channel(None);
                inflight.insert(key.clone(), rx.clone());
                waits.insert(key.clone(), rx);
                mine.insert(key, tx);
            }
        }
        if !mine.is_empty() {
            let fetch = Fetch {
                inner: self.clone(),
                senders: mine,
            };
            tokio::spawn(fetch.run(depth));
        }
        waits
    }

    /// A quote a service answered: in the major unit, stamped, stored, and known.
    async fn accept(&self, key: &Key, quote: Quote) -> Quote {
        let quote = Quote {
            fetched_at: Some(OffsetDateTime::now_utc()),
            stale: false,
            ..quote.in_major_units()
        };
        self.record(key.1, &quote);
        self.failures.invalidate(key).await;
        self.remember(key, quote.clone()).await;
        quote
    }

    /// Stores a fetched quote in the background: nobody need wait for the write, and writes
    /// to SQLite would otherwise queue behind each other on a cold page.
    fn record(&self, kind: AssetKind, quote: &Quote) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let quote = quote.clone();
        let fetched_at = quote.fetched_at.unwrap_or_else(OffsetDateTime::now_utc);
        tokio::spawn(async move {
            if let Err(e) = store.save_quote(kind, &quote, fetched_at).await {
                tracing::warn!(error = %e, symbol = %quote.symbol, "could not store a quote");
            }
        });
    }

    /// Asks one service for a group of assets first in line at it: in batches when it has a
    /// batch endpoint (a failed batch fails all its assets here, to go to the next service),
    /// else one request each, concurrently. Assets a batch leaves out are asked alone. Each
    /// answer goes to `out` as soon as it is known.
    async fn ask(self: &Arc<Self>, slot: Arc<Slot>, keys: Vec<Key>, out: Answers) {
        let limits = slot.provider.limits();
        if keys.len() < 2 || limits.batch_size < 2 {
            return self.ask_each(&slot, keys, out).await;
        }
        let send = |key: &Key, answer: Result<Quote, QuoteError>| {
            // The fetch stops listening only when it is gone; nothing is left to tell then.
            let _ = out.unbounded_send((key.clone(), answer));
        };
        let mut alone = Vec::new();
        for chunk in keys.chunks(limits.batch_size) {
            let cost = if limits.cost_per_symbol {
                chunk.len()
            } else {
                1
            };
            if let Err(reason) = slot
                .admit(Op::Quote, u32::try_from(cost).unwrap_or(u32::MAX))
                .await
            {
                self.watch_circuit(&slot, &chunk[0], &reason);
                let e = unavailable(&slot, reason);
                chunk.iter().for_each(|k| send(k, Err(e.clone())));
                continue;
            }
            let answer = slot.provider.quotes(chunk).await;
            count_call(slot.name(), &answer);
            match answer {
                Ok(quotes) => {
                    slot.succeeded(Op::Quote).await;
                    let mut quotes: Vec<Option<Quote>> = quotes.into_iter().map(Some).collect();
                    for key in chunk {
                        let found = quotes
                            .iter_mut()
                            .find(|q| q.as_ref().is_some_and(|q| q.symbol == key.0))
                            .and_then(Option::take);
                        match found {
                            Some(q) => send(key, Ok(q)),
                            None => alone.push(key.clone()),
                        }
                    }
                }
                Err(e) => {
                    slot.failed(Op::Quote, &e, slot.pause(0)).await;
                    self.watch_circuit(&slot, &chunk[0], "");
                    chunk.iter().for_each(|k| send(k, Err(e.clone())));
                }
            }
        }
        self.ask_each(&slot, alone, out).await;
    }

    /// One request per asset to one service, at most `QUOTE_CONCURRENCY` at a time, each
    /// answer sent to `out` as it comes.
    async fn ask_each(self: &Arc<Self>, slot: &Arc<Slot>, keys: Vec<Key>, out: Answers) {
        stream::iter(keys)
            .for_each_concurrent(self.concurrency, |key| {
                let out = out.clone();
                async move {
                    let answer = match slot.admit(Op::Quote, 1).await {
                        Err(reason) => {
                            self.watch_circuit(slot, &key, &reason);
                            Err(unavailable(slot, reason))
                        }
                        Ok(()) => {
                            let answer = call_with_retry(slot, &key.0, key.1).await;
                            match &answer {
                                Ok(_) => slot.succeeded(Op::Quote).await,
                                Err(e) => {
                                    slot.failed(Op::Quote, e, slot.pause(0)).await;
                                    self.watch_circuit(slot, &key, "");
                                }
                            }
                            answer
                        }
                    };
                    let _ = out.unbounded_send((key, answer));
                }
            })
            .await;
    }

    /// Starts the background probe of a service whose circuit is open, unless one runs.
    /// `key` is an asset to ask it for.
    fn watch_circuit(self: &Arc<Self>, slot: &Arc<Slot>, key: &Key, reason: &str) {
        let open = reason == CIRCUIT_OPEN || slot.is_open(Op::Quote);
        if open && !slot.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(probe(Arc::downgrade(self), slot.clone(), key.clone()));
        }
    }

    /// A service is back: the assets that failed lately and that it prices are fetched again
    /// now, so the next view shows them fresh.
    async fn recovered(self: &Arc<Self>, slot: &Arc<Slot>) {
        let again: Vec<Key> = self
            .failures
            .iter()
            .map(|(key, _)| (*key).clone())
            .filter(|key| self.chain_for(key).iter().any(|s| Arc::ptr_eq(s, slot)))
            .collect();
        for key in &again {
            self.failures.invalidate(key).await;
        }
        if !again.is_empty() {
            tracing::info!(
                provider = slot.name(),
                assets = again.len(),
                "service is back; fetching again"
            );
            self.start(again, usize::MAX);
        }
    }

    async fn history(&self, asset: &AssetKey, range: HistoryRange) -> History {
        let today = OffsetDateTime::now_utc().date();
        let from = range.start(today);
        let stored = match &self.store {
            Some(store) => store.prices(asset, from).await.unwrap_or_default(),
            None => Vec::new(),
        };
        // Items have only their owner's prices; a market asset with a stored series reaching
        // back to the range's start needs no upstream call.
        let covered = stored
            .first()
            .is_some_and(|p| p.date <= from + time::Duration::days(7));
        if !asset.kind.is_market_priced() || covered {
            return History::of(stored);
        }
        // A provider's series may start later than the range (a young listing, CoinGecko's one
        // year): remember what was fetched for a while instead of asking again on every view.
        let cache_key = (asset.clone(), range);
        if let Some(points) = self.history.get(&cache_key).await {
            return History::of(merge(points, stored));
        }
        // Whether some service answered (even with no series), and what the others said.
        let (mut answered, mut failures) = (false, Vec::new());
        for slot in self.chain_for(&(asset.symbol.clone(), asset.kind)) {
            if let Err(reason) = self.admit_history(&slot).await {
                failures.push((slot.name(), reason));
                continue;
            }
            let answer = slot
                .provider
                .history(&asset.symbol, asset.kind, range)
                .await;
            count_call(slot.name(), &answer);
            match answer {
                Ok(points) if !points.is_empty() => {
                    slot.succeeded(Op::History).await;
                    if let Some(store) = &self.store
                        && let Err(e) = store.save_prices(asset, &points, slot.name()).await
                    {
                        tracing::warn!(error = %e, "could not store history");
                    }
                    self.history.insert(cache_key, points.clone()).await;
                    return History::of(merge(points, stored));
                }
                Ok(_) => {
                    answered = true;
                    slot.succeeded(Op::History).await;
                }
                Err(e) => {
                    let trials = slot.failed_trials(Op::History);
                    slot.failed(Op::History, &e, slot.pause(trials)).await;
                    if e.is_provider_failure() {
                        // The service is named once, by the failure as a whole.
                        let reason = match &e {
                            QuoteError::Unavailable { reason, .. } => reason.clone(),
                            other => other.to_string(),
                        };
                        failures.push((slot.name(), reason));
                    } else {
                        answered = true;
                    }
                }
            }
        }
        let failed = (!answered && !failures.is_empty()).then(|| QuoteError::Unavailable {
            provider: failures
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", "),
            reason: failures
                .into_iter()
                .map(|(_, reason)| reason)
                .collect::<Vec<_>>()
                .join("; "),
        });
        History {
            points: stored,
            failed,
        }
    }

    /// Permission to ask a service for history: its history circuit closed, or open with its
    /// pause over and this the one trial (history has no background probe: the next view after
    /// the pause makes the trial).
    async fn admit_history(&self, slot: &Slot) -> Result<(), String> {
        match slot.admit(Op::History, 1).await {
            Err(reason) if reason == CIRCUIT_OPEN => {
                slot.admit_trial(Op::History)
                    .await
                    .map_err(|reason| match reason.as_str() {
                        "circuit paused" | "trial in flight" => {
                            "paused after repeated history failures".into()
                        }
                        _ => reason,
                    })
            }
            admitted => admitted,
        }
    }
}

/// Daily closes for a range, oldest first, and whether fetching them failed.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub points: Vec<PricePoint>,
    /// Every service asked for the series failed or was paused (its history circuit open, its
    /// budget used up), naming them: `points` are only those stored before. `None` when a
    /// series came, none was needed, or the services have none for the asset.
    pub failed: Option<QuoteError>,
}

impl History {
    fn of(points: Vec<PricePoint>) -> History {
        History {
            points,
            failed: None,
        }
    }
}

/// A fetch of some assets, run in the background: each answer goes to whoever waits for it,
/// and an asset whose fetch stops without one (the task ended) is let go, so a later read
/// starts afresh.
struct Fetch {
    inner: Arc<Inner>,
    senders: HashMap<Key, watch::Sender<Outcome>>,
}

impl Fetch {
    async fn run(mut self, depth: usize) {
        let inner = self.inner.clone();
        // Another instance, or the refresher, may have fetched some within the TTL.
        let keys: Vec<Key> = self.senders.keys().cloned().collect();
        let stored = futures::future::join_all(keys.iter().map(|k| inner.stored(k))).await;
        let now = OffsetDateTime::now_utc();
        let mut pending = Vec::new();
        for (key, stored) in keys.into_iter().zip(stored) {
            match stored.filter(|q| !inner.is_stale(q, now)) {
                Some(q) => {
                    inner.remember(&key, q.clone()).await;
                    self.finish(&key, Ok(q)).await;
                }
                None => pending.push((key, 0usize, None::<QuoteError>)),
            }
        }
        // Round by round down the chains: every asset goes to the next service in its chain
        // at once, grouped per service; each answer is handed on as soon as it arrives.
        while !pending.is_empty() {
            let mut groups: Vec<(Arc<Slot>, Vec<Key>)> = Vec::new();
            let mut places: HashMap<Key, (usize, Option<QuoteError>)> = HashMap::new();
            for (key, at, error) in pending.drain(..) {
                let chain = inner.chain_for(&key);
                let Some(slot) = chain.get(at).filter(|_| at < depth) else {
                    let error = error.unwrap_or_else(|| inner.no_chain(&key));
                    self.finish(&key, Err(error)).await;
                    continue;
                };
                match groups.iter_mut().find(|(s, _)| Arc::ptr_eq(s, slot)) {
                    Some((_, keys)) => keys.push(key.clone()),
                    None => groups.push((slot.clone(), vec![key.clone()])),
                }
                places.insert(key, (at, error));
            }
            let (tx, mut answers) = futures::channel::mpsc::unbounded();
            let asking = futures::future::join_all(
                groups
                    .into_iter()
                    .map(|(slot, keys)| inner.ask(slot, keys, tx.clone())),
            );
            drop(tx);
            tokio::pin!(asking);
            let mut asked = false;
            loop {
                tokio::select! {
                    Some((key, answer)) = answers.next() => {
                        let (at, error) = places.remove(&key).unwrap_or((usize::MAX - 1, None));
                        match answer {
                            Ok(quote) => {
                                let quote = inner.accept(&key, quote).await;
                                self.finish(&key, Ok(quote)).await;
                            }
                            Err(e) => {
                                let error = worse(error, e);
                                let next = at + 1;
                                if next >= depth || next >= inner.chain_for(&key).len() {
                                    // Nobody else to ask: say so now, not after the round.
                                    self.finish(&key, Err(error)).await;
                                } else {
                                    pending.push((key, next, Some(error)));
                                }
                            }
                        }
                    }
                    _ = &mut asking, if !asked => asked = true,
                    else => break,
                }
            }
        }
    }

    /// Hands an asset's answer to whoever waits and ends its flight; a failure is remembered.
    async fn finish(&mut self, key: &Key, outcome: Result<Quote, QuoteError>) {
        if let Err(e) = &outcome {
            self.inner.failures.insert(key.clone(), e.clone()).await;
        }
        if let Some(tx) = self.senders.remove(key) {
            tx.send_replace(Some(outcome));
        }
        self.inner
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        let mut inflight = self
            .inner
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for key in self.senders.keys() {
            inflight.remove(key);
        }
    }
}

/// Waits for a fetch's answer, at most `wait` (for ever with `None`); `None` when there is none
/// by then, or the fetch stopped without one.
async fn answer(rx: watch::Receiver<Outcome>, wait: Option<Duration>) -> Outcome {
    match wait {
        Some(wait) => answer_by(rx, tokio::time::Instant::now() + wait).await,
        None => {
            let mut rx = rx;
            let outcome = rx.wait_for(Option::is_some).await.ok()?;
            (*outcome).clone()
        }
    }
}

async fn answer_by(mut rx: watch::Receiver<Outcome>, deadline: tokio::time::Instant) -> Outcome {
    match tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some)).await {
        Ok(Ok(outcome)) => (*outcome).clone(),
        _ => None,
    }
}

/// The background probe of a service whose circuit opened: after each pause, one trial
/// request for `key`; a failed trial doubles the pause, a success closes the circuit and
/// fetches again what failed meanwhile. It ends when the circuit closes (here or, when shared,
/// on any instance) or the service is dropped.
async fn probe(inner: Weak<Inner>, slot: Arc<Slot>, key: Key) {
    struct Running<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let _running = Running(&slot.probing);
    let mut failed_trials = 0;
    while let Some(wait) = slot.until_trial(Op::Quote).await {
        tokio::time::sleep(wait.max(PROBE_POLL)).await;
        let Some(service) = inner.upgrade() else {
            return;
        };
        if slot.admit_trial(Op::Quote).await.is_err() {
            continue;
        }
        let answer = slot.provider.quote(&key.0, key.1).await;
        count_call(slot.name(), &answer);
        match answer {
            Err(e) if e.is_provider_failure() => {
                failed_trials += 1;
                slot.failed(Op::Quote, &e, slot.pause(failed_trials)).await;
                tracing::info!(provider = slot.name(), error = %e, pause_secs = slot.pause(failed_trials).as_secs(), "trial failed; circuit stays open");
            }
            answered => {
                slot.succeeded(Op::Quote).await;
                if let Ok(quote) = answered {
                    service.accept(&key, quote).await;
                }
                tracing::info!(provider = slot.name(), "trial succeeded; circuit closed");
                service.recovered(&slot).await;
                return;
            }
        }
    }
}

/// `EURUSD=X`: Yahoo's code for a currency pair, how exchange rates are asked for.
fn is_currency_pair(symbol: &Symbol) -> bool {
    let s = symbol.as_str();
    s.len() == 8 && s.ends_with("=X") && s[..6].bytes().all(|b| b.is_ascii_uppercase())
}

fn unavailable(slot: &Slot, reason: String) -> QuoteError {
    QuoteError::Unavailable {
        provider: slot.name().into(),
        reason,
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

/// One request; when the provider throttles it with a `Retry-After` of at most
/// [`MAX_RETRY_WAIT`], retried once after it plus jitter (and within the budget). Other
/// failures fall through to the next provider at once: a timeout retried would double the wait.
async fn call_with_retry(
    slot: &Slot,
    symbol: &Symbol,
    kind: AssetKind,
) -> Result<Quote, QuoteError> {
    let first = slot.provider.quote(symbol, kind).await;
    count_call(slot.name(), &first);
    match first {
        // Without a Retry-After (a daily limit inside a 200, say) waiting would not help.
        Err(QuoteError::Throttled {
            retry_after: Some(wait),
            provider,
        }) if wait <= MAX_RETRY_WAIT => {
            tokio::time::sleep(wait + jitter()).await;
            if slot.admit(Op::Quote, 1).await.is_err() {
                return Err(QuoteError::Throttled {
                    retry_after: Some(wait),
                    provider,
                });
            }
            let second = slot.provider.quote(symbol, kind).await;
            count_call(slot.name(), &second);
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

    #[test]
    fn currency_pairs_are_told_from_symbols() {
        let sym = |s: &str| Symbol::parse(s).unwrap();
        assert!(is_currency_pair(&sym("EURUSD=X")));
        assert!(is_currency_pair(&sym("gbpusd=x")));
        assert!(!is_currency_pair(&sym("GC=F")));
        assert!(!is_currency_pair(&sym("EURUSD")));
        assert!(!is_currency_pair(&sym("EUR1SD=X")));
    }
}
