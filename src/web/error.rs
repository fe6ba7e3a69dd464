//! One error type for the web edge, rendered as an HTML page (pages) or as
//! `application/problem+json` (the API). Domain errors get their status here; internal details
//! are logged once and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{DomainError, FieldError};
use crate::portfolio;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A rule of the domain refused the request.
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A request the framework refused (wrong content type, malformed body, too large).
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<portfolio::Error> for AppError {
    fn from(e: portfolio::Error) -> Self {
        match e {
            portfolio::Error::Domain(e) => AppError::Domain(e),
            portfolio::Error::Store(e) => AppError::Store(e),
            portfolio::Error::Internal(e) => AppError::Internal(e),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        portfolio::Error::from(e).into()
    }
}

impl AppError {
    /// Problems with input fields (422).
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        AppError::Domain(DomainError::Invalid(errors))
    }

    /// Nothing here (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::NotFound(message.into()))
    }

    /// No prices right now, or a request stopped for taking too long (503).
    pub fn unavailable(message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::Unavailable(message.into()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Domain(e) => match e {
                DomainError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                // Well-formed, but the portfolio as it stands does not allow it (RFC 9110: a
                // conflict with the current state of the resource).
                DomainError::Refused(_) | DomainError::Mismatch(_) => StatusCode::CONFLICT,
                DomainError::NotFound(_) => StatusCode::NOT_FOUND,
                DomainError::Conflict { .. } => StatusCode::CONFLICT,
                DomainError::Malformed(_) => StatusCode::BAD_REQUEST,
                DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Rejected { status, .. } => *status,
            AppError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the person; internal details are logged, never sent.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Store(e) if e.is_unavailable() => DATABASE_UNAVAILABLE.into(),
            AppError::Store(_) | AppError::Internal(_) => {
                "Something went wrong on our side. Please try again.".into()
            }
            other => other.to_string(),
        }
    }

    /// Per-field problems, for 422 answers and 409 ones that name fields.
    fn field_errors(&self) -> Option<Vec<FieldError>> {
        match self {
            AppError::Domain(DomainError::Invalid(errors) | DomainError::Mismatch(errors)) => {
                Some(errors.clone())
            }
            _ => None,
        }
    }

    /// For 409 answers: the id of what already has it.
    fn existing_id(&self) -> Option<i64> {
        match self {
            AppError::Domain(DomainError::Conflict { existing_id, .. }) => *existing_id,
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            AppError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %self, "database unavailable");
            }
            AppError::Store(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
            }
            _ => {}
        }
    }

    /// Seconds a client should wait before asking again, for 503 answers.
    fn retry_after(&self) -> Option<&'static str> {
        match self {
            AppError::Store(e) if e.is_unavailable() => Some(DATABASE_RETRY_AFTER),
            AppError::Domain(DomainError::Unavailable(_)) => Some(SERVICES_RETRY_AFTER),
            _ => None,
        }
    }

    /// Marks the answer of a read that lost its database connection, so [`retry_reads`] makes
    /// it once more.
    fn mark(&self, response: &mut Response) {
        if let AppError::Store(e) = self
            && e.is_connection_lost()
        {
            response.extensions_mut().insert(ConnectionLost);
        }
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
    }
}

/// What a person reads when the database does not answer.
pub const DATABASE_UNAVAILABLE: &str = "The database is not answering right now. Try again in a \
     few seconds; if you were saving something, check whether it was saved before sending it again.";
/// `Retry-After` when the database does not answer.
const DATABASE_RETRY_AFTER: &str = "2";
/// `Retry-After` when no price could be had (a fetch still under way, every service failing).
const SERVICES_RETRY_AFTER: &str = "5";

/// An answer whose database connection was lost mid-request.
#[derive(Debug, Clone, Copy)]
struct ConnectionLost;

/// Makes a read (GET or HEAD) once more when its database connection was lost mid-request:
/// the pool hands out a working connection, and the reader never sees the restart or failover.
/// Writes are not made again (they may have been committed); they answer 503 with `Retry-After`.
pub async fn retry_reads(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return next.run(request).await;
    }
    let again = {
        let mut copy = axum::extract::Request::new(axum::body::Body::empty());
        *copy.method_mut() = method;
        *copy.uri_mut() = request.uri().clone();
        *copy.version_mut() = request.version();
        *copy.headers_mut() = request.headers().clone();
        *copy.extensions_mut() = request.extensions().clone();
        copy
    };
    let response = next.clone().run(request).await;
    if response.extensions().get::<ConnectionLost>().is_none() {
        return response;
    }
    tracing::info!("database connection lost during a read; making it again");
    next.run(again).await
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status code's reason phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, in words a person can act on.
    pub detail: String,
    /// Per-field problems, for 422 responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 409 responses: the id of the holding that already holds this asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<i64>,
}

/// An error answered as `application/problem+json` (the `/api` routes).
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        err.log();
        let status = err.status();
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: err.public_message(),
            errors: err.field_errors(),
            existing_id: err.existing_id(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        err.mark(&mut response);
        response
    }
}

/// An error answered as an HTML page (the browser routes).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let err = self.0;
        err.log();
        let status = err.status();
        let page = super::pages::layout::ErrorPage {
            layout: super::pages::layout::Layout::public("", None),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: err.public_message(),
        };
        // Drawn again with the visitor's navbar by [`signed_in_error_page`] when signed in.
        let kept = page.clone();
        let mut response = (status, page).into_response();
        response.extensions_mut().insert(kept);
        err.mark(&mut response);
        response
    }
}

/// The cookies that name a request's session: kept while the request runs, so that an error
/// page it ends in can be drawn again for the person signed in ([`signed_in_error_page`]).
pub fn session_cookies(headers: &axum::http::HeaderMap) -> axum::http::HeaderMap {
    headers
        .get_all(header::COOKIE)
        .iter()
        .map(|v| (header::COOKIE, v.clone()))
        .collect()
}

/// An error page (a 404, a refused form, a database outage) keeps the navbar of the person who
/// is signed in, with their name and Log out, rather than the signed-out one: `response`,
/// drawn again when it is such a page and `cookies` name a live session.
pub async fn signed_in_error_page(
    state: &super::AppState,
    cookies: &axum::http::HeaderMap,
    response: Response,
) -> Response {
    // An outage's page is sent as it is: looking the session up would wait on the same pool.
    if response.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
        return response;
    }
    let Some(page) = response
        .extensions()
        .get::<super::pages::layout::ErrorPage>()
        .cloned()
    else {
        return response;
    };
    let Ok(Some(auth)) = super::session::current(state, cookies).await else {
        return response;
    };
    let page = super::pages::layout::ErrorPage {
        layout: super::pages::layout::Layout::new("", &auth),
        ..page
    };
    let (mut parts, _) = response.into_parts();
    let body = page.into_response().into_body();
    // The status, the Retry-After and the mark stay; the length is the new page's.
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}
