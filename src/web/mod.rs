//! HTTP: pages, the JSON API, static assets and the middleware around them.

pub mod api;
pub mod client;
mod csrf;
pub mod encoded;
pub mod error;
pub mod extract;
pub mod format;
pub(crate) mod health;
pub mod page_cache;
pub mod pages;
pub mod server;
pub mod session;
pub mod static_files;

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::CompressionLevel;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Config;
use crate::market::QuoteService;
use crate::store::Store;
use error::{ApiError, AppError, PageError};

/// What every handler can reach: one shared [`Shared`], so handing it to a request (axum
/// clones the state for every extractor and middleware) costs one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }

    /// Where `owner`'s records are read (`version`: their holdings version when just read).
    pub fn reader(
        &self,
        owner: crate::domain::OwnerId,
        version: Option<i64>,
    ) -> crate::portfolio::holdings::Reader<'_> {
        crate::portfolio::holdings::Reader {
            store: self.store.as_ref(),
            quotes: &self.quotes,
            cache: &self.holdings,
            owner,
            version,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The instance's shared parts.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub quotes: QuoteService,
    pub holdings: crate::portfolio::HoldingsCache,
    pub throttle: crate::portfolio::auth::LoginThrottle,
    /// What `/setup` asks for (see `SETUP_CODE`).
    pub setup_code: Arc<str>,
    pub config: Arc<Config>,
    /// Imports this instance is writing, with their progress.
    pub imports: crate::portfolio::import::Imports,
    /// Rendered pages kept while nothing they show has changed.
    pub pages: page_cache::PageCache,
}

/// Scripts and styles come only from this server; nothing may frame the pages.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        // Portfolios are private and change often; static assets set their own caching.
        (header::CACHE_CONTROL, "no-store"),
    ];
    let pages = csrf::token_forms(pages::router(), &state)
        .merge(csrf::sessionless_forms(pages::account::sessionless()))
        .merge(csrf::upload_forms(
            pages::import::upload(state.config.import_max_bytes),
            &state,
        ));
    let mut router = Router::new()
        .merge(pages)
        .nest("/api/v1", api::router())
        .merge(health::router(state.config.metrics_bind.0.is_none()))
        .merge(static_files::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), guard));
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
        // Responses not compressed ahead (API answers, most pages) are compressed here when
        // the client accepts it; small ones and images are left as they are.
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .quality(CompressionLevel::Precise(4)),
        )
        .layer(middleware::from_fn(record_request))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The matched route, not the raw path: low cardinality, and no ids or query strings.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", |m| m.as_str());
                    tracing::info_span!("request", method = %req.method(), route)
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .with_state(state)
}

/// Counts each request and its latency under its route pattern (never the raw path, which
/// would carry ids). Labels are `'static` so the hot path allocates nothing for them.
async fn record_request(req: Request, next: Next) -> Response {
    let route = intern(
        req.extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |m| m.as_str()),
    );
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    };
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = intern(response.status().as_str());
    let (count, latency) = request_metrics(method, route, status);
    count.increment(1);
    latency.record(started.elapsed().as_secs_f64());
    response
}

type RequestKey = (&'static str, &'static str, &'static str);

/// The counter and histogram for a method, route and status, looked up in the registry once.
fn request_metrics(
    method: &'static str,
    route: &'static str,
    status: &'static str,
) -> (metrics::Counter, metrics::Histogram) {
    static HANDLES: std::sync::OnceLock<
        std::sync::RwLock<
            std::collections::HashMap<RequestKey, (metrics::Counter, metrics::Histogram)>,
        >,
    > = std::sync::OnceLock::new();
    let handles = HANDLES.get_or_init(Default::default);
    let key = (method, route, status);
    if let Some(h) = handles.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return h.clone();
    }
    let made = (
        metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status),
        metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route),
    );
    handles
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, made.clone());
    made
}

/// A `'static` copy of a label value. The set is bounded: route patterns and status codes.
fn intern(value: &str) -> &'static str {
    static SEEN: std::sync::OnceLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> =
        std::sync::OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(v) = seen.read().unwrap_or_else(|p| p.into_inner()).get(value) {
        return v;
    }
    let mut set = seen.write().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = set.get(value) {
        return v;
    }
    let leaked: &'static str = Box::leak(value.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// True for requests answered with problem+json rather than HTML.
fn is_api(uri: &Uri) -> bool {
    uri.path().starts_with("/api/")
}

/// Renders an error the way the route's clients expect it.
fn error_response(uri: &Uri, err: AppError) -> Response {
    if is_api(uri) {
        ApiError(err).into_response()
    } else {
        PageError(err).into_response()
    }
}

async fn not_found(uri: Uri) -> Response {
    error_response(
        &uri,
        AppError::not_found(format!("There is nothing at {}.", uri.path())),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("{} does not accept {method}.", uri.path());
    error_response(
        &uri,
        AppError::Rejected {
            status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
            message,
        },
    )
}

/// What every request passes through, in one layer (each layer costs every request a clone
/// of the routes' service and a boxed future): a read whose database connection was lost is
/// made once more ([`error::retry_reads`]); a request that runs longer than
/// `REQUEST_TIMEOUT_SECS` is cut off with a 503; an error page is drawn with the signed-in
/// navbar ([`error::signed_in_error_page`]).
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let uri = req.uri().clone();
    let cookies = error::session_cookies(req.headers());
    let limit = state.config.request_timeout();
    let response = match tokio::time::timeout(limit, error::retry_reads(req, next)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!(
                "The request took longer than {} s and was stopped. Try again.",
                limit.as_secs()
            );
            error_response(&uri, AppError::unavailable(message))
        }
    };
    error::signed_in_error_page(&state, &cookies, response).await
}

/// A panic in a handler is a bug: answer 500 rather than drop the connection.
fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError(AppError::Internal(anyhow::anyhow!("handler panicked"))).into_response()
}
