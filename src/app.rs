//! Builds the application from its settings and runs it until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::market::{QuoteService, Settings, registry};
use crate::portfolio::HoldingsCache;
use crate::secrets::{Secret, SecretRef, SecretsClient};
use crate::store::{self, Store};
use crate::web::{self, AppState};

/// A bound listener and a ready router; tests build it exactly as `serve` does.
pub struct Application {
    listener: TcpListener,
    /// `METRICS_BIND`'s listener, serving only `/metrics`.
    metrics_listener: Option<TcpListener>,
    router: Router,
    store: Arc<dyn Store>,
    quotes: QuoteService,
    refresh_every: Option<Duration>,
    grace: Duration,
    limits: web::server::Limits,
    imports: crate::portfolio::import::Imports,
    /// The database credentials, when they come from Secrets Manager.
    database_secret: Option<Arc<Secret>>,
}

impl Application {
    /// Opens and migrates the database, wires the providers and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Installed before anything is counted.
        crate::telemetry::metrics();
        // A running import holds two connections (its write and the reading of its file);
        // with fewer, imports and every other request would wait on each other.
        let needed = config.import_workers.saturating_mul(2).saturating_add(1);
        if u64::from(config.database_max_connections) < needed {
            anyhow::bail!(
                "DATABASE_MAX_CONNECTIONS={} is too few for IMPORT_WORKERS={}: each running import \
                 needs two connections and other requests one, so set DATABASE_MAX_CONNECTIONS to \
                 at least {needed} or lower IMPORT_WORKERS",
                config.database_max_connections,
                config.import_workers
            );
        }
        let aws = secrets_client(&config).await?;
        let (store, database_secret) = open_database(&config, aws.as_ref()).await?;
        let token = iex_token(&config, aws.as_ref()).await?;
        let quotes = quote_service(&config, store.clone(), token)?;
        let refresh_every = (config.refresh_interval_secs > 0)
            .then(|| Duration::from_secs(config.refresh_interval_secs));
        let listener = TcpListener::bind(config.bind).await.with_context(|| {
            format!(
                "cannot listen on {} (set BIND to another address)",
                config.bind
            )
        })?;
        let metrics_listener = match config.metrics_bind.0 {
            None => None,
            Some(address) => Some(TcpListener::bind(address).await.with_context(|| {
                format!("cannot listen on {address} (set METRICS_BIND to another address)")
            })?),
        };
        let setup_code: Arc<str> = if config.setup_code.trim().is_empty() {
            crate::portfolio::auth::random_hex(6)?.into()
        } else {
            config.setup_code.trim().into()
        };
        if store.needs_setup().await? {
            // The one way to prove you run this server: read its log.
            tracing::warn!("no account yet: open /setup and enter the setup code {setup_code}");
        }
        let grace = Duration::from_secs(config.shutdown_grace_secs);
        let imports = crate::portfolio::import::Imports::new(
            usize::try_from(config.import_workers).unwrap_or(1),
            Duration::from_secs(config.import_answer_wait_secs),
        );
        let limits = web::server::Limits {
            header_read: Duration::from_secs(config.header_read_timeout_secs),
            keep_alive: Duration::from_secs(config.keep_alive_timeout_secs),
            max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        };
        let state = AppState::new(web::Shared {
            store: store.clone(),
            quotes: quotes.clone(),
            holdings: HoldingsCache::default(),
            setup_code,
            throttle: crate::portfolio::auth::LoginThrottle::new(Duration::from_secs(
                config.login_backoff_secs,
            )),
            config: Arc::new(config),
            imports: imports.clone(),
            pages: Default::default(),
        });
        // Static files are compressed once, ahead of the first request for them.
        web::static_files::warm();
        Ok(Self {
            listener,
            metrics_listener,
            router: web::router(state),
            store,
            quotes,
            refresh_every,
            grace,
            limits,
            imports,
            database_secret,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `METRICS_BIND` bound, when it is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Serves until `shutdown` resolves: then stops accepting, lets requests in flight finish
    /// for at most `SHUTDOWN_GRACE_SECS`, closes the pool and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr()?, backend = self.store.backend(), "listening");
        let refresher = self
            .refresh_every
            .map(|every| spawn_refresher(self.quotes.clone(), every));
        let credentials = self
            .database_secret
            .clone()
            .map(|secret| spawn_credentials_watch(secret, self.store.clone()));
        let janitor = Some(spawn_janitor(self.store.clone()));
        let (stopping, mut stop) = tokio::sync::watch::channel(false);
        let metrics = self.metrics_listener.map(|listener| {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(address = %address, "serving /metrics");
            }
            tokio::spawn(web::server::serve(
                listener,
                web::health::metrics_router(),
                self.limits,
                stop.clone(),
            ))
        });
        let grace = self.grace;
        // Imports still being written give up this long before the process must be gone, so
        // rolling them back and keeping their uploads for another try fits in the grace period.
        let margin = (grace / 4).min(Duration::from_secs(3));
        let imports = self.imports.clone();
        let ends = std::sync::Arc::new(std::sync::OnceLock::new());
        let end = ends.clone();
        tokio::spawn(async move {
            shutdown.await;
            let now = tokio::time::Instant::now();
            let _ = end.set(now + grace);
            imports.stop(now + grace - margin);
            let _ = stopping.send(true);
        });
        let serve = web::server::serve(self.listener, self.router, self.limits, stop.clone());
        let deadline = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = serve => {}
            () = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
            }
        }
        if let Some(end) = ends.get() {
            // Imports finish within the grace period, or roll back and say so.
            if tokio::time::timeout_at(*end, self.imports.writes_done())
                .await
                .is_err()
            {
                tracing::warn!("an import was still being written when the grace period ended");
            }
        }
        for task in [refresher, credentials, janitor, metrics]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The price services as configured, recording to and sharing limits through the store.
