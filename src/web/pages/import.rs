//! CSV import (upload, column mapping, a check of every row, then an all-or-nothing write with
//! progress) and CSV export of transactions and holdings.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::csv::{self, Checked, DateFormat, FIELDS, Mapping, RowProblem, Stage, Upload};
use crate::domain::{AssetKind, DomainError, ImportRow};
use crate::portfolio::import::{self, CheckState, Commit};
use crate::portfolio::{self, export};
use crate::web::AppState;
use crate::web::csrf;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageForm, PagePath};
use crate::web::session::Authed;

/// The upload (its own CSRF rule: the token comes inside the multipart body).
pub fn upload(max_upload: usize) -> Router<AppState> {
    Router::new().route(
        "/import",
        get(upload_page)
            .post(take_upload)
            .layer(DefaultBodyLimit::max(max_upload.saturating_add(64 * 1024))),
    )
}

/// The steps after the upload, and the exports.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/import/{id}", get(import_page))
        .route("/import/{id}/check", post(check))
        .route("/import/{id}/commit", post(commit))
        .route("/export/transactions.csv", get(export_transactions))
        .route("/export/holdings.csv", get(export_holdings))
}

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
async fn take_upload(State(state): State<AppState>, auth: Authed, mut form: Multipart) -> Response {
    let limit = state.config.import_max_bytes;
    let too_large = || format!("The file is larger than {} MiB.", limit >> 20);
    let mut csrf_ok = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let status = e.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    format!("The upload could not be read: {}", e.body_text())
                };
                return upload_error(&state, &auth, status, message);
            }
        };
        match field.name() {
            Some("csrf") => {
                let sent = field.text().await.unwrap_or_default();
                csrf_ok = csrf::check_token(&auth, &sent).is_ok();
            }
            Some("file") if csrf_ok => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) if bytes.len() <= limit => file = Some((name, Vec::from(bytes))),
                    Ok(_) => {
                        let status = StatusCode::PAYLOAD_TOO_LARGE;
                        return upload_error(&state, &auth, status, too_large());
                    }
                    Err(e) => {
                        let message = format!("The upload could not be read: {}", e.body_text());
                        return upload_error(&state, &auth, e.status(), message);
                    }
                }
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return PageError(csrf::expired()).into_response();
    }
    let Some((file_name, content)) = file.filter(|(_, c)| !c.is_empty()) else {
        return upload_error(
            &state,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a CSV file to upload.".into(),
        );
    };
    match import::upload(state.store.as_ref(), auth.user.owner(), file_name, content).await {
        Ok(upload) => Redirect::to(&format!("/import/{}", upload.id)).into_response(),
        Err(portfolio::Error::Domain(DomainError::Invalid(errors))) => {
            let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>();
            upload_error(
                &state,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                message.join(" "),
            )
        }
        Err(e) => PageError(e.into()).into_response(),
    }
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
    /// Imports ahead of this one in the queue, while it waits for a worker.
    ahead: Option<usize>,
    /// A commit is checking the file again (not a check on its own).
    upload_checking: bool,
    /// Why the upload is back at its mapping (its import was interrupted).
    note: Option<String>,
    written: usize,
    total: usize,
    percent: usize,
    message: Option<String>,
    /// How the file's dates are read: `(value, label, chosen)`.
    date_formats: Vec<(&'static str, &'static str, bool)>,
    /// Whether accounts the file names that do not exist yet are to be created.
    create_accounts: bool,
    /// The file's first rows as written, under the mapping form, and its header.
    sample: Vec<Vec<String>>,
    sample_headers: Vec<String>,
}

pub struct CheckView {
    pub rows: usize,
    pub ok: bool,
    pub problems: Vec<RowProblem>,
    pub problem_count: usize,
    pub preview: Vec<Vec<String>>,
    /// The mapping, carried to the commit form.
    pub hidden: Vec<(String, String)>,
    /// Accounts importing creates.
    pub new_accounts: Vec<String>,
}

