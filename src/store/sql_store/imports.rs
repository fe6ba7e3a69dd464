//! Import uploads, so any instance can take any step of an import.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::OwnerId;
use crate::domain::csv::{NewUpload, Stage, Upload};
use crate::store::backend::Col;
use crate::store::sql;
use crate::store::{Backend, ImportStore, StoreError, StoreResult};

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
{
    async fn create_upload(&self, upload: &NewUpload, now: OffsetDateTime) -> StoreResult<()> {
        let headers = serde_json::to_string(&upload.headers)
            .map_err(|e| StoreError::Corrupt(format!("upload headers: {e}")))?;
        sqlx::query(sql::INSERT_UPLOAD)
            .bind(upload.id.as_str())
            .bind(upload.owner.0)
            .bind(upload.file_name.as_str())
            .bind(upload.content.clone())
            .bind(headers)
            .bind(now)
            .execute(&self.pool)
            .await?;
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
            .bind(used_since)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query(sql::UPLOAD_USED)
            .bind(owner.0)
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        row.into_upload().map(Some)
    }

    async fn upload_content(&self, owner: OwnerId, id: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(sql::UPLOAD_CONTENT)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn move_upload(
        &self,
        owner: OwnerId,
        id: &str,
        from: &Stage,
        to: &Stage,
    ) -> StoreResult<bool> {
        let done = sqlx::query(sql::MOVE_UPLOAD)
            .bind(owner.0)
            .bind(id)
            .bind(to.as_str())
            .bind(to.message())
            .bind(from.as_str())
            .execute(&self.pool)
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn set_upload(
        &self,
        owner: OwnerId,
        id: &str,
        stage: &Stage,
        written: usize,
        total: usize,
    ) -> StoreResult<()> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let written = match stage {
            Stage::Done(n) => *n,
            _ => written,
        };
        sqlx::query(sql::SET_UPLOAD)
            .bind(owner.0)
            .bind(id)
            .bind(stage.as_str())
            .bind(stage.message())
            .bind(count(written))
            .bind(count(total))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn upload_progress(&self, owner: OwnerId, id: &str, written: usize) -> StoreResult<()> {
        sqlx::query(sql::UPLOAD_PROGRESS)
            .bind(owner.0)
            .bind(id)
            .bind(i64::try_from(written).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_uploads(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query(sql::PURGE_UPLOADS)
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(B::rows_affected(&done))
    }
}