fn quote_service(
    config: &Config,
    store: Arc<dyn Store>,
    token: Arc<Secret>,
) -> anyhow::Result<QuoteService> {
    let (providers, chains) = registry::build(config, token)?;
    let settings = Settings {
        ttl: config.quote_ttl(),
        concurrency: usize::try_from(config.quote_concurrency).unwrap_or(8),
        breaker_threshold: config.circuit_breaker_failures,
        breaker_first_pause: Duration::from_secs(config.circuit_breaker_first_pause_secs),
        breaker_cool_down: Duration::from_secs(config.circuit_breaker_cool_down_secs),
        deadline: config.quote_page_deadline(),
        // Several instances share one PostgreSQL database; a SQLite file has one instance.
        shared_limits: store.is_shared(),
    };
    Ok(QuoteService::new(providers, &chains, Some(store), settings))
}

/// Keeps held assets' quotes fresh in the background, within each provider's budget.
fn spawn_refresher(quotes: QuoteService, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let refreshed = quotes.refresh_held(50).await;
            if refreshed > 0 {
                tracing::debug!(refreshed, "background refresh");
            }
        }
    })
}

/// Forgets import uploads nobody used for an hour, every few minutes.
fn spawn_janitor(store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = time::OffsetDateTime::now_utc();
            let before = now - crate::portfolio::import::UPLOAD_IDLE;
            let alive_since = now - crate::portfolio::import::INTERRUPTED_AFTER;
            match store.purge_uploads(before, alive_since).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(forgotten = n, "old import uploads forgotten"),
                Err(e) => tracing::warn!(error = %e, "could not forget old import uploads"),
            }
        }
    })
}

