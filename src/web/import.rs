//! CSV import (upload, column mapping, a check of every row, then an all-or-nothing write with
//! progress) and CSV export of transactions and holdings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::extract::{PageForm, PagePath};
use super::pages::Layout;
use super::session::Authed;
use crate::auth;
use crate::csv_io::{self, Checked, FIELDS, Mapping, RowProblem};
use crate::domain::AssetKind;
use crate::error::{AppError, PageError};
use crate::portfolio::{self, SortDir, SortKey};
use crate::store::{ImportTx, OwnerId};

pub fn router(max_upload: usize) -> Router<AppState> {
    Router::new()
        .route("/import", get(upload_page))
        .route(
            "/import",
            post(upload).layer(DefaultBodyLimit::max(max_upload.saturating_add(64 * 1024))),
        )
        .route("/import/{id}", get(import_page))
        .route("/import/{id}/check", post(check))
        .route("/import/{id}/commit", post(commit))
        .route("/export/transactions.csv", get(export_transactions))
        .route("/export/holdings.csv", get(export_holdings))
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Uploaded,
    /// A commit is checking the file again (a second commit meanwhile does nothing).
    Checking,
    Writing,
    Done(usize),
    Failed(String),
}

/// A file being imported: kept in memory (at most an hour) between its steps.
pub struct Upload {
    owner: OwnerId,
    file_name: String,
    content: Vec<u8>,
    headers: Vec<String>,
    stage: Mutex<Stage>,
    written: AtomicUsize,
    total: AtomicUsize,
}

impl Upload {
    fn stage(&self) -> Stage {
        self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_stage(&self, stage: Stage) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = stage;
    }
}

/// Uploads by id, each only for its owner.
#[derive(Clone)]
pub struct Imports {
    uploads: moka::sync::Cache<String, Arc<Upload>>,
}

impl Default for Imports {
    fn default() -> Self {
        Imports {
            uploads: moka::sync::Cache::builder()
                // Weighed by size: at most 256 MiB of files held at once.
                .weigher(|_, u: &Arc<Upload>| {
                    u32::try_from(u.content.len() / 1024 + 1).unwrap_or(u32::MAX)
                })
                .max_capacity(256 * 1024)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl Imports {
    fn get(&self, owner: OwnerId, id: &str) -> Result<Arc<Upload>, AppError> {
        self.uploads
            .get(id)
            .filter(|u| u.owner == owner)
            .ok_or_else(|| {
                AppError::NotFound(
                    "There is no such import (an upload is kept for an hour). Upload the file again."
                        .into(),
                )
            })
    }
}

// ----- pages --------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub struct UploadPage {
    layout: Layout,
    error: Option<String>,
    max_mib: usize,
}

async fn upload_page(State(state): State<AppState>, auth: Authed) -> UploadPage {
    UploadPage {
        layout: Layout::new("portfolio", &auth),
        error: None,
        max_mib: state.config.import_max_bytes >> 20,
    }
}

fn upload_error(state: &AppState, auth: &Authed, status: StatusCode, error: String) -> Response {
    (
        status,
        UploadPage {
            layout: Layout::new("portfolio", auth),
            error: Some(error),
            max_mib: state.config.import_max_bytes >> 20,
        },
    )
        .into_response()
}

/// Takes the file (multipart: a `csrf` field, then `file`), checks its header row and goes on
/// to the mapping step.
async fn upload(State(state): State<AppState>, auth: Authed, mut form: Multipart) -> Response {
    let limit = state.config.import_max_bytes;
    let mut csrf_ok = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let status = e.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    format!("The file is larger than {} MiB.", limit >> 20)
                } else {
                    format!("The upload could not be read: {}", e.body_text())
                };
                return upload_error(&state, &auth, status, message);
            }
        };
        match field.name() {
            Some("csrf") => {
                let sent = field.text().await.unwrap_or_default();
                csrf_ok = auth::constant_time_eq(sent.as_bytes(), auth.csrf.as_bytes());
            }
            Some("file") if csrf_ok => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) if bytes.len() <= limit => file = Some((name, bytes.to_vec())),
                    Ok(_) => {
                        return upload_error(
                            &state,
                            &auth,
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("The file is larger than {} MiB.", limit >> 20),
                        );
                    }
                    Err(e) => {
                        return upload_error(
                            &state,
                            &auth,
                            e.status(),
                            format!("The upload could not be read: {}", e.body_text()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return PageError(AppError::Forbidden(
            "This form has expired or did not come from this site, so nothing was changed. Reload the page and try again.".into(),
        ))
        .into_response();
    }
    let Some((file_name, content)) = file.filter(|(_, c)| !c.is_empty()) else {
        return upload_error(
            &state,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a CSV file to upload.".into(),
        );
    };
    let headers = match csv_io::headers(&content) {
        Ok(h) if h.len() > csv_io::MAX_COLUMNS => {
            return upload_error(
                &state,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "The file has {} columns; at most {} are read.",
                    h.len(),
                    csv_io::MAX_COLUMNS
                ),
            );
        }
        Ok(h) => h,
        Err(message) => {
            return upload_error(&state, &auth, StatusCode::UNPROCESSABLE_ENTITY, message);
        }
    };
    let id = match auth::random_hex(16) {
        Ok(id) => id,
        Err(e) => return PageError(AppError::Internal(e)).into_response(),
    };
    state.imports.uploads.insert(
        id.clone(),
        Arc::new(Upload {
            owner: auth.user.owner(),
            file_name,
            content,
            headers,
            stage: Mutex::new(Stage::Uploaded),
            written: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }),
    );
    Redirect::to(&format!("/import/{id}")).into_response()
}

