//! Quotes, daily prices, and the state price services share: budgets and breakers.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::{AssetKey, AssetKind, DEFAULT_OWNER, PricePoint, Quote, StoredQuote, Symbol};
use crate::store::backend::Col;
use crate::store::sql;
use crate::store::{Backend, BreakerRecord, Budget, PriceStore, StoreError, StoreResult};

/// The start of the UTC minute (or day) `now` is in: a budget's window.
pub(super) fn window(now: OffsetDateTime, period: &str) -> OffsetDateTime {
    let now = now.to_offset(time::UtcOffset::UTC);
    match period {
        "day" => now.replace_time(time::Time::MIDNIGHT),
        _ => now
            .replace_second(0)
            .and_then(|t| t.replace_nanosecond(0))
            .unwrap_or(now),
    }
}

#[async_trait]
impl<B: Backend> PriceStore for SqlStore<B>
where
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    usize: ColumnIndex<<B::Db as Database>::Row>,
    for<'a> &'a str: ColumnIndex<<B::Db as Database>::Row> + Encode<'a, B::Db> + Type<B::Db>,
    i64: Col<B::Db>,
    bool: Col<B::Db>,
    String: Col<B::Db>,
    Vec<u8>: Col<B::Db>,
    Date: Col<B::Db>,
    OffsetDateTime: Col<B::Db>,
    Option<i64>: Col<B::Db>,
    Option<String>: Col<B::Db>,
    Option<OffsetDateTime>: Col<B::Db>,
    Option<B::Dec>: Col<B::Db>,
    for<'a> Option<&'a str>: Encode<'a, B::Db> + Type<B::Db>,
{
    async fn latest_quote(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> StoreResult<Option<StoredQuote>> {
        let row: Option<(String, OffsetDateTime)> = sqlx::query_as(sql::LATEST_QUOTE)
            .bind(symbol.as_str())
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(json, fetched_at)| sql::stored_quote(&json, fetched_at))
            .transpose()
    }

    async fn save_quote(
        &self,
        kind: AssetKind,
        quote: &Quote,
        fetched_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(quote).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let fields = sql::market_asset(&quote.symbol, kind, quote);
        let mut tx = self.pool.begin().await?;
        let asset_id = Self::upsert_asset(&mut tx, DEFAULT_OWNER, &fields).await?;
        sqlx::query(sql::UPSERT_QUOTE)
            .bind(asset_id)
            .bind(json)
            .bind(&quote.source)
            .bind(fetched_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::UPSERT_PRICE)
            .bind(asset_id)
            .bind(quote.as_of.unwrap_or(fetched_at).date())
            .bind(B::stored(quote.price))
            .bind(&quote.source)
            .bind(fetched_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn save_prices(
        &self,
        asset: &AssetKey,
        points: &[PricePoint],
        source: &str,
    ) -> StoreResult<()> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await?;
        let fields = sql::asset_fields(asset);
        let asset_id = Self::upsert_asset(&mut tx, asset.owner, &fields).await?;
        for p in points {
            sqlx::query(sql::UPSERT_PRICE)
                .bind(asset_id)
                .bind(p.date)
                .bind(B::stored(p.close))
                .bind(source)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        if !asset.kind.is_market_priced() {
            sqlx::query(sql::BUMP_VERSION)
                .bind(asset.owner.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prices(&self, asset: &AssetKey, from: Date) -> StoreResult<Vec<PricePoint>> {
        if B::ROWS_AS_JSON {
            let text: String = sqlx::query_scalar(sql::PRICES_JSON)
                .bind(asset.symbol.as_str())
                .bind(asset.kind.as_str())
                .bind(asset.owner_id())
                .bind(from)
                .fetch_one(&self.pool)
                .await?;
            // Days and prices are plain digits: read in place, without a copy each.
            let rows: Vec<(&str, &str)> = serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("prices: {e}")))?;
            let rows = rows
                .into_iter()
                .map(|(day, price)| {
                    let day =
                        Date::parse(day, &time::format_description::well_known::Iso8601::DATE)
                            .map_err(|_| StoreError::Corrupt(format!("price day {day:?}")))?;
                    Ok((day, price))
                })
                .collect::<StoreResult<Vec<(Date, &str)>>>()?;
            // The array is built in the subquery's order; one out of it would be a bug here.
            if !rows.windows(2).all(|w| w[0].0 <= w[1].0) {
                return Err(StoreError::Corrupt("prices out of order".into()));
            }
            return sql::one_per_day(rows);
        }
        let rows: Vec<(Date, B::Dec)> = sqlx::query_as(sql::PRICES)
            .bind(asset.symbol.as_str())
            .bind(asset.kind.as_str())
            .bind(asset.owner_id())
            .bind(from)
            .fetch_all(&self.pool)
            .await?;
        sql::one_per_day(rows)
    }

    async fn claim_for_refresh(
        &self,
        stale_before: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<(Symbol, AssetKind)>> {
        let now = OffsetDateTime::now_utc();
        let candidates: Vec<(i64, String, String)> = sqlx::query_as(sql::REFRESH_CANDIDATES)
            .bind(stale_before)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = Vec::new();
        for (id, symbol, kind) in candidates {
            let done = sqlx::query(sql::CLAIM)
                .bind(claim_until)
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
            if B::rows_affected(&done) == 1 {
                claimed.push(sql::parse_key(&symbol, &kind)?);
            }
        }
        Ok(claimed)
    }

    async fn take_budget(
        &self,
        provider: &str,
        cost: u32,
        per_minute: Option<u32>,
        per_day: Option<u32>,
        now: OffsetDateTime,
    ) -> StoreResult<Budget> {
        let mut tx = self.pool.begin().await?;
        // Unlimited windows are still counted (for /status), with a limit nothing reaches.
        let minute = per_minute.unwrap_or(u32::MAX);
        // Refusals roll back at once: a dropped transaction is rolled back only when its
        // connection is next used, and meanwhile holds SQLite's write lock, which the next
        // caller's read-then-write transaction cannot wait for (SQLITE_BUSY at once).
        if !Self::take_window(&mut tx, provider, "minute", cost, minute, now).await? {
            tx.rollback().await?;
            return Ok(Budget::MinuteUsedUp);
        }
        let day = per_day.unwrap_or(u32::MAX);
        if !Self::take_window(&mut tx, provider, "day", cost, day, now).await? {
            // The rollback takes back the minute's count.
            tx.rollback().await?;
            return Ok(Budget::DayUsedUp);
        }
        tx.commit().await?;
        Ok(Budget::Taken)
    }

    async fn requests_today(&self, provider: &str, now: OffsetDateTime) -> StoreResult<u64> {
        let used: Option<i64> = sqlx::query_scalar(sql::BUDGET_USED)
            .bind(provider)
            .bind("day")
            .bind(sql::micros(window(now, "day")))
            .fetch_optional(&self.pool)
            .await?;
        Ok(used.map_or(0, |u| u64::try_from(u).unwrap_or(0)))
    }

    async fn breaker(&self, provider: &str) -> StoreResult<Option<BreakerRecord>> {
        let row: Option<sql::BreakerRow> = sqlx::query_as(sql::BREAKER)
            .bind(provider)
            .fetch_optional(&self.pool)
            .await?;
        row.map(sql::BreakerRow::into_record).transpose()
    }

    async fn claim_trial(
        &self,
        provider: &str,
        now: OffsetDateTime,
        cool_down: time::Duration,
    ) -> StoreResult<bool> {
        let done = sqlx::query(sql::CLAIM_TRIAL)
            .bind(provider)
            .bind(sql::micros(now))
            .bind(sql::micros(now - cool_down))
            .execute(&self.pool)
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn release_trial(&self, provider: &str, claimed: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(sql::RELEASE_TRIAL)
            .bind(provider)
            .bind(sql::micros(claimed))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn breaker_succeeded(&self, provider: &str, now: OffsetDateTime) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::ENSURE_BREAKER)
            .bind(provider)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::BREAKER_SUCCEEDED)
            .bind(provider)
            .bind(sql::micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn breaker_failed(
        &self,
        provider: &str,
        now: OffsetDateTime,
        error: &str,
        counts: bool,
        threshold: u32,
        cool_down: time::Duration,
    ) -> StoreResult<BreakerRecord> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::ENSURE_BREAKER)
            .bind(provider)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::BREAKER_FAILED)
            .bind(provider)
            .bind(sql::micros(now))
            .bind(error)
            .bind(counts)
            .bind(i64::from(threshold))
            .bind(sql::micros(now + cool_down))
            .execute(&mut *tx)
            .await?;
        let row: sql::BreakerRow = sqlx::query_as(sql::BREAKER)
            .bind(provider)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        row.into_record()
    }
}
