//! Axum's extractors with rejections rendered as our own errors, never plain text.

use axum::extract::FromRequestParts;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::{ApiError, AppError, PageError};

macro_rules! rejection_into_app_error {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for AppError {
            fn from(r: $rejection) -> Self {
                AppError::Rejected { status: r.status(), message: r.body_text() }
            }
        }
    )*};
}
rejection_into_app_error!(JsonRejection, FormRejection, QueryRejection, PathRejection);

/// JSON body for the API; a wrong content type is 415, malformed JSON 400, anything but an
/// object of the right shape 422 (serde would otherwise read a struct from a JSON array).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        let shape_error = |message: String| {
            ApiError(AppError::Rejected {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message,
            })
        };
        if !value.is_object() {
            return Err(shape_error("The body must be a JSON object.".into()));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| shape_error(format!("The body does not match the expected fields: {e}.")))
    }
}

/// Query string for the API.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters for the API.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Form body for pages.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(PageError))]
pub struct PageForm<T>(pub T);

/// Query string for pages.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageError))]
pub struct PageQuery<T>(pub T);

/// Path parameters for pages.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
pub struct PagePath<T>(pub T);
