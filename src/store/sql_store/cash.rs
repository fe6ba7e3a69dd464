//! Cash transactions: every write is in the owner's transaction (the kept portfolio page shows
//! cash), with its accounts made sure of as a holding transaction's are
//! ([`SqlStore::cash_accounts`]).

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::OwnerId;
use crate::domain::cash::{CashFields, CashTx};
use crate::store::backend::Col;
use crate::store::sql::{self, CashRow};
use crate::store::{Backend, CashStore, StoreError, StoreResult};

#[async_trait]
impl<B: Backend> CashStore for SqlStore<B>
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
    async fn cash_transactions(&self, owner: OwnerId) -> StoreResult<Vec<CashTx>> {
        let rows: Vec<CashRow<B::Dec>> = sqlx::query_as(sql::CASH_TRANSACTIONS)
            .bind(owner.0)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(CashRow::into_cash).collect()
    }

    async fn get_cash(&self, owner: OwnerId, id: i64) -> StoreResult<Option<CashTx>> {
        let mut conn = self.pool.acquire().await?;
        Self::cash_in(&mut conn, owner, id).await
    }

    async fn add_cash(&self, owner: OwnerId, fields: &CashFields) -> StoreResult<CashTx> {
        let mut tx = self.begin_owner(owner).await?;
        let id = Self::insert_cash(&mut tx, owner, fields, OffsetDateTime::now_utc()).await?;
        let added = Self::cash_in(&mut tx, owner, id)
            .await?
            .ok_or_else(|| StoreError::vanished("cash transaction", id))?;
        tx.commit().await?;
        Ok(added)
    }

    async fn update_cash(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &CashFields,
    ) -> StoreResult<Option<CashTx>> {
        let mut tx = self.begin_owner(owner).await?;
        let Some(old) = Self::cash_in(&mut tx, owner, id).await? else {
            return Ok(None);
        };
        let (account, to) = Self::cash_accounts(&mut tx, owner, fields, Some(old.account)).await?;
        sqlx::query(sql::UPDATE_CASH)
            .bind(account)
            .bind(fields.kind.as_str())
            .bind(fields.day)
            .bind(B::stored(fields.amount))
            .bind(fields.currency.as_str())
            .bind(to)
            .bind(fields.notes.as_deref())
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        let updated = Self::cash_in(&mut tx, owner, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_cash(&self, owner: OwnerId, id: i64) -> StoreResult<bool> {
        let mut tx = self.begin_owner(owner).await?;
        let done = sqlx::query(sql::DELETE_CASH)
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(B::rows_affected(&done) > 0)
    }
}
