//! Importing transactions from a CSV file: every row checked before anything is written, then
//! every row written in one database transaction. Between its steps (upload, map, check,
//! write) a file is kept in the database, so any instance can take any step.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::csv::{self, Checked, Known, Mapping, NewUpload, Stage, Upload};
use crate::domain::{DomainError, ImportTx, OwnerId};
use crate::market::{QuoteError, QuoteService};
use crate::store::{Store, StoreError};

use super::{auth, today};

/// An upload is kept this long after its last use.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(3600);
/// Most uploads kept per account; a new one makes the oldest go.
pub const UPLOADS_KEPT: usize = 5;
/// How often a running check or write says it is alive (with a write's progress), for other
/// instances.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// A check or write whose instance has not said it is alive for this long was interrupted
/// (the instance stopped): nothing of it was written.
pub const INTERRUPTED_AFTER: time::Duration = time::Duration::minutes(2);

/// Imports this instance is writing: rows written so far, by upload id. Another instance
/// serving the progress page reads what was last written to the database instead.
#[derive(Clone, Default)]
pub struct Writes {
    running: Arc<Mutex<HashMap<String, Arc<AtomicUsize>>>>,
}

impl Writes {
    fn start(&self, id: &str) -> Arc<AtomicUsize> {
        let written = Arc::new(AtomicUsize::new(0));
        self.lock().insert(id.to_string(), written.clone());
        written
    }

    fn finish(&self, id: &str) {
        self.lock().remove(id);
    }