/// The price services as `serve` sets them up, for command-line tools.
pub async fn quote_service_for(
    config: &Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<QuoteService> {
    let aws = secrets_client(config).await?;
    let token = iex_token(config, aws.as_ref()).await?;
    quote_service(config, store, token)
}

/// A Secrets Manager client when a setting names a secret; `None` otherwise (no AWS set-up is
/// needed to run without one).
async fn secrets_client(config: &Config) -> anyhow::Result<Option<SecretsClient>> {
    let wanted = [&config.secret_token_secret_id, &config.database_secret_id]
        .iter()
        .any(|id| !id.trim().is_empty());
    if wanted {
        Ok(Some(SecretsClient::from_env().await?))
    } else {
        Ok(None)
    }
}

/// The IEX token: fixed from SECRET_TOKEN, or read (and followed) from Secrets Manager.
async fn iex_token(config: &Config, aws: Option<&SecretsClient>) -> anyhow::Result<Arc<Secret>> {
    let id = config.secret_token_secret_id.trim();
    let Some(aws) = aws.filter(|_| !id.is_empty()) else {
        return Ok(Arc::new(Secret::fixed(config.secret_token.trim())));
    };
    if config.iex_base_url.trim().is_empty() {
        tracing::info!("IEX_BASE_URL is empty: SECRET_TOKEN_SECRET_ID is not read");
        return Ok(Arc::new(Secret::fixed("")));
    }
    anyhow::ensure!(
        config.secret_token.is_empty(),
        "set SECRET_TOKEN or SECRET_TOKEN_SECRET_ID, not both"
    );
    let reference = SecretRef {
        setting: "SECRET_TOKEN_SECRET_ID",
        id: id.to_string(),
        decode: crate::secrets::token_decoder(id, &config.secret_token_secret_key),
    };
    let secret = Secret::load(aws.clone(), reference, config.secret_ttl()).await?;
    tracing::info!(secret = id, "IEX token read from AWS Secrets Manager");
    Ok(Arc::new(secret))
}

/// Connects to `DATABASE_URL` and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let aws = secrets_client(config).await?;
    Ok(open_database(config, aws.as_ref()).await?.0)
}

/// Connects to the database (its credentials from DATABASE_SECRET_ID when set, else
/// `DATABASE_URL`) and applies pending migrations.
async fn open_database(
    config: &Config,
    aws: Option<&SecretsClient>,
) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<Secret>>)> {
    let id = config.database_secret_id.trim();
    let secret = match aws.filter(|_| !id.is_empty()) {
        None => None,
        Some(aws) => {
            let reference = SecretRef {
                setting: "DATABASE_SECRET_ID",
                id: id.to_string(),
                decode: crate::secrets::database_decoder(id, &config.database_url),
            };
            let secret = Secret::load(aws.clone(), reference, config.secret_ttl()).await?;
            tracing::info!(
                secret = id,
                "database credentials read from AWS Secrets Manager"
            );
            Some(Arc::new(secret))
        }
    };
    let full_url = match &secret {
        Some(secret) => secret.current().await.to_string(),
        None => config.database_url.clone(),
    };
    let url = store::redact_url(&full_url);
    let store = store::connect(&full_url, config.database_max_connections)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database {url}"))?;
    Ok((store, secret))
}

/// Follows rotations of the database secret: new pool connections use the new credentials
/// (connections already open keep working, as PostgreSQL does not end them on a password change).
/// The secret is read again after `SECRET_TTL_SECS`, or at once when the database stops
/// answering (new connections refused with the old password).
fn spawn_credentials_watch(
    secret: Arc<Secret>,
    store: Arc<dyn Store>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut applied = secret.current().await;
        let every = secret.ttl().min(crate::secrets::RETRY_AFTER_FAILURE);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let url = match store.ping().await {
                Ok(()) => secret.current().await,
                Err(_) => match secret.refused(&applied).await {
                    Some(url) => url,
                    None => continue,
                },
            };
            if url != applied {
                match store.reconnect_with(&url) {
                    Ok(()) => {
                        tracing::info!("new database connections use the rotated credentials");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot use the rotated database credentials");
                    }
                }
                applied = url;
            }
        }
    })
}

/// Resolves on Ctrl-C or SIGTERM (what ECS sends before stopping a task).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
