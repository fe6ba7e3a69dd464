//! What a database backend supplies to [`SqlStore`](super::SqlStore): how to connect, its
//! migrations, how it keeps an exact decimal, and the few statements that differ. Everything
//! else (the SQL, the rows, the rules) is shared: sqlx binds `$N` on SQLite too.

use std::future::Future;

use rust_decimal::Decimal;
use sqlx::migrate::Migrator;
use sqlx::{Database, Decode, Encode, Pool, Type};

use super::{StoreError, StoreResult};

/// A database the store runs on.
pub trait Backend: Send + Sync + 'static {
    /// sqlx's database type.
    type Db: Database;
    /// How a decimal is kept: NUMERIC on PostgreSQL, exact text on SQLite.
    type Dec: Col<Self::Db> + StoredDecimal + Unpin + 'static;
    /// `"sqlite"` or `"postgres"`.
    const NAME: &'static str;
    /// Whether several instances may share one database.
    const SHARED: bool;
    /// Whether a long list of rows is better read as one JSON value the database builds. SQLite
    /// runs on a worker thread that hands each row over on its own (a thread wake-up and two
    /// context switches per row, most of the cost of listing a thousand); PostgreSQL's rows
    /// arrive in batches over its socket.
    const ROWS_AS_JSON: bool;
    /// Locks the owner's row (`$1`) for the rest of a transaction, where the database needs it
    /// to serialize two writers that check a limit (`None`: the first write already does).
    const LOCK_OWNER: Option<&'static str>;

    /// A pool of at most `max_connections` connections to the database at `url`.
    fn connect(
        url: &str,
        max_connections: u32,
    ) -> impl Future<Output = Result<Pool<Self::Db>, sqlx::Error>> + Send;
    /// The backend's migrations (`migrations/<backend>/`).
    fn migrator() -> &'static Migrator;
    /// Opens new connections with this URL from now on.
    fn reconnect(pool: &Pool<Self::Db>, url: &str) -> StoreResult<()>;
    /// A decimal as the backend binds it.
    fn stored(d: Decimal) -> Self::Dec;
    /// The `n`th (from 1) value's placeholder in a statement built at run time. Every fixed
    /// statement writes `$n`, which both read; a many-row insert has thousands of values, which
    /// SQLite matches by name when numbered, so it takes them in order as `?`.
    fn placeholder(n: usize) -> String;
    /// How many rows a statement changed.
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;
}

/// A Rust type a backend can bind and read back.
pub trait Col<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send + Sync
{
}

impl<DB: Database, T> Col<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send + Sync
{
}

/// A stored decimal read back.
pub trait StoredDecimal {
    fn into_decimal(self) -> StoreResult<Decimal>;
}

impl StoredDecimal for Decimal {
    fn into_decimal(self) -> StoreResult<Decimal> {
        Ok(self)
    }
}

impl StoredDecimal for String {
    fn into_decimal(self) -> StoreResult<Decimal> {
        self.as_str().into_decimal()
    }
}

impl StoredDecimal for &str {
    fn into_decimal(self) -> StoreResult<Decimal> {
        self.parse()
            .map_err(|_| StoreError::Corrupt(format!("decimal {self:?}")))
    }
}
