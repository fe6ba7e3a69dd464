//! Static files compiled into the binary, so the app works offline and from one file.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::encoded::{Effort, Encoded};
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
        get(|headers: HeaderMap| serve(Path("favicon.svg".to_string()), headers)),
    )
}

/// Each file's compressed forms, made on first use (or by [`warm`]).
static ENCODED: [OnceLock<Encoded>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];

fn encoded(index: usize) -> Option<&'static Encoded> {
    let (_, content_type, bytes) = FILES.get(index)?;
    let cell = ENCODED.get(index)?;
    Some(cell.get_or_init(|| {
        let file = Encoded::new(content_type, Bytes::from_static(bytes), Effort::Once);
        file.compress_all();
        file
    }))
}

/// Compresses every file ahead of the first request for it (a second or so of CPU at the
/// highest brotli quality, on a blocking thread).
pub fn warm() {
    tokio::task::spawn_blocking(|| {
        for index in 0..FILES.len() {
            encoded(index);
        }
    });
}

async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, PageError> {
    let index = FILES
        .iter()
        .position(|(name, _, _)| *name == path)
        .ok_or_else(|| AppError::not_found(format!("There is no file /static/{path}.")))?;
    // Made already (by `warm`, or an earlier request): no thread hop. Else compressed on a
    // blocking thread, once.
    let made = ENCODED.get(index).and_then(OnceLock::get);
    let file = match made {
        Some(file) => Some(file),
        None => tokio::task::spawn_blocking(move || encoded(index))
            .await
            .ok()
            .flatten(),
    }
    .ok_or_else(|| AppError::not_found(format!("There is no file /static/{path}.")))?;
    let mut response = file.respond(&headers);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
