//! `/`: the quote lookup and the watchlist (add and remove forms).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::layout::{FormView, KindOption, Layout, QuoteView, kind_options};
use crate::domain::watch::Watched;
use crate::domain::{AssetKind, DomainError, MAX_WATCHED, Symbol, UnknownKind, WatchDraft};
use crate::market::QuoteService;
use crate::portfolio::{self, quotes, watchlist};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/watchlist", post(add_watch))
        .route("/watchlist/{id}/delete", post(remove_watch))
}

/// A row of the watchlist card, formatted.
#[derive(Deserialize)]
struct IndexQuery {
    symbol: Option<String>,
    kind: Option<String>,
    watched: Option<String>,
    unwatched: Option<String>,
}

impl IndexQuery {
    fn flash(&self) -> Option<String> {
        let sym = |s: &Option<String>| s.as_deref().and_then(|s| Symbol::parse(s).ok());
        if let Some(s) = sym(&self.watched) {
            Some(format!("Now watching {s}."))
        } else {
            sym(&self.unwatched).map(|s| format!("Stopped watching {s}."))
        }
    }
}

pub struct WatchRowView {
    pub id: i64,
    pub symbol: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub name: String,
    pub price: Option<String>,
    pub currency: String,
    pub change_percent: String,
    pub trend: &'static str,
    /// Source and age, shown on hover.
    pub freshness: Option<String>,
    pub stale: bool,
    /// How long ago a stale price was fetched ("5 min ago").
    pub stale_age: Option<String>,
    /// No price yet, but one is being fetched.
    pub loading: bool,
}

