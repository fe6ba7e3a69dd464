//! Use cases: what a person can do with their portfolio (add a holding, record a transaction,
//! watch a symbol, price an item, import and export), each a function the pages, the API and
//! the command line call with typed input. They gather what the domain's rules need from the
//! store and the price services, apply the rules, and write the outcome.

pub mod accounts;
pub mod auth;
pub mod cash;
pub mod export;
pub mod holding_accounts;
pub mod holdings;
pub mod import;
pub mod income;
pub mod items;
pub mod performance;
pub mod quotes;
pub mod transactions;
pub mod valuation;
pub mod watchlist;

use time::{Date, OffsetDateTime};

use crate::domain::DomainError;
use crate::store::StoreError;

pub use holdings::HoldingsCache;

/// Why a use case failed: a rule of the domain (the person can act on it), the database, or
/// something else that went wrong on the server's side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(DomainError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<DomainError> for Error {
    fn from(e: DomainError) -> Self {
        Error::Domain(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // A rule the store applied inside its transaction (a replay that does not add up).
            StoreError::Rule(rule) => Error::Domain(rule),
            other => Error::Store(other),
        }
    }
}

/// Today in UTC: the last day a transaction or a price may have.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Runs CPU-heavy work (hashing, reading a large file) on the blocking pool, so the threads
/// that serve requests stay free.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("a background task failed: {e}")))
}
