//! One error type for the whole app, rendered as an HTML page or as `application/problem+json`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Symbol;
use crate::market::QuoteError;
use crate::store::StoreError;

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as sent (`quantity`).
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{}", summarize(.0))]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    Conflict {
        message: String,
        existing_id: Option<i64>,
    },
    /// A request the framework refused (wrong content type, malformed body, too large).
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    /// Prices could not be had from any provider.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join(" ")
}

impl AppError {
    /// The 404 for a holding id that is not the caller's (whether or not it exists).
    pub fn no_holding(id: i64) -> Self {
        AppError::NotFound(format!("There is no holding {id}."))
    }

    /// What a person sees when no quote could be had; `providers` are the ones asked.
    pub fn from_quote(symbol: &Symbol, err: QuoteError, providers: &[String]) -> Self {
        match err {
            QuoteError::NotFound(_) => AppError::NotFound(format!(
                "Unknown symbol {symbol}: no price service knows it."
            )),
            QuoteError::NoProvider(kind) if kind.is_market_priced() => {
                AppError::Unavailable(format!(
                    "No price service is configured for {} assets on this server (QUOTE_PROVIDERS_{}).",
                    kind.label(),
                    kind.as_str().to_ascii_uppercase()
                ))
            }
            QuoteError::NoProvider(kind) => AppError::Validation(vec![FieldError::new(
                "kind",
                format!(
                    "{} assets have no market price; their owner enters it.",
                    kind.label()
                ),
            )]),
            QuoteError::NotConfigured => AppError::Unavailable(
                "No price service is configured on this server (its operator sets IEX_BASE_URL)."
                    .into(),
            ),
            QuoteError::Unavailable { .. } | QuoteError::Throttled { .. } => {
                AppError::Unavailable(format!(
                    "No price for {symbol} right now: every price service failed (tried: {}). Try again in a minute.",
                    providers.join(", ")
                ))
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Validation(_)
            | AppError::Store(StoreError::Refused(_))
            | AppError::Store(StoreError::WatchlistFull) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } | AppError::Store(StoreError::Conflict) => {
                StatusCode::CONFLICT
            }
            AppError::Rejected { status, .. } => *status,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the person; internal details are logged, never sent.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Store(StoreError::Conflict) => {
                "This asset is already in the portfolio.".into()
            }
            AppError::Store(StoreError::Refused(why)) => why.clone(),
            AppError::Store(StoreError::WatchlistFull) => crate::watchlist::full_message(),
            AppError::Store(_) | AppError::Internal(_) => {
                "Something went wrong on our side. Please try again.".into()
            }
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if self.status().is_server_error() && !matches!(self, AppError::Unavailable(_)) {
            tracing::error!(error = %self, "request failed");
        }
    }
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
            errors: match &err {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            existing_id: match &err {
                AppError::Conflict { existing_id, .. } => *existing_id,
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
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
        let page = crate::web::pages::ErrorPage {
            layout: crate::web::pages::Layout::public("", None),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: err.public_message(),
        };
        (status, page).into_response()
    }
}
