//! PostgreSQL: production, shared by every instance. Decimals are NUMERIC.

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres as Db};

use super::{Backend, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The PostgreSQL backend.
pub struct Postgres;

impl Backend for Postgres {
    type Db = Db;
    type Dec = Decimal;
    const ROWS_AS_JSON: bool = false;
    const SHARED: bool = true;
    const NAME: &'static str = "postgres";
    const LOCK_OWNER: Option<&'static str> = Some("SELECT id FROM users WHERE id = $1 FOR UPDATE");

    /// Connects to the server named by the URL.
    async fn connect(url: &str, max_connections: u32) -> Result<Pool<Db>, sqlx::Error> {
        PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(PgConnectOptions::from_str(url)?)
            .await
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn reconnect(pool: &Pool<Db>, url: &str) -> StoreResult<()> {
        pool.set_connect_options(PgConnectOptions::from_str(url)?);
        Ok(())
    }

    fn stored(d: Decimal) -> Decimal {
        d
    }

    fn rows_affected(done: &sqlx::postgres::PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }
}
