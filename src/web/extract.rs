//! Axum's extractors with rejections rendered as our own errors, never plain text.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};

use crate::error::{ApiError, AppError, PageError};

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

/// JSON body for the API; a wrong content type is 415, malformed JSON 400, wrong shape 422.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

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