/// One field's column choice on the mapping form.
pub struct FieldChoice {
    pub field: &'static str,
    pub required: bool,
    /// `(column index, header, selected)`.
    pub options: Vec<(usize, String, bool)>,
    pub none_selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "import_map.html")]
pub struct ImportPage {
    layout: Layout,
    id: String,
    file_name: String,
    stage: &'static str,
    choices: Vec<FieldChoice>,
    kinds: Vec<(&'static str, bool)>,
    /// After a check: every problem, or the rows ready to write.
    checked: Option<CheckView>,
    written: usize,
    total: usize,
    percent: usize,
    message: Option<String>,
}

pub struct CheckView {
    pub rows: usize,
    pub ok: bool,
    pub problems: Vec<RowProblem>,
    pub problem_count: usize,
    pub preview: Vec<Vec<String>>,
    /// The mapping, carried to the commit form.
    pub hidden: Vec<(String, String)>,
}

fn choices(headers: &[String], mapping: &Mapping) -> Vec<FieldChoice> {
    FIELDS
        .into_iter()
        .map(|field| {
            let chosen = mapping.columns.get(field).copied();
            FieldChoice {
                field,
                required: csv_io::REQUIRED.contains(&field),
                options: headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        (
                            i,
                            if h.is_empty() {
                                format!("column {}", i + 1)
                            } else {
                                h.clone()
                            },
                            chosen == Some(i),
                        )
                    })
                    .collect(),
                none_selected: chosen.is_none(),
            }
        })
        .collect()
}

fn kinds(selected: Option<AssetKind>) -> Vec<(&'static str, bool)> {
    AssetKind::ALL
        .into_iter()
        .map(|k| (k.as_str(), Some(k) == selected))
        .collect()
}

fn page(
    auth: &Authed,
    id: &str,
    upload: &Upload,
    mapping: &Mapping,
    checked: Option<CheckView>,
) -> ImportPage {
    let (stage, message) = match upload.stage() {
        Stage::Uploaded => ("map", None),
        Stage::Checking | Stage::Writing => ("writing", None),
        Stage::Done(n) => ("done", Some(format!("Imported {n} transactions."))),
        Stage::Failed(why) => ("failed", Some(why)),
    };
    let written = upload.written.load(Ordering::Relaxed);
    let total = upload.total.load(Ordering::Relaxed);
    ImportPage {
        layout: Layout::new("portfolio", auth),
        id: id.to_string(),
        file_name: upload.file_name.clone(),
        stage,
        choices: choices(&upload.headers, mapping),
        kinds: kinds(mapping.default_kind),
        checked,
        written,
        total,
        percent: (written * 100).checked_div(total).unwrap_or(0),
        message,
    }
}

async fn import_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let upload = state.imports.get(auth.user.owner(), &id)?;
    let mapping = Mapping::guess(&upload.headers);
    Ok(page(&auth, &id, &upload, &mapping, None).into_response())
}

/// The mapping form: `col_<field>` = column index or empty; `default_kind`.
#[derive(Deserialize)]
struct MappingForm {
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

impl MappingForm {
    fn mapping(&self, width: usize) -> Result<Mapping, AppError> {
        let mut columns = HashMap::new();
        for field in FIELDS {
            let Some(value) = self.fields.get(&format!("col_{field}")) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let index: usize =
                value.parse().ok().filter(|i| *i < width).ok_or_else(|| {
                    AppError::BadRequest(format!("No column {value:?} in the file."))
                })?;
            columns.insert(field.to_string(), index);
        }
        let default_kind = match self.fields.get("default_kind").map(String::as_str) {
            None | Some("") => None,
            Some(k) => Some(k.parse::<AssetKind>().map_err(AppError::BadRequest)?),
        };
        Ok(Mapping {
            columns,
            default_kind,
        })
    }
}

fn hidden(mapping: &Mapping) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = mapping
        .columns
        .iter()
        .map(|(f, i)| (format!("col_{f}"), i.to_string()))
        .collect();
    out.sort();
    if let Some(k) = mapping.default_kind {
        out.push(("default_kind".into(), k.as_str().into()));
    }
    out
}

