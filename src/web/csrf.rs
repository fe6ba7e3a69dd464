//! Cross-site request forgery: every rule in one place. A form post must come from this site's
//! own pages (the browser's `Sec-Fetch-Site`, or `Origin` against `Host`), and, once there is
//! a session, carry the session's form token in its `csrf` field. Which rule a route follows
//! is declared where the router is put together ([`token_forms`], [`sessionless_forms`],
//! [`upload_forms`]); safe methods (GET, HEAD) pass.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{AppError, PageError};
use super::session::{self, Authed};
use crate::portfolio::auth;

/// Forms a signed-in person posts: same origin, and the session's token in the `csrf` field
/// (without a session the post goes to the login page).
pub fn token_forms(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .route_layer(middleware::from_fn(same_origin))
}

/// Forms posted before there is a session (login, first-run setup, signup): same origin only.
pub fn sessionless_forms(router: Router<AppState>) -> Router<AppState> {
    router.route_layer(middleware::from_fn(same_origin))
}

/// File uploads: same origin and a session; for a multipart body the handler reads the token
/// from its `csrf` field before the file and checks it with [`check_token`], so the body is
/// not read (and limited) here. Any other body is checked as [`token_forms`] does.
pub fn upload_forms(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .route_layer(middleware::from_fn_with_state(state.clone(), upload_token))
        .route_layer(middleware::from_fn(same_origin))
}

/// The refusal of a form whose token is missing or not the session's.
pub fn expired() -> AppError {
    AppError::Forbidden("This form has expired or did not come from this site, so nothing was changed. Reload the page and try again.".into())
}

/// Whether `sent` is the token of the session `authed` belongs to.
pub fn check_token(authed: &Authed, sent: &str) -> Result<(), AppError> {
    if auth::constant_time_eq(authed.csrf.as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(expired())
    }
}

/// Refuses form posts that another site's page sent.
///
/// Browsers say where a request comes from in `Sec-Fetch-Site`, or at least `Origin`; a request
/// with neither comes from a script or tool, not from a page a person was lured to.
async fn same_origin(headers: HeaderMap, req: Request, next: Next) -> Response {
    if req.method().is_safe() || is_same_origin(&headers) {
        return next.run(req).await;
    }
    let err =
        AppError::Forbidden("This form was sent from another site, so nothing was changed.".into());
    PageError(err).into_response()
}

fn is_same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (text("origin"), text("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        (Some(_), None) => false,
    }
}

/// GET and HEAD change nothing, so they need no token.
fn reads_only(req: &Request) -> bool {
    req.method() == Method::GET || req.method() == Method::HEAD
}

/// For a multipart upload, a session handed on to the handler (which checks the token);
/// anything else as [`require_token`].
async fn upload_token(state: State<AppState>, req: Request, next: Next) -> Response {
    if reads_only(&req) || !is_multipart(req.headers()) {
        return require_token(state, req, next).await;
    }
    let State(state) = state;
    let mut req = req;
    match session::current(&state, req.headers()).await {
        Ok(Some(authed)) => {
            req.extensions_mut().insert(authed);
            next.run(req).await
        }
        Ok(None) => session::to_login(&state, req.uri().path()).await,
        Err(e) => PageError(e).into_response(),
    }
}

/// Refuses a form post whose `csrf` field is not the token of the sender's session.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if reads_only(&req) {
        return next.run(req).await;
    }
    let session = match session::current(&state, req.headers()).await {
        Ok(s) => s,
        Err(e) => return PageError(e).into_response(),
    };
    let (mut parts, body) = req.into_parts();
    let Some(authed) = session else {
        return session::to_login(&state, parts.uri.path()).await;
    };
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            let err = AppError::Rejected {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: "The form is too large.".into(),
            };
            return PageError(err).into_response();
        }
    };
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if let Err(e) = check_token(&authed, &sent) {
        return PageError(e).into_response();
    }
    // The handler's extractor reuses it instead of reading the session again.
    parts.extensions.insert(authed);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether a request's body is a multipart form (a file upload).
fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}
