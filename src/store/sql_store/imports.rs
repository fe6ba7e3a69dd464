//! Import uploads, so any instance can take any step of an import.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::OwnerId;
use crate::domain::csv::{NewUpload, Stage, Upload};
use crate::store::backend::Col;
use crate::store::sql;
use crate::store::{Backend, Batches, ImportStore, StoreError, StoreResult};

#[async_trait]
impl<B: Backend> ImportStore for SqlStore<B>
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
    for<'a> &'a [u8]: Encode<'a, B::Db> + Type<B::Db>,
{
    async fn create_upload(
        &self,
        upload: &NewUpload,
        now: OffsetDateTime,
        keep: usize,
    ) -> StoreResult<()> {
        let headers = serde_json::to_string(&upload.headers)
            .map_err(|e| StoreError::Corrupt(format!("upload headers: {e}")))?;
        let mut tx = self.pool.begin().await?;
        if let Some(lock) = B::LOCK_OWNER {
            // Two uploads of one owner at once keep to the limit, and never deadlock.
            sqlx::query(lock)
                .bind(upload.owner.0)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(sql::INSERT_UPLOAD)
            .bind(upload.id.as_str())
            .bind(upload.owner.0)
            .bind(upload.file_name.as_str())
            .bind(upload.content.as_slice())
            .bind(headers)
            .bind(sql::micros(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::OLDER_UPLOADS)
            .bind(upload.owner.0)
            .bind(i64::try_from(keep).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn upload(
        &self,
        owner: OwnerId,
        id: &str,
        used_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Upload>> {
        let row: Option<sql::UploadRow> = sqlx::query_as(sql::UPLOAD)
            .bind(owner.0)
            .bind(id)
            .bind(sql::micros(used_since))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let stale = sql::micros(now) - row.used_us > NOTE_USE_EVERY_US;
        let upload = row.into_upload()?;
        if stale && upload.stage != Stage::Writing {
            let noted = sqlx::query(sql::UPLOAD_USED)
                .bind(owner.0)
                .bind(id)
                .bind(sql::micros(now))
                .execute(&self.pool)
                .await;
            if let Err(e) = noted {
                tracing::debug!(error = %e, "could not note an upload's use");
            }
        }
        Ok(Some(upload))
    }

    async fn upload_size(&self, owner: OwnerId, id: &str) -> StoreResult<Option<usize>> {
        let size: Option<i64> = sqlx::query_scalar(sql::UPLOAD_SIZE)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(size.and_then(|s| usize::try_from(s).ok()))
    }

    async fn upload_part(
        &self,
        owner: OwnerId,
        id: &str,
        offset: usize,
        len: usize,
    ) -> StoreResult<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(sql::UPLOAD_PART)
            .bind(owner.0)
            .bind(id)
            .bind(count(offset).saturating_add(1))
            .bind(count(len))
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn move_upload(
        &self,
        owner: OwnerId,
        id: &str,
        from: &Stage,
        to: &Stage,
        counts: (usize, usize),
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let moved = Self::move_upload_in(&mut tx, owner, id, from, to, counts, now).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn upload_beat(
        &self,
        owner: OwnerId,
        id: &str,
        stage: &Stage,
        written: usize,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(sql::UPLOAD_BEAT)
            .bind(owner.0)
            .bind(id)
            .bind(count(written))
            .bind(sql::micros(now))
            .bind(stage.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn write_upload(
        &self,
        owner: OwnerId,
        id: &str,
        batches: &mut Batches,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<Option<usize>> {
        let mut tx = self.begin_owner(owner).await?;
        let written = Self::import_rows(&mut tx, owner, batches, progress).await?;
        let now = OffsetDateTime::now_utc();
        let (writing, done) = (Stage::Writing, Stage::Done(written));
        let counts = (written, written);
        if !Self::move_upload_in(&mut tx, owner, id, &writing, &done, counts, now).await? {
            // Dropping the transaction takes every row back.
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(written))
    }

    async fn interrupt_upload(
        &self,
        owner: OwnerId,
        id: &str,
        note: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(sql::INTERRUPT_UPLOAD)
            .bind(owner.0)
            .bind(id)
            .bind(note)
            .bind(sql::micros(now))
            .execute(&self.pool)
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn purge_uploads(
        &self,
        before: OffsetDateTime,
        alive_since: OffsetDateTime,
    ) -> StoreResult<u64> {
        let done = sqlx::query(sql::PURGE_UPLOADS)
            .bind(sql::micros(before))
            .bind(sql::micros(alive_since))
            .execute(&self.pool)
            .await?;
        Ok(B::rows_affected(&done))
    }
}

/// A count as stored.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How often an upload's use is noted (it is kept an hour after its last use).
const NOTE_USE_EVERY_US: i64 = 5 * 60 * 1_000_000;
