//! Builds the application from its settings and runs it until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::market::{IexProvider, QuoteProvider, QuoteService};
use crate::store::{self, Store};
use crate::web::{self, AppState};

/// A bound listener and a ready router; tests build it exactly as `serve` does.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Arc<dyn Store>,
}

impl Application {
    /// Opens and migrates the database, wires the providers and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = open_store(&config).await?;
        let quotes = quote_service(&config)?;
        let listener = TcpListener::bind(config.bind).await.with_context(|| {
            format!(
                "cannot listen on {} (set BIND to another address)",
                config.bind
            )
        })?;
        let state = AppState {
            store: store.clone(),
            quotes,
            config: Arc::new(config),
        };
        Ok(Self {
            listener,
            router: web::router(state),
            store,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, lets requests in flight finish, then closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr()?, backend = self.store.backend(), "listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The price services named by the settings, in the order they are asked.
fn quote_service(config: &Config) -> anyhow::Result<QuoteService> {
    let mut providers: Vec<Arc<dyn QuoteProvider>> = Vec::new();
    let base = config.iex_base_url.trim();
    if base.is_empty() {
        tracing::warn!(
            "IEX_BASE_URL is empty: no price service is configured, so no prices are shown"
        );
    } else {
        let url = reqwest::Url::parse(base)
            .with_context(|| format!("IEX_BASE_URL {base:?} is not a URL"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https"),
            "IEX_BASE_URL must start with http:// or https:// (got {base:?})"
        );
        let iex = IexProvider::new(base, &config.secret_token, config.quote_timeout())
            .context("building the HTTP client")?;
        providers.push(Arc::new(iex));
    }
    let concurrency = usize::try_from(config.quote_concurrency).unwrap_or(8);
    Ok(QuoteService::new(providers, concurrency))
}

/// Connects to `DATABASE_URL` and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = store::redact_url(&config.database_url);
    let store = store::connect(&config.database_url, config.database_max_connections)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database {url}"))?;
    Ok(store)
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
