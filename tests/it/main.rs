//! One integration-test binary: the store suite on both backends, HTTP tests against the real
//! server with a wiremock upstream, and a browser test in headless Chromium.

/// Runs each listed story (an `async fn(TestDb)` of module `$module`) once on SQLite and once on
/// PostgreSQL, as `$module::sqlite::story` and `$module::postgres::story`.
macro_rules! on_sqlite_and_postgres {
    ($module:literal: $($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story(crate::helpers::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    let test = concat!($module, "::postgres::", stringify!($story));
                    let Some(db) = crate::helpers::TestDb::postgres(test).await else { return };
                    super::$story(db).await;
                }
            )*
        }
    };
}

mod accounts;
mod activity;
mod api;
mod architecture;
mod browser;
mod cash;
mod charts;
mod cli;
mod connections;
mod freshness;
mod fx;
mod helpers;
mod import;
mod market;
mod outage;
mod pages;
mod scale;
mod secrets;
mod security;
mod store;
mod transactions;
mod wire;
