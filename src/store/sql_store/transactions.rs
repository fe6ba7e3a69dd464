//! Transactions: every write replays the holding's transactions in its database transaction.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::DomainError;
use crate::domain::holding_account::{HoldingAccount, MAX_ACCOUNTS};
use crate::domain::transaction::TxEdit;
use crate::domain::{ImportTx, OwnerId, Transaction, TxFields};
use crate::store::backend::Col;
use crate::store::sql::{self, TxRow};
use crate::store::{Backend, Batches, StoreError, StoreResult, TransactionStore};

#[async_trait]
impl<B: Backend> TransactionStore for SqlStore<B>
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
    async fn transactions(
        &self,
        owner: OwnerId,
        holding: Option<i64>,
    ) -> StoreResult<Vec<Transaction>> {
        if B::ROWS_AS_JSON {
            // One row for the lot: SQLite hands rows over one at a time.
            let list = sql::as_json_array(match holding {
                Some(_) => sql::HOLDING_TRANSACTIONS,
                None => sql::TRANSACTIONS,
            });
            let query = sqlx::query_scalar::<_, String>(&list).bind(owner.0);
            let text = match holding {
                Some(id) => query.bind(id),
                None => query,
            }
            .fetch_one(&self.pool)
            .await?;
            let rows: Vec<sql::JsonTxRow<'_>> = serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("transactions: {e}")))?;
            let items = rows
                .into_iter()
                .map(sql::JsonTxRow::into_transaction)
                .collect::<StoreResult<Vec<_>>>()?;
            // Built in the subquery's order (day, then id); a list out of it would be a bug.
            let key = |t: &Transaction| (t.amounts.day, t.id);
            if !items.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
                return Err(StoreError::Corrupt("transactions out of order".into()));
            }
            return Ok(items);
        }
        let rows: Vec<TxRow<B::Dec>> = match holding {
            Some(id) => {
                sqlx::query_as(sql::HOLDING_TRANSACTIONS)
                    .bind(owner.0)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as(sql::TRANSACTIONS)
                    .bind(owner.0)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.into_iter().map(TxRow::into_transaction).collect()
    }

    async fn holding_accounts(&self, owner: OwnerId) -> StoreResult<Vec<HoldingAccount>> {
        let mut conn = self.pool.acquire().await?;
        // Every user has one: the first list makes it.
        Self::default_account_in(&mut conn, owner).await?;
        let rows: Vec<(i64, String, OffsetDateTime, i64)> = sqlx::query_as(sql::HOLDING_ACCOUNTS)
            .bind(owner.0)
            .fetch_all(&mut *conn)
            .await?;
        // Oldest first: the first is the default one.
        Ok(rows
            .into_iter()
            .enumerate()
            .map(|(i, (id, name, created_at, count))| HoldingAccount {
                id,
                name,
                transactions: u64::try_from(count).unwrap_or_default(),
                default: i == 0,
                created_at,
            })
            .collect())
    }

    async fn default_account(&self, owner: OwnerId) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id = Self::default_account_in(&mut tx, owner).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn create_holding_account(&self, owner: OwnerId, name: &str) -> StoreResult<i64> {
        let mut tx = self.begin_owner(owner).await?;
        // The first account is the default one, made before any other.
        Self::default_account_in(&mut tx, owner).await?;
        let count: i64 = sqlx::query_scalar(sql::COUNT_ACCOUNTS)
            .bind(owner.0)
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_ACCOUNTS {
            return Err(StoreError::LimitReached);
        }
        let id = sqlx::query_scalar(sql::INSERT_ACCOUNT)
            .bind(owner.0)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        tx.commit().await?;
        Ok(id)
    }

    async fn rename_holding_account(
        &self,
        owner: OwnerId,
        id: i64,
        name: &str,
    ) -> StoreResult<bool> {
        // In the owner's transaction: the kept portfolio page, which names the accounts,
        // follows the new version.
        let mut tx = self.begin_owner(owner).await?;
        let done = sqlx::query(sql::RENAME_ACCOUNT)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        tx.commit().await?;
        Ok(B::rows_affected(&done) > 0)
    }

    async fn delete_holding_account(
        &self,
        owner: OwnerId,
        id: i64,
        move_to: Option<i64>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_owner(owner).await?;
        let owned = |id: i64| {
            sqlx::query_scalar::<_, i64>(sql::ACCOUNT_OWNED)
                .bind(id)
                .bind(owner.0)
        };
        if owned(id).fetch_optional(&mut *tx).await?.is_none() {
            return Ok(false);
        }
        let touched: Vec<i64> = sqlx::query_scalar(sql::ACCOUNT_HOLDINGS)
            .bind(id)
            .bind(owner.0)
            .fetch_all(&mut *tx)
            .await?;
        let cash: i64 = sqlx::query_scalar(sql::ACCOUNT_CASH)
            .bind(id)
            .bind(owner.0)
            .fetch_one(&mut *tx)
            .await?;
        if !touched.is_empty() || cash > 0 {
            // Every refusal here is the state of things (409): any id is well formed.
            let refuse = |m: &str| {
                StoreError::Rule(DomainError::Mismatch(vec![crate::domain::FieldError::new(
                    "move_to", m,
                )]))
            };
            let to = match move_to {
                None => {
                    return Err(refuse(
                        "This account has transactions: choose the account they move to.",
                    ));
                }
                Some(to) if to == id => {
                    return Err(refuse("Move the transactions to another account."));
                }
                Some(to) => to,
            };
            if owned(to).fetch_optional(&mut *tx).await?.is_none() {
                return Err(refuse(&format!("You have no account {to}.")));
            }
            for statement in [
                sql::MOVE_ACCOUNT_TRANSACTIONS,
                sql::DELETE_TRANSFERS_BETWEEN,
                sql::MOVE_ACCOUNT_CASH,
                sql::MOVE_ACCOUNT_TRANSFERS_IN,
            ] {
                sqlx::query(statement)
                    .bind(to)
                    .bind(id)
                    .bind(owner.0)
                    .execute(&mut *tx)
                    .await?;
            }
            Self::rederive(&mut tx, owner, touched).await?;
        }
        sqlx::query(sql::DELETE_ACCOUNT)
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Transaction>> {
        let mut conn = self.pool.acquire().await?;
        Self::transaction_in(&mut conn, owner, id).await
    }

    async fn add_transaction(
        &self,
        owner: OwnerId,
        holding_id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>> {
        let mut tx = self.begin_owner(owner).await?;
        let asset: Option<(String, String, String)> = sqlx::query_as(sql::HOLDING_ASSET)
            .bind(holding_id)
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((symbol, kind, currency)) = asset else {
            return Ok(None);
        };
        let (symbol, kind) = sql::parse_key(&symbol, &kind)?;
        let fields = &Self::in_account(&mut tx, owner, fields, None).await?;
        let edit = TxEdit::Add {
            fields,
            symbol: &symbol,
            kind,
            currency: &currency,
        };
        Self::check_and_derive(&mut tx, owner, holding_id, edit).await?;
        let id = Self::insert_transaction(&mut tx, owner, holding_id, fields).await?;
        let saved = Self::transaction_in(&mut tx, owner, id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn record_for_asset(&self, owner: OwnerId, row: &ImportTx) -> StoreResult<Transaction> {
        let mut tx = self.begin_owner(owner).await?;
        let now = OffsetDateTime::now_utc();
        let mut held = std::collections::HashMap::new();
        let ids =
            Self::holdings_for(&mut tx, owner, std::slice::from_ref(row), &mut held, now).await?;
        let holding_id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("no holding for the row".into()))?;
        let fields = &Self::in_account(&mut tx, owner, &row.fields, None).await?;
        let edit = TxEdit::Add {
            fields,
            symbol: &row.symbol,
            kind: row.kind,
            currency: row.currency.as_deref().unwrap_or("USD"),
        };
        Self::check_and_derive(&mut tx, owner, holding_id, edit).await?;
        let id = Self::insert_transaction(&mut tx, owner, holding_id, fields).await?;
        let saved = Self::transaction_in(&mut tx, owner, id)
            .await?
            .ok_or_else(|| StoreError::vanished("transaction", id))?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn update_transaction(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>> {
        let mut tx = self.begin_owner(owner).await?;
        let Some(current) = Self::transaction_in(&mut tx, owner, id).await? else {
            return Ok(None);
        };
        let holding_id = current.holding_id;
        // Unnamed, the account stays.
        let fields =
            &Self::in_account(&mut tx, owner, fields, Some(current.amounts.account)).await?;
        Self::check_and_derive(&mut tx, owner, holding_id, TxEdit::Update(id, fields)).await?;
        Self::write_transaction(&mut tx, owner, id, fields).await?;
        let saved = Self::transaction_in(&mut tx, owner, id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn delete_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<bool> {
        let mut tx = self.begin_owner(owner).await?;
        let holding_id: Option<i64> = sqlx::query_scalar(sql::HOLDING_OF_TRANSACTION)
            .bind(id)
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(holding_id) = holding_id else {
            return Ok(false);
        };
        Self::check_and_derive(&mut tx, owner, holding_id, TxEdit::Delete(id)).await?;
        sqlx::query(sql::DELETE_TRANSACTION)
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_transactions(
        &self,
        owner: OwnerId,
        batches: &mut Batches,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<usize> {
        let mut tx = self.begin_owner(owner).await?;
        let written = Self::import_rows(&mut tx, owner, batches, progress).await?;
        tx.commit().await?;
        Ok(written)
    }
}
