//! Who is asking: the session cookie for pages, a Bearer token for the API.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use time::{Duration, OffsetDateTime};

use super::AppState;
use super::error::{ApiError, AppError, PageError};
use crate::domain::{NewSession, TableColumns, User};
use crate::portfolio::auth;

/// The session cookie's name.
pub const COOKIE: &str = "st_session";

/// A signed-in person, for pages: their account and the form token of their session.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub csrf: String,
    /// The account's holdings version, read with the session.
    pub holdings_version: i64,
    /// The account's base currency, read with the session.
    pub base_currency: String,
    /// The holdings table's columns as stored, read with the session (`None`: the default
    /// set); [`Authed::columns`] reads them. Kept as text: most views (a kept page) only need
    /// it as part of the page's key.
    pub table_columns: Option<String>,
}

impl Authed {
    /// The holdings table's columns.
    pub fn columns(&self) -> TableColumns {
        TableColumns::from_stored(self.table_columns.as_deref())
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The current session, if the cookie names a live one. Activity extends the idle expiry, at
/// most once a minute (so page views rarely write) and never past the absolute expiry.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Authed>, AppError> {
    let Some(id) = session_id(headers) else {
        return Ok(None);
    };
    let id_hash = auth::sha256_hex(&id);
    let now = OffsetDateTime::now_utc();
    let Some(session) = state.store.session(&id_hash, now).await? else {
        return Ok(None);
    };
    let config = &state.config;
    let absolute = session.created_at + Duration::seconds(config.session_max_secs as i64);
    if now >= absolute {
        state.store.delete_session(&id_hash).await?;
        return Ok(None);
    }
    if now - session.last_seen_at > Duration::minutes(1) {
        let idle = now + Duration::seconds(config.session_idle_secs as i64);
        // In the background: the page need not wait for the write (on SQLite it queues behind
        // a running import's), and a touch that fails only shortens the session's idle time.
        let store = state.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_session(&id_hash, now, idle.min(absolute)).await {
                tracing::warn!(error = %e, "could not note a session's activity");
            }
        });
    }
    Ok(Some(Authed {
        user: session.user,
        csrf: session.csrf_token,
        holdings_version: session.holdings_version,
        base_currency: session.base_currency,
        table_columns: session.table_columns,
    }))
}

/// The session the CSRF check already looked up for this request, else a lookup now.
async fn session_of(state: &AppState, parts: &Parts) -> Result<Option<Authed>, AppError> {
    match parts.extensions.get::<Authed>() {
        Some(authed) => Ok(Some(authed.clone())),
        None => current(state, &parts.headers).await,
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(state, parts).await {
            Ok(Some(authed)) => Ok(authed),
            Ok(None) => Err(to_login(
                state,
                parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            )
            .await),
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

/// Someone who may or may not be signed in (public pages).
pub struct MaybeAuthed(pub Option<Authed>);

impl FromRequestParts<AppState> for MaybeAuthed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        session_of(state, parts)
            .await
            .map(MaybeAuthed)
            .map_err(|e| PageError(e).into_response())
    }
}

/// Sends a visitor to `/setup` on a fresh install, else to `/login`, coming back afterwards.
pub async fn to_login(state: &AppState, next: &str) -> Response {
    if state.store.needs_setup().await.unwrap_or(false) {
        return Redirect::to("/setup").into_response();
    }
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// The account behind an API request's `Authorization: Bearer` token.
pub struct ApiUser(pub User);

/// The token of an `Authorization: Bearer <token>` header; the scheme's case does not matter
/// (RFC 9110: `bearer`, `BEARER` and `Bearer` are one scheme).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        let user = match token {
            Some(t) if !t.is_empty() => state
                .store
                .user_by_token(&auth::sha256_hex(t), OffsetDateTime::now_utc())
                .await
                .map_err(|e| ApiError(e.into()).into_response())?,
            _ => None,
        };
        match user {
            Some(user) => Ok(ApiUser(user)),
            None => {
                let err = AppError::Unauthorized("Send a valid API token: Authorization: Bearer <token> (create one on the Account page).".into());
                let mut response = ApiError(err).into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                Err(response)
            }
        }
    }
}

/// Starts a session for `user`: a new random id (so a login never reuses an old one), its
/// hash stored with a fresh form token, and the cookie that carries it.
pub async fn start(state: &AppState, user: &User) -> Result<HeaderValue, AppError> {
    let id = auth::random_hex(32)?;
    let now = OffsetDateTime::now_utc();
    let config = &state.config;
    let expires_at =
        now + Duration::seconds(config.session_idle_secs.min(config.session_max_secs) as i64);
    state
        .store
        .create_session(&NewSession {
            id_hash: auth::sha256_hex(&id),
            user: user.owner(),
            csrf_token: auth::random_hex(32)?,
            created_at: now,
            expires_at,
        })
        .await?;
    cookie(&id, config.session_max_secs, config.cookie_secure)
}

/// Ends the session the request carries, if any, and returns the cookie that clears it.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, AppError> {
    if let Some(id) = session_id(headers) {
        state.store.delete_session(&auth::sha256_hex(&id)).await?;
    }
    cookie("", 0, state.config.cookie_secure)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> Result<HeaderValue, AppError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| AppError::Internal(e.into()))
}
