//! Static files compiled into the binary, so the app works offline and from one file.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::error::{AppError, PageError};

/// Version-stamped files: their URLs change whenever their content may.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "vendor/bootstrap-5.3.9/bootstrap.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/bootstrap-5.3.9/bootstrap.min.css"),
    ),
    (
        "vendor/bootstrap-5.3.9/bootstrap.bundle.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/bootstrap-5.3.9/bootstrap.bundle.min.js"),
    ),
    (
        "vendor/bootstrap-5.3.9/LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../static/vendor/bootstrap-5.3.9/LICENSE"),
    ),
    (
        concat!("app-", env!("CARGO_PKG_VERSION"), ".css"),
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        concat!("theme-", env!("CARGO_PKG_VERSION"), ".js"),
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/theme.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

/// The URL of the app's own stylesheet.
pub const APP_CSS: &str = concat!("/static/app-", env!("CARGO_PKG_VERSION"), ".css");

/// The URL of the colour-mode script (loaded in `<head>`, so the mode is set before first paint).
pub const THEME_JS: &str = concat!("/static/theme-", env!("CARGO_PKG_VERSION"), ".js");

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(serve)).route(
        "/favicon.ico",
        get(|| serve(Path("favicon.svg".to_string()))),
    )
}

async fn serve(Path(path): Path<String>) -> Result<Response, PageError> {
    let (_, content_type, bytes) = FILES
        .iter()
        .find(|(name, _, _)| *name == path)
        .ok_or_else(|| AppError::not_found(format!("There is no file /static/{path}.")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        *bytes,
    )
        .into_response())
}
