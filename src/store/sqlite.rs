//! SQLite: the zero-set-up default, one file. Decimals are kept as exact TEXT.

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite as Db};

use super::{Backend, StoreError, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// The SQLite backend.
pub struct Sqlite;

impl Backend for Sqlite {
    type Db = Db;
    type Dec = String;
    const ROWS_AS_JSON: bool = true;
    const SHARED: bool = false;
    const NAME: &'static str = "sqlite";
    // The asset upsert that starts such a transaction makes it the database's only writer.
    const LOCK_OWNER: Option<&'static str> = None;

    /// Opens (and with `mode=rwc`, creates) the database file.
    async fn connect(url: &str, max_connections: u32) -> Result<Pool<Db>, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // A large import holds the write lock for seconds: other writers wait for it.
            .busy_timeout(Duration::from_secs(20))
            .foreign_keys(true)
            .row_buffer_size(4096);
        SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn reconnect(_pool: &Pool<Db>, _url: &str) -> StoreResult<()> {
        Err(StoreError::Unsupported(
            "an SQLite database cannot switch to another URL",
        ))
    }

    fn stored(d: Decimal) -> String {
        d.to_string()
    }

    fn rows_affected(done: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    fn placeholder(_n: usize) -> String {
        "?".into()
    }
}
