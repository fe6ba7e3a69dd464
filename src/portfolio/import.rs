//! Importing transactions from a CSV file: every row checked before anything is written, then
//! every row written in one database transaction. Between its steps (upload, map, check,
//! write) a file is kept in the database, so any instance can take any step.
//!
//! Checks and writes are CPU and memory work: at most `IMPORT_WORKERS` run at once on an
//! instance, the others wait their turn in order (their page says how many are ahead). The
//! file is read row by row each time (its assets, its check, its write in batches), so memory
//! grows with a batch, not the file.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::domain::cash::CashBook;
use crate::domain::csv::{self, Checked, Known, Mapping, NewUpload, Stage, Upload};
use crate::domain::holding_account::{MAX_ACCOUNTS, account_name};
use crate::domain::{DomainError, OwnerId};
use crate::market::{QuoteError, QuoteService};
use crate::store::{Batches, IMPORT_BATCH, Store, StoreError, UPLOAD_PART};

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

/// Where a check asked for on this instance stands.
#[derive(Debug, Clone)]
pub enum CheckState {
    /// Waiting for a worker.
    Queued,
    /// Reading and checking the file.
    Running,
    /// Checked with this mapping.
    Done(Arc<(Checked, Mapping)>),
    /// The check could not run (the database or a price service failed); the text says why.
    Failed(String),
}

/// This instance's import work: the workers (at most `IMPORT_WORKERS` checks and writes at
/// once, the others waiting in order), the checks asked for and their results, and each
/// write's progress. Another instance serving a page reads the stage and progress last written
/// to the database instead; a check's result lives here (the load balancer keeps a browser on
/// one instance), and is checked again on another.
#[derive(Clone)]
pub struct Imports {
    workers: Arc<Semaphore>,
    /// Uploads waiting for a worker, oldest first.
    waiting: Arc<Mutex<VecDeque<String>>>,
    checks: moka::sync::Cache<String, Arc<Check>>,
    running: Arc<Mutex<HashMap<String, Arc<AtomicUsize>>>>,
    /// When writes still running give up (the server is stopping), once it is.
    give_up: Arc<watch::Sender<Option<tokio::time::Instant>>>,
    /// How long a check or commit request waits for its answer before the page shows the
    /// queue or the progress instead (`IMPORT_ANSWER_WAIT_SECS`).
    answer_wait: Duration,
}

impl Imports {
    /// `workers` checks or writes at once; a request waits `answer_wait` for its answer.
    pub fn new(workers: usize, answer_wait: Duration) -> Self {
        Imports {
            answer_wait,
            workers: Arc::new(Semaphore::new(workers.max(1))),
            waiting: Default::default(),
            checks: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(UPLOAD_IDLE)
                .build(),
            running: Default::default(),
            give_up: Arc::new(watch::channel(None).0),
        }
    }

    /// The server is stopping: no new write starts, and writes still running at `at` are
    /// rolled back and their uploads kept for another try ([`INTERRUPTED`]).
    pub fn stop(&self, at: tokio::time::Instant) {
        self.give_up.send_replace(Some(at));
    }

    fn stopping(&self) -> bool {
        self.give_up.borrow().is_some()
    }

