//! Persistence in domain words, by capability: holdings (and the watchlist), transactions,
//! prices (and the state price services share), accounts (with sessions and tokens), import
//! uploads. One [`SqlStore`] implements them all over SQLite or PostgreSQL; a backend supplies
//! only what differs ([`Backend`]).
//!
//! The backend is chosen by the scheme of `DATABASE_URL`; both pass the same test suite.

mod backend;
mod postgres;
mod sql;
mod sql_store;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use crate::domain::cash::{CashFields, CashTx};
use crate::domain::csv::{NewUpload, Stage, Upload};
use crate::domain::holding_account::HoldingAccount;
use crate::domain::{
    ApiToken, AssetKey, AssetKind, DomainError, Holding, HoldingFields, ImportRow, ImportTx,
    NewSession, OwnerId, PricePoint, Quote, Session, StoredQuote, Symbol, Transaction, TxFields,
    User, WatchEntry, WatchFields,
};

pub use backend::Backend;
pub use postgres::Postgres;
pub use sql_store::SqlStore;
pub use sqlite::Sqlite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the write (the owner already holds or watches this asset, a
    /// name is taken).
    #[error("already exists")]
    Conflict,
    /// The owner already has as many of something as allowed (watched symbols).
    #[error("limit reached")]
    LimitReached,
    /// A domain rule applied inside the write's transaction refused it (a replay of a
    /// holding's transactions that does not add up); nothing was written.
    #[error(transparent)]
    Rule(DomainError),
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
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`], anything else to `Database`.
    fn from_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(err),
        }
    }

    /// The database could not be reached or dropped the connection (a restart, a failover, a
    /// terminated backend, a pool with no connection free in time, a busy SQLite file): the
    /// request may succeed if made again shortly.
    pub fn is_unavailable(&self) -> bool {
        if self.is_connection_lost() {
            return true;
        }
        match self {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => true,
            // PostgreSQL: not yet accepting connections (57P03), too many (53300). SQLite: busy
            // or locked, after its busy timeout.
            StoreError::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
                matches!(
                    &*code,
                    "57P03" | "53300" | "5" | "6" | "261" | "262" | "517" | "773"
                )
            }),
            _ => false,
        }
    }

    /// The connection in use was lost (a restart, a failover, a terminated backend: I/O, TLS or
    /// protocol errors, PostgreSQL's connection exceptions 08… and shutdowns 57P01/57P02): a
    /// read made again at once gets a fresh one. Not a pool with none free, a busy SQLite file
    /// or a server refusing connections, which a retry at once would only make worse.
    pub fn is_connection_lost(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|code| code.starts_with("08") || matches!(&*code, "57P01" | "57P02")),
            _ => false,
        }
    }

    fn vanished(what: &str, id: i64) -> Self {
        StoreError::Corrupt(format!("{what} {id} vanished after it was written"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Rows to import, a batch at a time, from whoever reads them (a file being read on another
/// thread): memory holds a few batches, never the whole file. An empty batch ends them; an
/// error (the file could not be read to its end), or a channel that closes before the empty
/// batch (its reader stopped), takes back every row written before it.
pub type Batches = tokio::sync::mpsc::Receiver<StoreResult<Vec<ImportRow>>>;

/// `rows` as batches of at most [`IMPORT_BATCH`] (rows already in memory).
pub fn batches_of(rows: Vec<impl Into<ImportRow>>) -> Batches {
    let rows: Vec<ImportRow> = rows.into_iter().map(Into::into).collect();
    let mut chunks: Vec<Vec<ImportRow>> = rows.chunks(IMPORT_BATCH).map(<[_]>::to_vec).collect();
    chunks.push(Vec::new());
    let (tx, rx) = tokio::sync::mpsc::channel(chunks.len());
    for chunk in chunks {
        // The channel has room for every chunk and the receiver is here: this cannot fail.
        let _ = tx.try_send(Ok(chunk));
    }
    rx
}

/// Bytes of an uploaded file read at a time.
pub const UPLOAD_PART: usize = 1 << 20;

/// Rows per batch an import hands the store.
pub const IMPORT_BATCH: usize = 2_000;

/// Opening, migrating and closing the database.
#[async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Whether several instances may share this database (PostgreSQL), and so must share
    /// through it what they count; a SQLite file has one.
    fn is_shared(&self) -> bool;
    /// Applies pending migrations (on PostgreSQL under an advisory lock, so several instances
    /// can start at once).
    async fn migrate(&self) -> StoreResult<()>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);
    /// Opens new connections with this URL from now on (a rotated password); connections
    /// already open stay as they are. Only a PostgreSQL store can switch.
    fn reconnect_with(&self, url: &str) -> StoreResult<()>;
}

/// What an owner holds and follows.
#[async_trait]
pub trait HoldingStore: Send + Sync + 'static {
    async fn list_holdings(&self, owner: OwnerId) -> StoreResult<Vec<Holding>>;
    async fn get_holding(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Holding>>;
    async fn find_holding(
        &self,
        owner: OwnerId,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> StoreResult<Option<Holding>>;
    /// Creates a holding and its opening buy; [`StoreError::Conflict`] when the asset is
    /// already held.
    async fn create_holding(&self, owner: OwnerId, fields: &HoldingFields) -> StoreResult<Holding>;
    /// Replaces a holding; `None` when it does not exist for this owner. Its quantity and cost
    /// change only while its one transaction is the opening buy (which changes with them);
    /// otherwise [`StoreError::Rule`].
    async fn update_holding(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &HoldingFields,
    ) -> StoreResult<Option<Holding>>;
    /// Deletes a holding with its transactions; `false` when it did not exist for this owner.
    async fn delete_holding(&self, owner: OwnerId, id: i64) -> StoreResult<bool>;
    /// A number that changes whenever the owner's holdings or item prices change.
    async fn holdings_version(&self, owner: OwnerId) -> StoreResult<i64>;

    /// Follows a market asset; [`StoreError::Conflict`] when the owner already watches it,
    /// [`StoreError::LimitReached`] when they already watch `limit` assets, and
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
}

/// A holding's transactions. Every write replays the holding's transactions in the same
/// database transaction: one that would no longer add up is [`StoreError::Rule`] and writes
/// nothing; otherwise the holding's quantity and average cost follow.
#[async_trait]
pub trait TransactionStore: Send + Sync + 'static {
    /// The owner's transactions in replay order (by day, then as entered); one holding's with
    /// `Some(holding_id)`.
    async fn transactions(
        &self,
        owner: OwnerId,
        holding: Option<i64>,
    ) -> StoreResult<Vec<Transaction>>;
    /// The owner's accounts, oldest first (the first is where transactions that name no account
    /// go), with how many transactions each holds.
    async fn holding_accounts(&self, owner: OwnerId) -> StoreResult<Vec<HoldingAccount>>;
    /// The account transactions that name none go to: the owner's oldest, made ("Default")
    /// when there is none.
    async fn default_account(&self, owner: OwnerId) -> StoreResult<i64>;
    /// A new account; [`StoreError::Conflict`] when the owner has one of that name (in any
    /// case), [`StoreError::LimitReached`] at
    /// [`MAX_ACCOUNTS`](crate::domain::holding_account::MAX_ACCOUNTS).
    async fn create_holding_account(&self, owner: OwnerId, name: &str) -> StoreResult<i64>;
    /// Renames an account (`false`: not the owner's); a name clash is a conflict.
    async fn rename_holding_account(
        &self,
        owner: OwnerId,
        id: i64,
        name: &str,
    ) -> StoreResult<bool>;
    /// Deletes an account (`false`: not the owner's). Its transactions, cash ones included,
    /// move to `move_to` first (one of the owner's other accounts), and every holding they touch
    /// is replayed; transfers between the two accounts go (they would move money within one).
    /// An account with transactions and nowhere to move them is refused, as is moving them to
    /// itself.
    async fn delete_holding_account(
        &self,
        owner: OwnerId,
        id: i64,
        move_to: Option<i64>,
    ) -> StoreResult<bool>;
    async fn get_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Transaction>>;
    /// Adds a transaction to a holding (`None`: no such holding).
    async fn add_transaction(
        &self,
        owner: OwnerId,
        holding_id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>>;
    /// Adds a transaction to the holding of an asset, making the holding (empty) when the
    /// asset is not held yet; the new transaction comes back.
    async fn record_for_asset(&self, owner: OwnerId, row: &ImportTx) -> StoreResult<Transaction>;
    /// Replaces a transaction (`None`: not the owner's).
    async fn update_transaction(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>>;
    /// Deletes a transaction (`false`: not the owner's); refused when a later sell or split
    /// needs it.
    async fn delete_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<bool>;
    /// Writes every row of `batches` (until it closes), creating holdings for assets not yet
    /// held, in one database transaction: all or nothing. `progress` hears the number of rows
    /// written so far.
    async fn import_transactions(
        &self,
        owner: OwnerId,
        batches: &mut Batches,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<usize>;
}

/// A provider's circuit breaker as every instance sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BreakerRecord {
    /// Failures in a row.
    pub failures: u32,
    /// Paused until then; after it, one trial request may go.
    pub open_until: Option<OffsetDateTime>,
    /// When the trial request in flight started.
    pub trial_started: Option<OffsetDateTime>,
    pub last_success: Option<OffsetDateTime>,
    pub last_failure: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// Whether a provider's budgets had room for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Counted against both budgets.
    Taken,
    MinuteUsedUp,
    DayUsedUp,
}

/// Quotes and daily prices, and the state the price services share across instances: each
/// service's request budgets and circuit breaker.
#[async_trait]
pub trait PriceStore: Send + Sync + 'static {
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

    /// Counts `cost` requests to `provider` in the UTC minute and day of `now`, when both
    /// budgets (`None`: unlimited) have room; otherwise counts nothing and says which is used
    /// up. Atomic across instances.
    async fn take_budget(
        &self,
        provider: &str,
        cost: u32,
        per_minute: Option<u32>,
        per_day: Option<u32>,
        now: OffsetDateTime,
    ) -> StoreResult<Budget>;
    /// Requests counted for `provider` in the UTC day of `now`.
    async fn requests_today(&self, provider: &str, now: OffsetDateTime) -> StoreResult<u64>;
    /// A provider's breaker; `None` before its first recorded outcome.
    async fn breaker(&self, provider: &str) -> StoreResult<Option<BreakerRecord>>;
    /// Claims the one trial request of an open breaker whose pause has passed (`now` is past
    /// `open_until`, and no trial started within `cool_down`); `false` when another instance
    /// or request has it.
    async fn claim_trial(
        &self,
        provider: &str,
        now: OffsetDateTime,
        cool_down: time::Duration,
    ) -> StoreResult<bool>;
    /// Gives back a trial claimed at `claimed` that was never sent (its budget was used up).
    async fn release_trial(&self, provider: &str, claimed: OffsetDateTime) -> StoreResult<()>;
    /// Records a success: the breaker closes and its failures reset.
    async fn breaker_succeeded(&self, provider: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Records a failure: when `counts` (a provider failure, not an unknown symbol) it adds
    /// one to the failures, and the breaker opens for `cool_down` once they reach `threshold`
    /// or a trial failed. The breaker as it now stands comes back.
    async fn breaker_failed(
        &self,
        provider: &str,
        now: OffsetDateTime,
        error: &str,
        counts: bool,
        threshold: u32,
        cool_down: time::Duration,
    ) -> StoreResult<BreakerRecord>;
}

/// Accounts, their settings, sessions and API tokens.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// True until someone has set a password: the first visit then goes to `/setup`.
    async fn needs_setup(&self) -> StoreResult<bool>;
    /// Gives the first owner (id 1, holder of anything made before accounts existed) a name and a
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
    /// Sets a new password and ends every session and API token of the account; `false` if
    /// there is no such user.
    async fn set_password(&self, user: OwnerId, password_hash: &str) -> StoreResult<bool>;
    /// The currency the owner's totals are shown in.
    async fn base_currency(&self, owner: OwnerId) -> StoreResult<String>;
    async fn set_base_currency(&self, owner: OwnerId, currency: &str) -> StoreResult<()>;
    /// The market asset the owner compares the portfolio's returns with, if any.
    async fn benchmark(&self, owner: OwnerId) -> StoreResult<Option<(Symbol, AssetKind)>>;
    /// Chooses the benchmark (`None`: none).
    async fn set_benchmark(
        &self,
        owner: OwnerId,
        benchmark: Option<(&Symbol, AssetKind)>,
    ) -> StoreResult<()>;
    /// Keeps the holdings table's columns (`None`: back to the default set).
    async fn set_table_columns(&self, owner: OwnerId, columns: Option<&str>) -> StoreResult<()>;

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
}

/// Files between the steps of their import, so any instance can take any step. Every change
/// of stage names the stage it expects, so two requests (or instances) never both move one.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Keeps a file (stage `uploaded`) for its next steps, and forgets the owner's older
    /// uploads beyond the newest `keep` (not one being checked or written).
    async fn create_upload(
        &self,
        upload: &NewUpload,
        now: OffsetDateTime,
        keep: usize,
    ) -> StoreResult<()>;
    /// The owner's upload with this id, if used since `used_since`. Its use is noted (at most
    /// every few minutes, and never while it is being written, so that on SQLite reading a
    /// running import's progress does not wait for its write).
    async fn upload(
        &self,
        owner: OwnerId,
        id: &str,
        used_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Upload>>;
    /// The file's size in bytes.
    async fn upload_size(&self, owner: OwnerId, id: &str) -> StoreResult<Option<usize>>;
    /// Up to `len` bytes of the file from byte `offset`; `None` once the upload is forgotten.
    async fn upload_part(
        &self,
        owner: OwnerId,
        id: &str,
        offset: usize,
        len: usize,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// The file itself, read a part at a time.
    async fn upload_content(&self, owner: OwnerId, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let Some(size) = self.upload_size(owner, id).await? else {
            return Ok(None);
        };
        let mut content = Vec::with_capacity(size);
        while content.len() < size {
            match self
                .upload_part(owner, id, content.len(), UPLOAD_PART)
                .await?
            {
                Some(part) if !part.is_empty() => content.extend_from_slice(&part),
                // Forgotten meanwhile.
                _ => return Ok(None),
            }
        }
        Ok(Some(content))
    }
    /// Moves the upload from stage `from` to `to`, with the rows written so far and the total;
    /// `false` when it was not at `from` (another request moved it first).
    async fn move_upload(
        &self,
        owner: OwnerId,
        id: &str,
        from: &Stage,
        to: &Stage,
        (written, total): (usize, usize),
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Says a check or write of the upload (at stage `stage`) is alive, with rows written so
    /// far; nothing once it has moved on.
    async fn upload_beat(
        &self,
        owner: OwnerId,
        id: &str,
        stage: &Stage,
        written: usize,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Writes the rows as [`TransactionStore::import_transactions`] does and moves the upload
    /// from `writing` to done, in one database transaction: the upload says done exactly when
    /// its rows are in. `None` (nothing written) when the upload was no longer being written
    /// (its write was taken for interrupted, or the upload forgotten).
    async fn write_upload(
        &self,
        owner: OwnerId,
        id: &str,
        batches: &mut Batches,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<Option<usize>>;
    /// Puts an upload whose write was interrupted (nothing of it written) back to `uploaded`
    /// with `note` saying so, for another try; `false` when it was not being written.
    async fn interrupt_upload(
        &self,
        owner: OwnerId,
        id: &str,
        note: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Forgets uploads last used before `before`, except one being checked or written that
    /// said it is alive since `alive_since`; how many.
    async fn purge_uploads(
        &self,
        before: OffsetDateTime,
        alive_since: OffsetDateTime,
    ) -> StoreResult<u64>;
}

/// Cash transactions (deposits, withdrawals, interest, fees, transfers) in the owner's
/// accounts. Every write bumps the owner's holdings version (the kept portfolio page shows
/// cash). No account named is the owner's default one (an edit: its own); one named must be
/// the owner's, or the write is a mismatch on its field (409).
#[async_trait]
pub trait CashStore: Send + Sync + 'static {
    /// The owner's cash transactions by day, then as entered.
    async fn cash_transactions(&self, owner: OwnerId) -> StoreResult<Vec<CashTx>>;
    async fn get_cash(&self, owner: OwnerId, id: i64) -> StoreResult<Option<CashTx>>;
    async fn add_cash(&self, owner: OwnerId, fields: &CashFields) -> StoreResult<CashTx>;
    /// Replaces a cash transaction (`None`: not the owner's); no account named keeps its own.
    async fn update_cash(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &CashFields,
    ) -> StoreResult<Option<CashTx>>;
    async fn delete_cash(&self, owner: OwnerId, id: i64) -> StoreResult<bool>;
}

/// Every capability, as the application holds it.
pub trait Store:
    Lifecycle + HoldingStore + TransactionStore + CashStore + PriceStore + AccountStore + ImportStore
{
}

impl<T> Store for T where
    T: Lifecycle
        + HoldingStore
        + TransactionStore
        + CashStore
        + PriceStore
        + AccountStore
        + ImportStore
{
}

/// Opens the database named by `url` (`sqlite:` or `postgres:`), without migrating.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(
            SqlStore::<Sqlite>::connect(url, max_connections).await?,
        )),
        "postgres" | "postgresql" => Ok(Arc::new(
            SqlStore::<Postgres>::connect(url, max_connections).await?,
        )),
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
