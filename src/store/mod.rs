//! Persistence behind one trait, with a SQLite and a PostgreSQL implementation.
//!
//! The backend is chosen by the scheme of `DATABASE_URL`; both pass the same test suite.

mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use crate::domain::{AssetKind, Symbol};
use crate::ledger::TxAmounts;
use crate::market::{PricePoint, Quote};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The owner of data. Until accounts exist every holding belongs to [`DEFAULT_OWNER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerId(pub i64);

/// The single owner created by the first migration.
pub const DEFAULT_OWNER: OwnerId = OwnerId(1);

/// Something that has a price: a listed security, a commodity, a coin or a personal item.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub id: i64,
    pub symbol: Symbol,
    pub kind: AssetKind,
    pub name: Option<String>,
    pub currency: String,
}

/// A position in a portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub id: i64,
    pub asset: Asset,
    pub quantity: Decimal,
    /// Average cost per unit, in the asset's currency.
    pub cost_basis: Option<Decimal>,
    pub notes: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Everything a holding is made of, as written by create and update.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldingFields {
    pub symbol: Symbol,
    pub kind: AssetKind,
    /// Name to record on the asset; `None` keeps the recorded one.
    pub name: Option<String>,
    /// Currency to record on the asset; `None` keeps the recorded one (USD for a new asset).
    pub currency: Option<String>,
    pub quantity: Decimal,
    pub cost_basis: Option<Decimal>,
    pub notes: Option<String>,
}

/// A symbol someone follows without holding it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEntry {
    pub id: i64,
    /// Always a market asset (the shared row): items have no market price to follow.
    pub asset: Asset,
    pub created_at: OffsetDateTime,
}

/// The asset a new watchlist entry follows, as a quote describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchFields {
    pub symbol: Symbol,
    pub kind: AssetKind,
    /// Name to record on the asset; `None` keeps the recorded one.
    pub name: Option<String>,
    /// Currency to record on the asset; `None` keeps the recorded one (USD for a new asset).
    pub currency: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The owner already holds (or watches) this asset.
    #[error("this asset is already held")]
    Conflict,
    /// The owner already watches as many assets as allowed.
    #[error("the watchlist is full")]
    WatchlistFull,
    /// A stored value could not be read back (for example a malformed decimal).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The backend cannot do what was asked.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The change would leave a holding's transactions inconsistent (selling more than held,
    /// a quantity edited by hand that its transactions decide); the text says why.
    #[error("{0}")]
    Refused(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`], anything else to `Database`.
    fn from_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(err),
        }
    }

    fn vanished(id: i64) -> Self {
        StoreError::Corrupt(format!("holding {id} vanished after it was written"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Storage in domain words; no SQL types leak out of it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);
    /// Opens new connections with this URL from now on (a rotated password); connections
    /// already open stay as they are. Only a PostgreSQL store can switch.
    fn reconnect_with(&self, url: &str) -> StoreResult<()>;

    async fn list_holdings(&self, owner: OwnerId) -> StoreResult<Vec<Holding>>;
    async fn get_holding(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Holding>>;
    async fn find_holding(
        &self,
        owner: OwnerId,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> StoreResult<Option<Holding>>;
    /// Creates a holding; [`StoreError::Conflict`] when the asset is already held.
    async fn create_holding(&self, owner: OwnerId, fields: &HoldingFields) -> StoreResult<Holding>;
    /// Replaces a holding; `None` when it does not exist for this owner.
    async fn update_holding(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &HoldingFields,
    ) -> StoreResult<Option<Holding>>;
    /// Deletes a holding; `false` when it did not exist for this owner.
    async fn delete_holding(&self, owner: OwnerId, id: i64) -> StoreResult<bool>;

    /// True until someone has set a password: the first visit then goes to `/setup`.
    async fn needs_setup(&self) -> StoreResult<bool>;
    /// Gives the first owner (id 1, holder of anything made before accounts) a name and a
    /// password and makes it admin; [`StoreError::Conflict`] once any account has a password.
    async fn setup_admin(&self, username: &str, password_hash: &str) -> StoreResult<User>;
    /// A new account; [`StoreError::Conflict`] when the name is taken.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> StoreResult<User>;
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Sets a new password and ends every session of the account; `false` if there is no such user.
    async fn set_password(&self, user: OwnerId, password_hash: &str) -> StoreResult<bool>;

    async fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The session with this id hash, if it has not expired.
    async fn session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<Option<Session>>;
    /// Records activity and pushes the idle expiry to `expires_at` (never past the absolute one,
    /// which the caller computed).
    async fn touch_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;

    async fn create_token(
        &self,
        user: OwnerId,
        label: &str,
        prefix: &str,
        token_hash: &str,
    ) -> StoreResult<ApiToken>;
    async fn tokens(&self, user: OwnerId) -> StoreResult<Vec<ApiToken>>;
    /// `false` when the token is not this user's.
    async fn revoke_token(&self, user: OwnerId, id: i64) -> StoreResult<bool>;
    /// The account a token belongs to (and notes its use).
    async fn user_by_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>>;

    /// The owner's transactions in replay order (by day, then as entered); one holding's with
    /// `Some(holding_id)`.
    async fn transactions(
        &self,
        owner: OwnerId,
        holding: Option<i64>,
    ) -> StoreResult<Vec<Transaction>>;
    async fn get_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Transaction>>;
    /// Adds a transaction to a holding (`None`: no such holding); [`StoreError::Refused`] when
    /// the holding's transactions would no longer add up. The holding's quantity and average
    /// cost follow.
    async fn add_transaction(
        &self,
        owner: OwnerId,
        holding_id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>>;
    /// Replaces a transaction (`None`: not the owner's); refused like an add.
    async fn update_transaction(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>>;
    /// Deletes a transaction (`false`: not the owner's); refused when a later sell or split
    /// needs it.
    async fn delete_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<bool>;
    /// Writes every row, creating holdings for assets not yet held, in one database
    /// transaction: all or nothing. `progress` hears the number of rows written so far.
    async fn import_transactions(
        &self,
        owner: OwnerId,
        rows: &[ImportTx],
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<usize>;
    /// The currency the owner's totals are shown in.
    async fn base_currency(&self, owner: OwnerId) -> StoreResult<String>;
    async fn set_base_currency(&self, owner: OwnerId, currency: &str) -> StoreResult<()>;
    /// Follows a market asset; [`StoreError::Conflict`] when the owner already watches it,
    /// [`StoreError::WatchlistFull`] when they already watch `limit` assets, and
    /// [`StoreError::Unsupported`] for an item (it has no market price).
    async fn add_to_watchlist(
        &self,
        owner: OwnerId,
        asset: &WatchFields,
        limit: usize,
    ) -> StoreResult<WatchEntry>;
    /// The owner's watchlist, ordered by symbol (then kind).
    async fn watchlist(&self, owner: OwnerId) -> StoreResult<Vec<WatchEntry>>;
    /// Stops following; `false` when the entry does not exist for this owner.
    async fn remove_from_watchlist(&self, owner: OwnerId, id: i64) -> StoreResult<bool>;

    /// A number that changes whenever the owner's holdings or item prices change.
    async fn holdings_version(&self, owner: OwnerId) -> StoreResult<i64>;

    /// The last quote fetched for a market asset, and when; `None` if never.
    async fn latest_quote(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> StoreResult<Option<StoredQuote>>;
    /// Records a fetched quote as the asset's latest, and its price as that day's.
    async fn save_quote(
        &self,
        kind: AssetKind,
        quote: &Quote,
        fetched_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Records daily prices for an asset (`owner` only for items), replacing the same day's
    /// price from the same source.
    async fn save_prices(
        &self,
        asset: &AssetKey,
        points: &[PricePoint],
        source: &str,
    ) -> StoreResult<()>;
    /// Daily prices from `from` on, oldest first; one per day (the most recently recorded).
    async fn prices(&self, asset: &AssetKey, from: Date) -> StoreResult<Vec<PricePoint>>;
    /// Claims up to `limit` held or watched market assets whose quote is older than
    /// `stale_before` and that no other instance has claimed, until `claim_until`.
    async fn claim_for_refresh(
        &self,
        stale_before: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<(Symbol, AssetKind)>>;
}

/// One transaction of a holding, with the asset it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: i64,
    pub holding_id: i64,
    pub symbol: Symbol,
    pub asset_kind: AssetKind,
    /// The asset's currency, which every amount is in.
    pub currency: String,
    pub amounts: TxAmounts,
    pub notes: Option<String>,
    pub created_at: OffsetDateTime,
}

/// What a transaction write records.
#[derive(Debug, Clone, PartialEq)]
pub struct TxFields {
    pub amounts: TxAmounts,
    pub notes: Option<String>,
}

/// One row of an import: the asset (held already or not) and the transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportTx {
    pub symbol: Symbol,
    pub kind: AssetKind,
    /// Name and currency to record on an asset not seen before (`None`: unknown, USD).
    pub name: Option<String>,
    pub currency: Option<String>,
    pub fields: TxFields,
}

/// An account.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// argon2id PHC string; `None` for the first owner until `/setup`.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub created_at: OffsetDateTime,
}

// By hand, so the password hash never reaches a log through `{:?}`.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("has_password", &self.password_hash.is_some())
            .field("is_admin", &self.is_admin)
            .finish()
    }
}

impl User {
    pub fn owner(&self) -> OwnerId {
        OwnerId(self.id)
    }
}

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user: OwnerId,
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A signed-in session and its account.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The account's holdings version as the session was read (saves a query per page).
    pub holdings_version: i64,
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A personal API token as listed (the token itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A quote as stored, with the time it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQuote {
    pub quote: Quote,
    pub fetched_at: OffsetDateTime,
}

/// Names an asset: market assets by symbol and kind, items also by their owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetKey {
    pub symbol: Symbol,
    pub kind: AssetKind,
    pub owner: OwnerId,
}

impl AssetKey {
    /// The owner column's value: items belong to someone, market assets to no one.
    fn owner_id(&self) -> Option<i64> {
        (!self.kind.is_market_priced()).then_some(self.owner.0)
    }
}

/// Opens the database named by `url` (`sqlite:` or `postgres:`), without migrating.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::connect(url, max_connections).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::connect(url, max_connections).await?)),
        _ => anyhow::bail!(
            "DATABASE_URL must start with sqlite: or postgres: (got scheme {scheme:?})"
        ),
    }
}

/// Hides the password in a database URL (in the authority or as `password=`) so it can be logged.
pub fn redact_url(url: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(start), Some(at)) if at > start => match base[start + 3..at].find(':') {
            Some(colon) => format!("{}:***{}", &base[..start + 3 + colon], &base[at..]),
            None => base.to_string(),
        },
        _ => base.to_string(),
    };
    let Some(query) = query else { return base };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/st"),
            "postgres://app:***@db:5432/st"
        );
        assert_eq!(redact_url("postgres://app@db/st"), "postgres://app@db/st");
        assert_eq!(
            redact_url("postgres://db/st?user=app&password=s3cret&sslmode=require"),
            "postgres://db/st?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite://stock-ticker.db?mode=rwc"),
            "sqlite://stock-ticker.db?mode=rwc"
        );
    }
}