/// Rows shown before writing.
const PREVIEW_ROWS: usize = 20;

fn view(checked: &Checked, mapping: &Mapping) -> CheckView {
    CheckView {
        rows: checked.data_rows,
        ok: checked.is_ok(),
        problems: checked.problems.clone(),
        problem_count: checked.problem_count,
        preview: checked
            .rows
            .iter()
            .take(PREVIEW_ROWS)
            .map(|r| {
                let a = &r.fields.amounts;
                let t = |d: Option<rust_decimal::Decimal>| {
                    d.map(|d| d.normalize().to_string()).unwrap_or_default()
                };
                vec![
                    a.day.to_string(),
                    a.kind.as_str().to_string(),
                    r.symbol.to_string(),
                    r.kind.as_str().to_string(),
                    t(a.quantity),
                    t(a.price),
                    t(a.amount),
                    t(a.ratio),
                    a.fees.normalize().to_string(),
                ]
            })
            .collect(),
        hidden: hidden(mapping),
    }
}

async fn run_check(
    state: &AppState,
    owner: OwnerId,
    upload: &Upload,
    mapping: &Mapping,
) -> Result<Checked, AppError> {
    Ok(csv_io::check(
        state.store.as_ref(),
        Some(&state.quotes),
        owner,
        &upload.content,
        mapping,
    )
    .await?)
}

async fn check(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<String>,
    PageForm(form): PageForm<MappingForm>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let upload = state.imports.get(owner, &id)?;
    let mapping = form.mapping(upload.headers.len())?;
    let checked = run_check(&state, owner, &upload, &mapping).await?;
    let status = if checked.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let v = view(&checked, &mapping);
    Ok((status, page(&auth, &id, &upload, &mapping, Some(v))).into_response())
}

/// Checks the file again (the portfolio may have changed since) and writes it in the
/// background; the page then shows the progress.
async fn commit(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<String>,
    PageForm(form): PageForm<MappingForm>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let upload = state.imports.get(owner, &id)?;
    // One commit per upload: the stage moves on under its lock before anything else.
    {
        let mut stage = upload.stage.lock().unwrap_or_else(|e| e.into_inner());
        if *stage != Stage::Uploaded {
            return Ok(Redirect::to(&format!("/import/{id}")).into_response());
        }
        *stage = Stage::Checking;
    }
    let checked = match form.mapping(upload.headers.len()) {
        Ok(mapping) => run_check(&state, owner, &upload, &mapping)
            .await
            .map(|c| (mapping, c)),
        Err(e) => Err(e),
    };
    let (mapping, checked) = match checked {
        Ok(found) => found,
        Err(e) => {
            upload.set_stage(Stage::Uploaded);
            return Err(e.into());
        }
    };
    if !checked.is_ok() {
        upload.set_stage(Stage::Uploaded);
        let v = view(&checked, &mapping);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&auth, &id, &upload, &mapping, Some(v)),
        )
            .into_response());
    }
    upload.set_stage(Stage::Writing);
    upload.total.store(checked.rows.len(), Ordering::Relaxed);
    let rows: Vec<ImportTx> = checked.rows;
    let store = state.store.clone();
    let task_upload = upload.clone();
    tokio::spawn(async move {
        let progress = |n: usize| task_upload.written.store(n, Ordering::Relaxed);
        let outcome = store.import_transactions(owner, &rows, &progress).await;
        task_upload.set_stage(match outcome {
            Ok(n) => Stage::Done(n),
            Err(crate::store::StoreError::Refused(why)) => {
                Stage::Failed(format!("Nothing was imported: {why}"))
            }
            Err(e) => {
                tracing::error!(error = %e, "import failed");
                Stage::Failed(
                    "Nothing was imported: the database refused the write. Try again.".into(),
                )
            }
        });
    });
    Ok(Redirect::to(&format!("/import/{id}")).into_response())
}

// ----- export -------------------------------------------------------------------------------

fn csv_response(name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn export_transactions(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<Response, PageError> {
    let txs = state.store.transactions(auth.user.owner(), None).await?;
    let body = csv_io::export_transactions(&txs).map_err(|e| AppError::Internal(e.into()))?;
    Ok(csv_response("transactions.csv", body))
}

async fn export_holdings(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<Response, PageError> {
    let positions = portfolio::load(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings,
        auth.user.owner(),
        Some(auth.holdings_version),
        SortKey::Symbol,
        SortDir::Asc,
    )
    .await?;
    let body = csv_io::export_holdings(&positions).map_err(|e| AppError::Internal(e.into()))?;
    Ok(csv_response("holdings.csv", body))
}
