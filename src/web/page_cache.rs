//! Rendered pages kept, compressed, while nothing they show can have changed: a warm view of
//! the portfolio only looks up its session and sends bytes already made.
//!
//! A page is kept under everything it was drawn from: the account and its session's form token
//! (the page carries it), the URL, the account's holdings version and base currency, the
//! generation of the quotes and of the price history this instance holds, and the current
//! ten-second step (ages are shown to that precision). Any change to one of them is a
//! different key; a page also goes when the first fresh price on it turns stale. Pages that are
//! still waiting for something (a price being fetched, history still loading) are not kept.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;

use super::encoded::{Effort, Encoded};
use super::session::Authed;

/// How long a kept page may show the same ages and staleness.
pub const STEP_SECS: i64 = 10;
/// Most bytes of kept pages (their compressed forms counted).
const CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// What a kept page was drawn from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    owner: i64,
    username: String,
    is_admin: bool,
    csrf: String,
    uri: String,
    holdings_version: i64,
    base_currency: String,
    /// The table's columns as stored.
    columns: Option<String>,
    quotes: u64,
    history: u64,
    step: i64,
}

impl PageKey {
    /// The key of `uri` for this visitor, with the generations of what the page is drawn from.
    pub fn new(auth: &Authed, uri: &str, quotes: u64, history: u64) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        PageKey {
            owner: auth.user.id,
            username: auth.user.username.clone(),
            is_admin: auth.user.is_admin,
            csrf: auth.csrf.clone(),
            uri: uri.to_string(),
            holdings_version: auth.holdings_version,
            base_currency: auth.base_currency.clone(),
            columns: auth.table_columns.clone(),
            quotes,
            history,
            step: now.div_euclid(STEP_SECS),
        }
    }
}

/// A kept page and when it goes out of date by itself (a fresh price it shows turns stale).
#[derive(Clone)]
struct Kept {
    page: Arc<Encoded>,
    until: Option<time::OffsetDateTime>,
}

/// The pages kept, per app instance.
#[derive(Clone)]
pub struct PageCache {
    pages: moka::sync::Cache<PageKey, Kept>,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            pages: moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                // The uncompressed page and its compressed forms (a fifth of it at most).
                .weigher(|_, kept: &Kept| {
                    u32::try_from(kept.page.uncompressed_len() + kept.page.uncompressed_len() / 5)
                        .unwrap_or(u32::MAX)
                })
                // A key holds its step: past it, nothing would ask for it again.
                .time_to_live(Duration::from_secs(2 * STEP_SECS.unsigned_abs()))
                .build(),
        }
    }
}

impl PageCache {
    /// The page kept under `key`, unless something on it has gone stale since.
    pub fn get(&self, key: &PageKey) -> Option<Arc<Encoded>> {
        let kept = self.pages.get(key)?;
        let current = kept
            .until
            .is_none_or(|until| time::OffsetDateTime::now_utc() < until);
        current.then_some(kept.page)
    }

    /// Takes a rendered page (compressed when first asked for in an encoding), and keeps it
    /// under `key` when it is `complete`, until
    /// `until` (when the first fresh price it shows turns stale).
    pub fn put(
        &self,
        key: PageKey,
        html: String,
        complete: bool,
        until: Option<time::OffsetDateTime>,
    ) -> Arc<Encoded> {
        let page = Arc::new(Encoded::new(
            "text/html; charset=utf-8",
            Bytes::from(html),
            Effort::Often,
        ));
        if complete {
            self.pages.insert(
                key,
                Kept {
                    page: page.clone(),
                    until,
                },
            );
        }
        page
    }
}