    fn written(&self, id: &str) -> Option<usize> {
        self.lock().get(id).map(|w| w.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicUsize>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a person reads for an upload that is not theirs, expired, or never was.
fn no_upload() -> DomainError {
    DomainError::NotFound(
        "There is no such import (an upload is kept for an hour). Upload the file again.".into(),
    )
}

/// Keeps an uploaded file for its next steps, once its header row reads as CSV with at most
/// [`csv::MAX_COLUMNS`] columns.
pub async fn upload(
    store: &dyn Store,
    owner: OwnerId,
    file_name: String,
    content: Vec<u8>,
) -> super::Result<Upload> {
    let (content, headers) = super::blocking(move || {
        let headers = csv::headers(&content);
        (content, headers)
    })
    .await?;
    let headers = headers.map_err(|m| DomainError::field("file", m))?;
    if headers.len() > csv::MAX_COLUMNS {
        return Err(DomainError::field(
            "file",
            format!(
                "The file has {} columns; at most {} are read.",
                headers.len(),
                csv::MAX_COLUMNS
            ),
        )
        .into());
    }
    let new = NewUpload {
        id: auth::random_hex(16)?,
        owner,
        file_name,
        content,
        headers,
    };
    let now = OffsetDateTime::now_utc();
    store.create_upload(&new, now, UPLOADS_KEPT).await?;
    Ok(Upload {
        id: new.id,
        owner,
        file_name: new.file_name,
        headers: new.headers,
        stage: Stage::Uploaded,
        written: 0,
        total: 0,
        beat: now,
    })
}

/// One of the owner's uploads, with the progress of its write when this instance runs it.
pub async fn find(
    store: &dyn Store,
    writes: &Writes,
    owner: OwnerId,
    id: &str,
) -> super::Result<Upload> {
    let now = OffsetDateTime::now_utc();
    let mut upload = store
        .upload(owner, id, now - UPLOAD_IDLE, now)
        .await?
        .ok_or_else(no_upload)?;
    if let Some(written) = writes.written(id) {
        upload.written = written;
    } else if matches!(upload.stage, Stage::Checking | Stage::Writing)
        && now - upload.beat > INTERRUPTED_AFTER
    {
        interrupted(store, &mut upload, now).await;
    }
    Ok(upload)
}

/// An upload whose check or write stopped with its instance: a check can be committed again;
/// a write wrote nothing (its database transaction never committed), and says so.
async fn interrupted(store: &dyn Store, upload: &mut Upload, now: OffsetDateTime) {
    let to = match upload.stage {
        Stage::Checking => Stage::Uploaded,
        _ => Stage::Failed(
            "Nothing was imported: the import was interrupted (the server stopped). Import the file again."
                .into(),
        ),
    };
    let counts = (upload.written, upload.total);
    match store
        .move_upload(upload.owner, &upload.id, &upload.stage, &to, counts, now)
        .await
    {
        Ok(true) => upload.stage = to,
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not record an interrupted import"),
    }
}

async fn content(store: &dyn Store, owner: OwnerId, id: &str) -> super::Result<Arc<[u8]>> {
    Ok(store
        .upload_content(owner, id)
        .await?
        .ok_or_else(no_upload)?
        .into())
}

/// Checks an upload with `mapping` (see [`check`]).
pub async fn check_upload(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    upload: &Upload,
    mapping: &Mapping,
) -> super::Result<Checked> {
    let content = content(store, owner, &upload.id).await?;
    check(store, Some(quotes), owner, content, mapping).await
}

/// What a commit did.
pub enum Commit {
    /// Another commit of the upload is under way or done; nothing more was started.
    AlreadyStarted,
    /// The check found problems (listed); nothing was written.
    Refused(Checked),
    /// Every row is being written in the background.
    Started,
}

/// Checks the upload again (the portfolio may have changed since) and, when every row passes,
/// writes them all in the background, all or nothing. One commit per upload: its stage moves
/// on, atomically, before anything else.
pub async fn commit_upload(
    store: Arc<dyn Store>,
    quotes: &QuoteService,
    writes: &Writes,
    owner: OwnerId,
    upload: &Upload,
    mapping: &Mapping,
) -> super::Result<Commit> {
    let id = upload.id.as_str();
    let now = OffsetDateTime::now_utc;
    if !store
        .move_upload(owner, id, &Stage::Uploaded, &Stage::Checking, (0, 0), now())
        .await?
    {
        return Ok(Commit::AlreadyStarted);
    }
    // Until the write starts, the upload goes back for another try, whatever happens to this
    // request (an error, a refusal, the client gone).
    let mut back = PutBack {
        store: Some(store.clone()),
        owner,
        id: id.to_string(),
    };
    let check = check_upload(store.as_ref(), quotes, owner, upload, mapping);
    let alive = keep_alive(store.as_ref(), owner, id, &Stage::Checking, None);
    let checked = tokio::select! {
        checked = check => checked?,
        never = alive => match never {},
    };
    if !checked.is_ok() {
        return Ok(Commit::Refused(checked));
    }
    let counts = (0, checked.rows.len());
    if !store
        .move_upload(owner, id, &Stage::Checking, &Stage::Writing, counts, now())
        .await?
    {
        // Taken for interrupted meanwhile: the upload is someone else's to commit now.
        back.store = None;
        return Ok(Commit::AlreadyStarted);
    }
    back.store = None;
    // Counted here, so this instance's next progress page finds it.
    let written = writes.start(id);
    tokio::spawn(write_rows(
        store,
        (writes.clone(), written),
        owner,
        id.to_string(),
        checked.rows,
    ));
    Ok(Commit::Started)
}

/// Puts an upload being checked back to `uploaded` when dropped, unless its `store` was taken.
struct PutBack {
    store: Option<Arc<dyn Store>>,
    owner: OwnerId,
    id: String,
}

impl Drop for PutBack {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let (owner, id) = (self.owner, std::mem::take(&mut self.id));
        tokio::spawn(async move {
            let (from, to) = (Stage::Checking, Stage::Uploaded);
            let now = OffsetDateTime::now_utc();
            if let Err(e) = store.move_upload(owner, &id, &from, &to, (0, 0), now).await {
                tracing::warn!(error = %e, "could not put an upload back after its check");
            }
        });
    }
}

/// Writes an upload's checked rows, all or nothing (the upload says done with them), and
/// records why when nothing was written.
async fn write_rows(
    store: Arc<dyn Store>,
    (writes, written): (Writes, Arc<AtomicUsize>),
    owner: OwnerId,
    id: String,
    rows: Vec<ImportTx>,
) {
    let progress = |n: usize| written.store(n, Ordering::Relaxed);
    let write = store.write_upload(owner, &id, &rows, &progress);
    // Progress for other instances; a single instance (SQLite) serves it from memory.
    let report = keep_alive(store.as_ref(), owner, &id, &Stage::Writing, Some(&written));
    let outcome = if store.is_shared() {
        tokio::select! {
            outcome = write => outcome,
            never = report => match never {},
        }
    } else {
        write.await
    };
    let failed = match outcome {
        // Done; or taken for interrupted meanwhile, which says nothing was written (true).
        Ok(_) => None,
        Err(StoreError::Rule(why)) => Some(format!("Nothing was imported: {why}")),
        Err(e) => {
            tracing::error!(error = %e, "import failed");
            Some("Nothing was imported: the database refused the write. Try again.".into())
        }
    };
    if let Some(why) = failed {
        let counts = (written.load(Ordering::Relaxed), rows.len());
        let (from, to) = (Stage::Writing, Stage::Failed(why));
        let now = OffsetDateTime::now_utc();
        if let Err(e) = store.move_upload(owner, &id, &from, &to, counts, now).await {
            tracing::error!(error = %e, "could not record how an import ended");
        }
    }
    writes.finish(&id);
}

/// Says every [`PROGRESS_EVERY`] that the check or write of an upload at `stage` is alive,
/// with the rows `written` so far (a write's), so no instance takes it for interrupted; one
/// that lands after the stage moved on changes nothing.
async fn keep_alive(
    store: &dyn Store,
    owner: OwnerId,
    id: &str,
    stage: &Stage,
    written: Option<&AtomicUsize>,
) -> std::convert::Infallible {
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let rows = written.map_or(0, |w| w.load(Ordering::Relaxed));
        let now = OffsetDateTime::now_utc();
        if let Err(e) = store.upload_beat(owner, id, stage, rows, now).await {
            tracing::debug!(error = %e, "could not say an import is alive");
        }
    }
}

/// Checks a file with `mapping`: each field (dates, numbers, types), unknown symbols (asked of
/// the price services once per symbol, when `quotes` is given; a service that is down does
/// not make a symbol unknown), currencies against the asset's, and each asset's transactions
/// together with those already stored. Reading and checking the rows runs on the blocking
/// pool (a 20 MiB file is about a second of CPU).
pub async fn check(
    store: &dyn Store,
    quotes: Option<&QuoteService>,
    owner: OwnerId,
    content: Arc<[u8]>,
    mapping: &Mapping,
) -> super::Result<Checked> {
    let today = today();
    let read = {
        let mapping = mapping.clone();
        super::blocking(move || csv::read(&content, &mapping, today)).await?
    };
    let assets = read.assets();
    let mut known = Known::default();
    for t in store.transactions(owner, None).await? {
        let key = (t.symbol.clone(), t.asset_kind);
        if assets.contains(&key) {
            known
                .held
                .entry(key)
                .or_insert_with(|| (t.currency.clone(), Vec::new()))
                .1
                .push(t.amounts);
        }
    }
    let to_find: Vec<_> = assets
        .iter()
        .filter(|k| !known.held.contains_key(*k))
        .cloned()
        .collect();
    for key in &to_find {
        if let Some(h) = store.find_holding(owner, &key.0, key.1).await? {
            known
                .held
                .insert(key.clone(), (h.asset.currency, Vec::new()));
        }
    }
    if let Some(quotes) = quotes {
        let asks: Vec<_> = to_find
            .iter()
            .filter(|k| !known.held.contains_key(*k) && k.1.is_market_priced())
            .cloned()
            .collect();
        let answers =
            futures::future::join_all(asks.iter().map(|(s, k)| quotes.quote_to_check(s, *k))).await;
        for (key, answer) in asks.into_iter().zip(answers) {
            match answer {
                Ok(q) => {
                    known.described.insert(key, (q.name, q.currency));
                }
                Err(QuoteError::NotFound(_)) => {
                    known.unknown.insert(key);
                }
                Err(_) => {}
            }
        }
    }
    super::blocking(move || csv::settle(read, &known, today)).await
}

/// Writes checked rows, all or nothing; `progress` hears the number written so far.
pub async fn commit(
    store: &dyn Store,
    owner: OwnerId,
    rows: &[ImportTx],
    progress: &(dyn Fn(usize) + Send + Sync),
) -> super::Result<usize> {
    Ok(store.import_transactions(owner, rows, progress).await?)
}