    /// Resolves when the server stops and a write still running must give up.
    async fn gave_up(&self) {
        let mut give_up = self.give_up.subscribe();
        let at = match give_up.wait_for(Option::is_some).await {
            Ok(at) => *at,
            Err(_) => None,
        };
        match at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// Resolves once no write runs on this instance.
    pub async fn writes_done(&self) {
        while !self.lock().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A worker for the upload, once those ahead of it had theirs (first come, first served).
    async fn worker(&self, id: &str) -> OwnedSemaphorePermit {
        let _turn = Turn::take(self.waiting.clone(), id);
        match self.workers.clone().acquire_owned().await {
            Ok(permit) => permit,
            // The semaphore is never closed.
            Err(_) => unreachable!("import workers are never closed"),
        }
    }

    /// How many imports are ahead of the upload's in the queue (0: next), while it waits.
    pub fn ahead(&self, id: &str) -> Option<usize> {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let place = waiting.iter().position(|w| w == id)?;
        // Those running hold every worker; those in front of it wait for them.
        Some(place)
    }

    /// The check of the upload asked for on this instance, if any.
    pub fn check_state(&self, id: &str) -> Option<CheckState> {
        self.checks.get(id).map(|c| c.state.borrow().clone())
    }

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

/// A check asked for: its mapping and where it stands.
struct Check {
    mapping: Mapping,
    state: watch::Sender<CheckState>,
}

impl Check {
    fn new(mapping: &Mapping, state: CheckState) -> Arc<Check> {
        Arc::new(Check {
            mapping: mapping.clone(),
            state: watch::channel(state).0,
        })
    }
}

/// A place in the queue, given up when dropped (served, or the wait abandoned).
struct Turn {
    waiting: Arc<Mutex<VecDeque<String>>>,
    id: String,
}

impl Turn {
    fn take(waiting: Arc<Mutex<VecDeque<String>>>, id: &str) -> Turn {
        waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(id.to_string());
        Turn {
            waiting,
            id: id.to_string(),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(place) = waiting.iter().position(|w| *w == self.id) {
            waiting.remove(place);
        }
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
        let (content, _) = csv::to_utf8(content);
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
        note: None,
    })
}

/// Bytes of an upload read for its preview: enough for its first rows.
const SAMPLE_BYTES: usize = 64 * 1024;

/// The first `n` rows of an upload (cells as written), for the mapping page; none once it is
/// forgotten.
pub async fn sample(
    store: &dyn Store,
    owner: OwnerId,
    id: &str,
    n: usize,
) -> super::Result<Vec<Vec<String>>> {
    let Some(start) = store.upload_part(owner, id, 0, SAMPLE_BYTES).await? else {
        return Ok(Vec::new());
    };
    // A part may end inside a row (or a character): only whole rows before it count.
    let whole = start
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&start[..], |end| &start[..=end]);
    Ok(csv::sample(whole, n))
}

/// One of the owner's uploads, with the progress of its write when this instance runs it.
pub async fn find(
    store: &dyn Store,
    writes: &Imports,
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

/// What the page of an upload whose write was interrupted says.
pub const INTERRUPTED: &str = "Interrupted — the server stopped while this file was being \
     imported, and nothing of it was written. Check it and import it again.";

/// An upload whose check or write stopped with its instance: a check can be committed again;
/// a write wrote nothing (its database transaction never committed): the upload is kept for
/// another try, and says so.
async fn interrupted(store: &dyn Store, upload: &mut Upload, now: OffsetDateTime) {
    let (owner, id) = (upload.owner, upload.id.as_str());
    let moved = match upload.stage {
        Stage::Checking => {
            let (from, counts) = (Stage::Checking, (0, 0));
            store
                .move_upload(owner, id, &from, &Stage::Uploaded, counts, now)
                .await
        }
        _ => store.interrupt_upload(owner, id, INTERRUPTED, now).await,
    };
    match moved {
        Ok(true) => {
            if upload.stage == Stage::Writing {
                upload.note = Some(INTERRUPTED.into());
            }
            upload.stage = Stage::Uploaded;
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not record an interrupted import"),
    }
}

/// A file to import, read from its start as often as its check and write need: on the
/// blocking threads, never whole in memory when it is an upload.
pub trait File: Clone + Send + Sync + 'static {
    type Reader: Read;
    fn open(&self) -> Self::Reader;
    /// Why reading it stopped early, if it did (the database failed: not a problem of the file).
    fn failure(&self) -> Option<StoreError> {
        None
    }
}

/// A file already in memory (the command line's).
#[derive(Clone)]
pub struct InMemory(pub Arc<Vec<u8>>);

impl AsRef<[u8]> for InMemory {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl File for InMemory {
    type Reader = std::io::Cursor<InMemory>;
    fn open(&self) -> Self::Reader {
        std::io::Cursor::new(self.clone())
    }
}

/// An upload's file, read from the database [`UPLOAD_PART`] bytes at a time.
#[derive(Clone)]
struct Stored {
    store: Arc<dyn Store>,
    owner: OwnerId,
    id: Arc<str>,
    runtime: tokio::runtime::Handle,
    failed: Arc<Mutex<Option<StoreError>>>,
}

impl Stored {
    fn new(store: Arc<dyn Store>, owner: OwnerId, id: &str) -> Stored {
        Stored {
            store,
            owner,
            id: id.into(),
            runtime: tokio::runtime::Handle::current(),
            failed: Default::default(),
        }
    }
}

impl File for Stored {
    type Reader = Parts;
    fn open(&self) -> Parts {
        Parts {
            file: self.clone(),
            offset: 0,
            part: Vec::new(),
            at: 0,
        }
    }

    fn failure(&self) -> Option<StoreError> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Reads a stored upload a part at a time (on a blocking thread: it waits for the database).
struct Parts {
    file: Stored,
    offset: usize,
    part: Vec<u8>,
    at: usize,
}

impl Read for Parts {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.part.len() {
            let f = &self.file;
            let next =
                f.runtime.block_on(
                    f.store
                        .upload_part(f.owner, &f.id, self.offset, UPLOAD_PART),
                );
            let part = match next {
                Ok(Some(part)) => part,
                Ok(None) => {
                    let e = StoreError::Corrupt("the upload was forgotten while read".into());
                    return Err(self.fail(e));
                }
                Err(e) => return Err(self.fail(e)),
            };
            self.offset += part.len();
            (self.part, self.at) = (part, 0);
        }
        let n = buf.len().min(self.part.len() - self.at);
        buf[..n].copy_from_slice(&self.part[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Parts {
    fn fail(&self, e: StoreError) -> std::io::Error {
        let said = std::io::Error::other(e.to_string());
        *self.file.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        said
    }
}

/// What a person reads when a check could not run.
fn why_not_checked(e: &super::Error) -> String {
    match e {
        super::Error::Domain(e) => e.to_string(),
        super::Error::Store(e) if e.is_unavailable() => {
            "The file could not be checked: the database did not answer. Check again in a few seconds."
                .into()
        }
        other => {
            tracing::error!(error = %other, "an import check failed");
            "The file could not be checked because of a problem on our side. Check again.".into()
        }
    }
}

/// Checks an upload with `mapping` when a worker is free (see [`check`]), unless a check of it
/// is already waiting or running. The result, or `None` while it still waits or runs after
/// the answer wait, `IMPORT_ANSWER_WAIT_SECS` (its page shows where it stands and the result
/// once there).
pub async fn check_upload(
    store: Arc<dyn Store>,
    quotes: &QuoteService,
    imports: &Imports,
    owner: OwnerId,
    upload: &Upload,
    mapping: &Mapping,
) -> super::Result<Option<Arc<(Checked, Mapping)>>> {
    let id = upload.id.clone();
    // The same check asked for again while it waits or runs is not started twice; one with
    // another mapping is.
    let going = imports.checks.get(&id).filter(|c| {
        c.mapping == *mapping
            && matches!(*c.state.borrow(), CheckState::Queued | CheckState::Running)
    });
    let check = match going {
        Some(check) => check,
        None => {
            let check = Check::new(mapping, CheckState::Queued);
            imports.checks.insert(id.clone(), check.clone());
            let (quotes, imports, mapping) = (quotes.clone(), imports.clone(), mapping.clone());
            let tell = check.clone();
            tokio::spawn(async move {
                let _worker = imports.worker(&id).await;
                tell.state.send_replace(CheckState::Running);
                let checked = check_stored(&store, Some(&quotes), owner, &id, &mapping);
                tell.state.send_replace(match checked.await {
                    Ok((checked, _, _)) => CheckState::Done(Arc::new((checked, mapping))),
                    Err(e) => CheckState::Failed(why_not_checked(&e)),
                });
            });
            check
        }
    };
    let mut answer = check.state.subscribe();
    let done = answer.wait_for(|s| matches!(s, CheckState::Done(_) | CheckState::Failed(_)));
    match tokio::time::timeout(imports.answer_wait, done).await {
        Ok(Ok(state)) => match &*state {
            CheckState::Done(result) => Ok(Some(result.clone())),
            CheckState::Failed(why) => Err(DomainError::Unavailable(why.clone()).into()),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// Checks an upload's file with `mapping` (see [`check`]), read from the database.
async fn check_stored(
    store: &Arc<dyn Store>,
    quotes: Option<&QuoteService>,
    owner: OwnerId,
    id: &str,
    mapping: &Mapping,
) -> super::Result<(Checked, Known, Stored)> {
    if store.upload_size(owner, id).await?.is_none() {
        return Err(no_upload().into());
    }
    let file = Stored::new(store.clone(), owner, id);
    let (checked, known) = check(store.as_ref(), quotes, owner, file.clone(), mapping).await?;
    Ok((checked, known, file))
}

/// What a commit did.
pub enum Commit {
    /// Another commit of the upload is under way or done; nothing more was started.
    AlreadyStarted,
    /// The check found problems (listed); nothing was written.
    Refused(Arc<(Checked, Mapping)>),
    /// The upload waits for a worker, is being checked again, or its rows are being written in
    /// the background: its page shows which.
    Started,
}

/// Where a commit's background work stands, for the request that started it.
#[derive(Clone)]
enum Committing {
    Checking,
    Refused(Arc<(Checked, Mapping)>),
    Writing,
    Failed(String),
}

/// Checks the upload again (the portfolio may have changed since) when a worker is free and,
/// when every row passes, writes them all, all or nothing, in the background. One commit per
/// upload: its stage moves on, atomically, before anything else.
pub async fn commit_upload(
    store: Arc<dyn Store>,
    quotes: &QuoteService,
    imports: &Imports,
    owner: OwnerId,
    upload: &Upload,
    mapping: &Mapping,
) -> super::Result<Commit> {
    let id = upload.id.as_str();
    let now = OffsetDateTime::now_utc();
    if !store
        .move_upload(owner, id, &Stage::Uploaded, &Stage::Checking, (0, 0), now)
        .await?
    {
        return Ok(Commit::AlreadyStarted);
    }
    let (tell, mut answer) = watch::channel(Committing::Checking);
    tokio::spawn(commit_job(
        store,
        quotes.clone(),
        imports.clone(),
        owner,
        (id.to_string(), mapping.clone()),
        tell,
    ));
    let told = answer.wait_for(|c| !matches!(c, Committing::Checking));
    match tokio::time::timeout(imports.answer_wait, told).await {
        Ok(Ok(state)) => match &*state {
            Committing::Refused(result) => Ok(Commit::Refused(result.clone())),
            Committing::Failed(why) => Err(DomainError::Unavailable(why.clone()).into()),
            _ => Ok(Commit::Started),
        },
        _ => Ok(Commit::Started),
    }
}

/// A commit in the background: waits for a worker and checks the upload (saying it is alive
/// meanwhile), then writes its rows or, refused, puts it back for another try with the
/// problems for its page.
async fn commit_job(
    store: Arc<dyn Store>,
    quotes: QuoteService,
    imports: Imports,
    owner: OwnerId,
    (id, mapping): (String, Mapping),
    tell: watch::Sender<Committing>,
) {
    // Until the write starts, the upload goes back for another try, whatever happens here.
    let mut back = PutBack {
        store: Some(store.clone()),
        owner,
        id: id.clone(),
    };
    let checked = {
        let alive = keep_alive(store.as_ref(), owner, &id, &Stage::Checking, None);
        let work = async {
            let worker = imports.worker(&id).await;
            let checked = check_stored(&store, Some(&quotes), owner, &id, &mapping);
            (worker, checked.await)
        };
        tokio::select! {
            done = work => done,
            never = alive => match never {},
        }
    };
    let (worker, (checked, known, stored)) = match checked {
        (worker, Ok(done)) => (worker, done),
        (_, Err(e)) => {
            let why = why_not_checked(&e);
            let failed = CheckState::Failed(why.clone());
            imports
                .checks
                .insert(id.clone(), Check::new(&mapping, failed));
            tell.send_replace(Committing::Failed(why));
            return;
        }
    };
    if !checked.is_ok() {
        let result = Arc::new((checked, mapping.clone()));
        let done = CheckState::Done(result.clone());
        imports
            .checks
            .insert(id.clone(), Check::new(&mapping, done));
        tell.send_replace(Committing::Refused(result));
        return;
    }
    if imports.stopping() {
        // The server is stopping: the upload goes back (PutBack) for a try on another.
        tell.send_replace(Committing::Failed(
            "The server is restarting: nothing was imported. Import again in a moment.".into(),
        ));
        return;
    }
    // The accounts the file names that were to be created: created now it is confirmed.
    let mut known = known;
    if let Err(e) = create_accounts(store.as_ref(), owner, &mut known).await {
        tell.send_replace(Committing::Failed(why_not_checked(&e)));
        return;
    }
    let counts = (0, checked.rows);
    let now = OffsetDateTime::now_utc();
    match store
        .move_upload(owner, &id, &Stage::Checking, &Stage::Writing, counts, now)
        .await
    {
        Ok(true) => {}
        // Taken for interrupted meanwhile: the upload is someone else's to commit now.
        Ok(false) => {
            back.store = None;
            tell.send_replace(Committing::Writing);
            return;
        }
        Err(e) => {
            tell.send_replace(Committing::Failed(why_not_checked(&e.into())));
            return;
        }
    }
    back.store = None;
    imports.checks.invalidate(&id);
    // Counted before the request hears of it, so this instance's next page finds it.
    let written = imports.start(&id);
    tell.send_replace(Committing::Writing);
    let file = (stored, mapping, known, checked.rows);
    write_rows(store, (&imports, written), owner, &id, file).await;
    drop(worker);
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

/// The rows of a checked file, read again a batch at a time on a blocking thread while the
/// store writes the batches before. A file that cannot be read to its end ends the batches with
/// the error, so nothing of it is written.
fn batches<F: File>((file, mapping, known): (F, Mapping, Known)) -> Batches {
    let (send, batches) = tokio::sync::mpsc::channel(2);
    let today = today();
    tokio::task::spawn_blocking(move || {
        csv::rows(
            file.open(),
            &mapping,
            &known,
            today,
            IMPORT_BATCH,
            |batch| {
                // The write stopped (it failed): stop reading.
                send.blocking_send(Ok(batch)).is_ok()
            },
        );
        let end = match file.failure() {
            Some(e) => Err(e),
            None => Ok(Vec::new()),
        };
        let _ = send.blocking_send(end);
    });
    batches
}

/// Writes an upload's checked rows, all or nothing (the upload says done with them), and
/// records why when nothing was written.
async fn write_rows(
    store: Arc<dyn Store>,
    (imports, written): (&Imports, Arc<AtomicUsize>),
    owner: OwnerId,
    id: &str,
    (file, mapping, known, total): (Stored, Mapping, Known, usize),
) {
    let progress = |n: usize| written.store(n, Ordering::Relaxed);
    let mut rows = batches((file, mapping, known));
    let write = store.write_upload(owner, id, &mut rows, &progress);
    // Progress for other instances; a single instance (SQLite) serves it from memory.
    let report = keep_alive(store.as_ref(), owner, id, &Stage::Writing, Some(&written));
    let written_or_failed = async {
        if store.is_shared() {
            tokio::select! {
                outcome = write => outcome,
                never = report => match never {},
            }
        } else {
            write.await
        }
    };
    let outcome = tokio::select! {
        outcome = written_or_failed => Some(outcome),
        () = imports.gave_up() => None,
    };
    // The server is stopping and the write was not done: it was dropped, which rolled its
    // database transaction back; the upload is kept for another try.
    let Some(outcome) = outcome else {
        drop(rows);
        let now = OffsetDateTime::now_utc();
        match store.interrupt_upload(owner, id, INTERRUPTED, now).await {
            Ok(true) => tracing::warn!(
                upload = id,
                "the server is stopping: an import was rolled back and kept for another try"
            ),
            // Its commit had reached the database: the import is done.
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "could not record an interrupted import"),
        }
        imports.finish(id);
        return;
    };
    let failed = match outcome {
        // Done; or taken for interrupted meanwhile, which says nothing was written (true).
        Ok(_) => None,
        Err(StoreError::Rule(why)) => Some(format!("Nothing was imported: {why}")),
        Err(e) if e.is_unavailable() => Some(
            "Nothing was imported: the database did not answer during the write. Import again."
                .into(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "import failed");
            Some("Nothing was imported: the database refused the write. Try again.".into())
        }
    };
    if let Some(why) = failed {
        let counts = (written.load(Ordering::Relaxed), total);
        let (from, to) = (Stage::Writing, Stage::Failed(why));
        let now = OffsetDateTime::now_utc();
        if let Err(e) = store.move_upload(owner, id, &from, &to, counts, now).await {
            tracing::error!(error = %e, "could not record how an import ended");
        }
    }
    imports.finish(id);
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
/// together with those already stored. What is known of the file's assets comes back too, for
/// the write. Reading the file runs on the blocking pool (a 20 MiB file is about a second of
/// CPU), twice: once for its assets, once for the check.
pub async fn check(
    store: &dyn Store,
    quotes: Option<&QuoteService>,
    owner: OwnerId,
    file: impl File,
    mapping: &Mapping,
) -> super::Result<(Checked, Known)> {
    let today = today();
    let (assets, named) = {
        let (file, mapping) = (file.clone(), mapping.clone());
        super::blocking(move || {
            let found = csv::assets_and_accounts(file.open(), &mapping, today);
            file.failure().map_or(Ok(found), Err)
        })
        .await??
    };
    let mut known = Known {
        account: store.default_account(owner).await?,
        accounts: store
            .holding_accounts(owner)
            .await?
            .into_iter()
            .map(|a| (a.name.to_lowercase(), a.id))
            .collect(),
        ..Known::default()
    };
    if mapping.create_accounts {
        provide_accounts(&mut known, named);
    }
    let trades = store.transactions(owner, None).await?;
    let cash = store.cash_transactions(owner).await?;
    known.cash_held = CashBook::new(
        &cash,
        trades.iter().map(|t| (t.currency.as_str(), &t.amounts)),
    )
    .balances
    .into_keys()
    .collect();
    for t in trades {
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
    let mapping = mapping.clone();
    super::blocking(move || {
        let mut checked = csv::check(|| file.open(), &mapping, &known, today);
        checked.new_accounts = known.to_create.clone();
        file.failure()
            .map_or(Ok((checked, known)), |e| Err(e.into()))
    })
    .await?
}

/// Gives each account `named` in the file that the owner does not have (and whose name is one an
/// account may have, while there is room for more) a stand-in id, to be created on commit.
fn provide_accounts(known: &mut Known, named: Vec<String>) {
    let room = MAX_ACCOUNTS.saturating_sub(known.accounts.len());
    let missing = named
        .into_iter()
        .filter(|n| !known.accounts.contains_key(&n.to_lowercase()))
        .filter(|n| account_name(n).is_ok())
        .take(room)
        .collect::<Vec<_>>();
    for name in missing {
        let stand_in = -1 - known.to_create.len() as i64;
        known.accounts.insert(name.to_lowercase(), stand_in);
        known.to_create.push(name);
    }
}

/// Creates the accounts the check gave stand-in ids, and gives their rows the real ones (an
/// account made meanwhile under the same name is used as it is).
async fn create_accounts(
    store: &dyn Store,
    owner: OwnerId,
    known: &mut Known,
) -> super::Result<()> {
    for name in std::mem::take(&mut known.to_create) {
        let id = match super::holding_accounts::create(store, owner, &name).await {
            Ok(account) => account.id,
            Err(super::Error::Domain(DomainError::Conflict {
                existing_id: Some(id),
                ..
            })) => id,
            Err(e) => return Err(e),
        };
        known.accounts.insert(name.to_lowercase(), id);
    }
    Ok(())
}

/// Writes the rows of a file that [`check`] passed, all or nothing, reading it again a batch
/// at a time; `progress` hears the number written so far.
pub async fn commit(
    store: &dyn Store,
    owner: OwnerId,
    (file, mapping, mut known): (impl File, Mapping, Known),
    progress: &(dyn Fn(usize) + Send + Sync),
) -> super::Result<usize> {
    create_accounts(store, owner, &mut known).await?;
    let mut rows = batches((file, mapping, known));
    Ok(store
        .import_transactions(owner, &mut rows, progress)
        .await?)
}
