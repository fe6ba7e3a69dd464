//! Accounts, their settings, sessions and API tokens.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::{ApiToken, AssetKind, NewSession, OwnerId, Session, Symbol, User};
use crate::store::backend::Col;
use crate::store::sql;
use crate::store::{AccountStore, Backend, StoreError, StoreResult};

#[async_trait]
impl<B: Backend> AccountStore for SqlStore<B>
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
    async fn needs_setup(&self) -> StoreResult<bool> {
        let with_password: i64 = sqlx::query_scalar(sql::NEEDS_SETUP)
            .fetch_one(&self.pool)
            .await?;
        Ok(with_password == 0)
    }

    async fn setup_admin(&self, username: &str, password_hash: &str) -> StoreResult<User> {
        let done = sqlx::query(sql::SETUP_ADMIN)
            .bind(username)
            .bind(password_hash)
            .bind(true)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        if B::rows_affected(&done) == 0 {
            return Err(StoreError::Conflict);
        }
        let user: Option<sql::UserRow> = sqlx::query_as(sql::USER_BY_ID)
            .bind(1_i64)
            .fetch_optional(&self.pool)
            .await?;
        user.map(User::from)
            .ok_or_else(|| StoreError::Corrupt("the first account vanished".into()))
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> StoreResult<User> {
        let user: sql::UserRow = sqlx::query_as(sql::INSERT_USER)
            .bind(username)
            .bind(password_hash)
            .bind(is_admin)
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(user.into())
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        let user: Option<sql::UserRow> = sqlx::query_as(sql::USER_BY_NAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(user.map(User::from))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let users: Vec<sql::UserRow> = sqlx::query_as(sql::USERS).fetch_all(&self.pool).await?;
        Ok(users.into_iter().map(User::from).collect())
    }

    async fn set_password(&self, user: OwnerId, password_hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(sql::SET_PASSWORD)
            .bind(password_hash)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::DELETE_USER_SESSIONS)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        // A token made under the old password must not outlive it.
        sqlx::query(sql::DELETE_USER_TOKENS)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(B::rows_affected(&done) > 0)
    }

    async fn base_currency(&self, owner: OwnerId) -> StoreResult<String> {
        let currency: Option<String> = sqlx::query_scalar(sql::BASE_CURRENCY)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(currency.unwrap_or_else(|| "USD".into()))
    }

    async fn set_base_currency(&self, owner: OwnerId, currency: &str) -> StoreResult<()> {
        // The version bump makes every instance's cached totals follow.
        let mut tx = self.begin_owner(owner).await?;
        sqlx::query(sql::SET_BASE_CURRENCY)
            .bind(currency)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn benchmark(&self, owner: OwnerId) -> StoreResult<Option<(Symbol, AssetKind)>> {
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(sql::BENCHMARK)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some((Some(symbol), Some(kind))) = row else {
            return Ok(None);
        };
        // Written checked; a value that no longer parses is no benchmark.
        Ok(Symbol::parse(&symbol).ok().zip(kind.parse().ok()))
    }

    async fn set_benchmark(
        &self,
        owner: OwnerId,
        benchmark: Option<(&Symbol, AssetKind)>,
    ) -> StoreResult<()> {
        // The version bump makes every instance's kept pages follow.
        let mut tx = self.begin_owner(owner).await?;
        sqlx::query(sql::SET_BENCHMARK)
            .bind(benchmark.map(|(s, _)| s.as_str()))
            .bind(benchmark.map(|(_, k)| k.as_str()))
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_table_columns(&self, owner: OwnerId, columns: Option<&str>) -> StoreResult<()> {
        // Read with the session, so the next page (and its kept copy's key) follows at once.
        sqlx::query(sql::SET_TABLE_COLUMNS)
            .bind(columns)
            .bind(owner.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(&session.id_hash)
            .bind(session.user.0)
            .bind(&session.csrf_token)
            .bind(session.created_at)
            .bind(session.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<Option<Session>> {
        let row: Option<sql::SessionRow> = sqlx::query_as(sql::SESSION)
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(sql::SessionRow::into_session))
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(sql::TOUCH_SESSION)
            .bind(id_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_token(
        &self,
        user: OwnerId,
        label: &str,
        prefix: &str,
        token_hash: &str,
    ) -> StoreResult<ApiToken> {
        let token: sql::TokenRow = sqlx::query_as(sql::INSERT_TOKEN)
            .bind(user.0)
            .bind(label)
            .bind(prefix)
            .bind(token_hash)
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(token.into())
    }

    async fn tokens(&self, user: OwnerId) -> StoreResult<Vec<ApiToken>> {
        let tokens: Vec<sql::TokenRow> = sqlx::query_as(sql::TOKENS)
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(tokens.into_iter().map(ApiToken::from).collect())
    }

    async fn revoke_token(&self, user: OwnerId, id: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::REVOKE_TOKEN)
            .bind(id)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(B::rows_affected(&done) > 0)
    }

    async fn user_by_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        let row: Option<sql::TokenUserRow> = sqlx::query_as(sql::USER_BY_TOKEN)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        // Noted at most once a minute, so API calls rarely write.
        if row
            .last_used_at
            .is_none_or(|t| now - t > time::Duration::minutes(1))
        {
            sqlx::query(sql::TOKEN_USED)
                .bind(token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(row.user.into()))
    }
}