/// The file's columns by their header, or by their place when it has none.
fn column_names(headers: &[String]) -> Vec<String> {
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.is_empty() {
                format!("column {}", i + 1)
            } else {
                h.clone()
            }
        })
        .collect()
}

fn choices(headers: &[String], mapping: &Mapping) -> Vec<FieldChoice> {
    let names = column_names(headers);
    FIELDS
        .into_iter()
        .map(|field| {
            let chosen = mapping.columns.get(field).copied();
            FieldChoice {
                field,
                required: csv::REQUIRED.contains(&field),
                options: names
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (i, h.clone(), chosen == Some(i)))
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
    upload: &Upload,
    mapping: &Mapping,
    checked: Option<CheckView>,
) -> ImportPage {
    let (stage, message) = match &upload.stage {
        Stage::Uploaded => ("map", None),
        Stage::Checking => ("checking", None),
        Stage::Writing => ("writing", None),
        Stage::Done(n) => ("done", Some(format!("Imported {n} transactions."))),
        Stage::Failed(why) => ("failed", Some(why.clone())),
    };
    let (written, total) = (upload.written, upload.total);
    ImportPage {
        layout: Layout::new("portfolio", auth),
        id: upload.id.clone(),
        file_name: upload.file_name.clone(),
        stage,
        choices: choices(&upload.headers, mapping),
        kinds: kinds(mapping.default_kind),
        checked,
        ahead: None,
        upload_checking: upload.stage == Stage::Checking,
        note: upload.note.clone(),
        written,
        total,
        percent: (written * 100).checked_div(total).unwrap_or(0),
        message,
        date_formats: DateFormat::ALL
            .into_iter()
            .map(|f| (f.as_str(), f.label(), f == mapping.date_format))
            .collect(),
        create_accounts: mapping.create_accounts,
        sample: Vec::new(),
        sample_headers: column_names(&upload.headers),
    }
}

/// Rows of the file shown under the mapping form.
const SAMPLE_ROWS: usize = 5;
/// Rows of the file its date format is guessed from (as many as its first 64 KiB hold).
const GUESS_ROWS: usize = 500;

async fn import_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let upload = find(&state, &auth, &id).await?;
    let check = state.imports.check_state(&id);
    // The file's first rows are read for a page with the mapping form only, not for one that
    // refreshes itself every second while the file waits, is checked or is written.
    let shows_mapping = upload.stage == Stage::Uploaded
        && !matches!(check, Some(CheckState::Queued | CheckState::Running));
    let sample = if shows_mapping {
        import::sample(state.store.as_ref(), auth.user.owner(), &id, GUESS_ROWS).await?
    } else {
        Vec::new()
    };
    let guess = || Mapping::guess_with(&upload.headers, &sample);
    let ahead = state.imports.ahead(&id);
    let mut shown = match (&upload.stage, check) {
        (Stage::Uploaded, Some(CheckState::Queued)) => {
            let mut p = page(&auth, &upload, &guess(), None);
            p.stage = "queued";
            p
        }
        (Stage::Uploaded, Some(CheckState::Running)) => {
            let mut p = page(&auth, &upload, &guess(), None);
            p.stage = "checking";
            p
        }
        (Stage::Uploaded, Some(CheckState::Done(result))) => {
            let (checked, mapping) = &*result;
            page(&auth, &upload, mapping, Some(view(checked, mapping)))
        }
        (Stage::Uploaded, Some(CheckState::Failed(why))) => {
            let mut p = page(&auth, &upload, &guess(), None);
            p.message = Some(why);
            p
        }
        _ => page(&auth, &upload, &guess(), None),
    };
    if shown.stage == "checking" && ahead.is_some() {
        shown.stage = "queued";
    }
    shown.ahead = ahead;
    shown.sample = sample.into_iter().take(SAMPLE_ROWS).collect();
    Ok(shown.into_response())
}

/// The page that answers a finished check: 200 with the rows to write, or 422 with every
/// problem.
fn checked_page(auth: &Authed, upload: &Upload, result: &(Checked, Mapping)) -> Response {
    let (checked, mapping) = result;
    let status = if checked.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let v = view(checked, mapping);
    (status, page(auth, upload, mapping, Some(v))).into_response()
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
            Some(k) => Some(
                k.parse::<AssetKind>()
                    .map_err(|e| AppError::BadRequest(e.to_string()))?,
            ),
        };
        let date_format = match self.fields.get("date_format").map(String::as_str) {
            None | Some("") => DateFormat::Iso,
            Some(f) => DateFormat::parse(f)
                .ok_or_else(|| AppError::BadRequest(format!("No date format {f:?}.")))?,
        };
        Ok(Mapping {
            columns,
            default_kind,
            date_format,
            create_accounts: self
                .fields
                .get("create_accounts")
                .is_some_and(|v| !v.is_empty()),
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
    out.push(("date_format".into(), mapping.date_format.as_str().into()));
    if mapping.create_accounts {
        out.push(("create_accounts".into(), "on".into()));
    }
    out
}

fn view(checked: &Checked, mapping: &Mapping) -> CheckView {
    CheckView {
        new_accounts: checked.new_accounts.clone(),
        rows: checked.data_rows,
        ok: checked.is_ok(),
        problems: checked.problems.clone(),
        problem_count: checked.problem_count,
        preview: checked
            .preview
            .iter()
            .map(|r| {
                let t = |d: Option<rust_decimal::Decimal>| {
                    d.map(|d| d.normalize().to_string()).unwrap_or_default()
                };
                match r {
                    ImportRow::Trade(r) => {
                        let a = &r.fields.amounts;
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
                    }
                    ImportRow::Cash(c) => vec![
                        c.day.to_string(),
                        c.kind.as_str().to_string(),
                        String::new(),
                        "cash".to_string(),
                        String::new(),
                        String::new(),
                        format!("{} {}", c.amount.normalize(), c.currency),
                        String::new(),
                        String::new(),
                    ],
                }
            })
            .collect(),
        hidden: hidden(mapping),
    }
}

/// One of the signed-in person's uploads.
async fn find(state: &AppState, auth: &Authed, id: &str) -> Result<Upload, AppError> {
    Ok(import::find(state.store.as_ref(), &state.imports, auth.user.owner(), id).await?)
}

async fn check(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<String>,
    PageForm(form): PageForm<MappingForm>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let upload = find(&state, &auth, &id).await?;
    let mapping = form.mapping(upload.headers.len())?;
    if upload.stage != Stage::Uploaded {
        return Ok(Redirect::to(&format!("/import/{id}")).into_response());
    }
    let checked = import::check_upload(
        state.store.clone(),
        &state.quotes,
        &state.imports,
        owner,
        &upload,
        &mapping,
    )
    .await?;
    Ok(match checked {
        Some(result) => checked_page(&auth, &upload, &result),
        // Still waiting for a worker, or running: the page shows where it stands.
        None => Redirect::to(&format!("/import/{id}")).into_response(),
    })
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
    let upload = find(&state, &auth, &id).await?;
    if upload.stage != Stage::Uploaded {
        return Ok(Redirect::to(&format!("/import/{id}")).into_response());
    }
    let mapping = form.mapping(upload.headers.len())?;
    let outcome = import::commit_upload(
        state.store.clone(),
        &state.quotes,
        &state.imports,
        owner,
        &upload,
        &mapping,
    )
    .await?;
    match outcome {
        Commit::Refused(result) => {
            let mut upload = upload;
            upload.stage = Stage::Uploaded;
            Ok(checked_page(&auth, &upload, &result))
        }
        Commit::AlreadyStarted | Commit::Started => {
            Ok(Redirect::to(&format!("/import/{id}")).into_response())
        }
    }
}

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
    let body = export::transactions(state.store.as_ref(), auth.user.owner()).await?;
    Ok(csv_response("transactions.csv", body))
}

async fn export_holdings(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<Response, PageError> {
    let body = export::holdings(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings,
        auth.user.owner(),
        Some(auth.holdings_version),
        &auth.base_currency,
    )
    .await?;
    Ok(csv_response("holdings.csv", body))
}