impl WatchRowView {
    fn new(w: &Watched, quotes: &QuoteService) -> Self {
        let asset = &w.entry.asset;
        let q = w.quote.as_ref();
        WatchRowView {
            id: w.entry.id,
            symbol: asset.symbol.to_string(),
            kind: asset.kind.as_str(),
            kind_label: asset.kind.label(),
            name: w.name().unwrap_or(format::NONE).to_string(),
            price: q.map(|q| format::price(q.price)),
            currency: w.currency().to_string(),
            change_percent: format::or_dash(q.and_then(|q| q.change_percent).map(format::percent)),
            trend: format::trend_class(q.and_then(|q| q.change_percent)),
            freshness: q.map(format::freshness),
            stale: q.is_some_and(|q| q.stale),
            stale_age: q
                .filter(|q| q.stale)
                .and_then(|q| q.fetched_at)
                .map(format::age),
            loading: q.is_none() && quotes.is_fetching(&asset.symbol, asset.kind),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    layout: Layout,
    query: String,
    kinds: Vec<KindOption>,
    kind: String,
    quote: Option<QuoteView>,
    error: Option<String>,
    held_id: Option<i64>,
    /// The watchlist entry of the quote shown, if it is watched.
    watch_id: Option<i64>,
    /// The quote card offers "Watch" (always: the lookup shows market quotes only).
    can_watch: bool,
    /// Where the quote card's "Watch" returns to.
    watch_back: &'static str,
    watchlist: Vec<WatchRowView>,
    watch_limit: usize,
    watch_form: FormView<WatchDraft>,
    watch_kinds: Vec<KindOption>,
    watch_conflict: Option<String>,
    flash: Option<String>,
}

impl IndexPage {
    fn new(auth: &Authed, query: String, kind: &str) -> Self {
        IndexPage {
            layout: Layout::new("home", auth),
            query,
            kinds: kind_options(kind, false),
            kind: kind.to_string(),
            quote: None,
            error: None,
            held_id: None,
            watch_id: None,
            can_watch: true,
            watch_back: "quote",
            watchlist: Vec::new(),
            watch_limit: MAX_WATCHED,
            watch_form: FormView::default(),
            watch_kinds: kind_options("stock", false),
            watch_conflict: None,
            flash: None,
        }
    }

    /// Shows the owner's watchlist, and whether the quote on the card is on it.
    fn show_watchlist(&mut self, watched: &[Watched], quotes: &QuoteService) {
        if let Some(q) = &self.quote {
            self.watch_id = watched
                .iter()
                .find(|w| {
                    w.entry.asset.symbol.as_str() == q.symbol
                        && w.entry.asset.kind.as_str() == self.kind
                })
                .map(|w| w.entry.id);
        }
        self.watchlist = watched
            .iter()
            .map(|w| WatchRowView::new(w, quotes))
            .collect();
    }
}

async fn index(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<IndexQuery>,
) -> Result<Response, PageError> {
    let kind_text = q.kind.clone().unwrap_or_default();
    let kind = match kind_text.trim() {
        "" => Ok(AssetKind::Stock),
        text => text.parse::<AssetKind>(),
    };
    let mut page = IndexPage::new(
        &auth,
        q.symbol.clone().unwrap_or_default(),
        kind.as_ref().map_or("stock", |k| k.as_str()),
    );
    page.flash = q.flash();
    // The lookup and the watchlist's quotes are fetched at the same time.
    let (status, watched) = tokio::join!(
        look_up(&state, &auth, &q, kind, &mut page),
        watchlist::load(state.store.as_ref(), &state.quotes, auth.user.owner())
    );
    let status = status?;
    page.show_watchlist(&watched?, &state.quotes);
    Ok((status, page).into_response())
}

/// Fills the quote card (or the reason there is none) for a lookup, if one was asked for.
async fn look_up(
    state: &AppState,
    auth: &Authed,
    q: &IndexQuery,
    kind: Result<AssetKind, UnknownKind>,
    page: &mut IndexPage,
) -> Result<StatusCode, PageError> {
    let kind = match kind {
        Ok(kind) => kind,
        Err(e) => {
            page.error = Some(e.to_string());
            return Ok(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let Some(raw) = &q.symbol else {
        return Ok(StatusCode::OK);
    };
    let symbol = match Symbol::parse(raw) {
        Ok(s) => s,
        Err(e) => {
            page.error = Some(e.to_string());
            return Ok(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    page.query = symbol.to_string();
    match quotes::look_up(&state.quotes, &symbol, kind).await {
        Ok(quote) => {
            page.quote = Some(QuoteView::new(&quote));
            page.held_id = state
                .store
                .find_holding(auth.user.owner(), &symbol, kind)
                .await?
                .map(|h| h.id);
            Ok(StatusCode::OK)
        }
        Err(e) => {
            let err = AppError::Domain(e);
            page.error = Some(err.public_message());
            Ok(err.status())
        }
    }
}

/// The watch form: the symbol and kind, and where to go back to afterwards.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WatchForm {
    symbol: String,
    kind: String,
    /// `quote` (the lookup's card) or `asset` (an asset page); anything else is the home page.
    back: String,
}

async fn add_watch(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<WatchForm>,
) -> Result<Response, PageError> {
    let draft = WatchDraft {
        symbol: form.symbol,
        kind: form.kind,
    };
    let result = match draft.validate() {
        Ok((symbol, kind)) => {
            watchlist::add(
                state.store.as_ref(),
                &state.quotes,
                auth.user.owner(),
                symbol,
                kind,
            )
            .await
        }
        Err(e) => Err(e.into()),
    };
    let (errors, conflict, status) = match result {
        Ok(w) => {
            let asset = &w.entry.asset;
            let (symbol, kind) = (asset.symbol.as_str(), asset.kind.as_str());
            let url = match form.back.as_str() {
                "quote" => format!(
                    "/?{}",
                    serde_urlencoded::to_string([
                        ("symbol", symbol),
                        ("kind", kind),
                        ("watched", symbol)
                    ])
                    .unwrap_or_default()
                ),
                "asset" => format!("/assets/{symbol}?kind={kind}"),
                _ => format!(
                    "/?{}",
                    serde_urlencoded::to_string([("watched", symbol)]).unwrap_or_default()
                ),
            };
            return Ok(Redirect::to(&url).into_response());
        }
        Err(portfolio::Error::Domain(
            DomainError::Invalid(errors) | DomainError::Mismatch(errors),
        )) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(portfolio::Error::Domain(DomainError::Conflict { message, .. })) => {
            (vec![], Some(message), StatusCode::CONFLICT)
        }
        Err(other) => return Err(other.into()),
    };
    let kind = if draft.kind.trim().is_empty() {
        "stock".to_string()
    } else {
        draft.kind.clone()
    };
    let mut page = IndexPage::new(&auth, String::new(), "stock");
    page.watch_kinds = kind_options(&kind, false);
    page.watch_form = FormView::refused(draft, errors);
    page.watch_conflict = conflict;
    let watched = watchlist::load(state.store.as_ref(), &state.quotes, auth.user.owner()).await?;
    page.show_watchlist(&watched, &state.quotes);
    Ok((status, page).into_response())
}

async fn remove_watch(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let entry = watchlist::owned(state.store.as_ref(), owner, id).await?;
    watchlist::remove(state.store.as_ref(), owner, id).await?;
    let query = serde_urlencoded::to_string([("unwatched", entry.asset.symbol.as_str())])
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/?{query}")).into_response())
}
