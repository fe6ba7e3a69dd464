//! Server-rendered pages, one module per part of the site. They work without JavaScript;
//! errors are HTML pages.

pub mod about;
pub mod account;
mod activity;
mod asset;
mod cash;
mod charts;
mod holding;
mod holding_accounts;
mod home;
pub mod import;
mod income;
pub mod layout;
mod portfolio;
mod returns;
mod status;
mod transactions;

use axum::Router;

use super::AppState;

/// Every page a signed-in person posts forms to (see `csrf::token_forms`); the login forms and
/// the upload are added with their own rules by `web::router`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(portfolio::router())
        .merge(returns::router())
        .merge(holding::router())
        .merge(transactions::router())
        .merge(activity::router())
        .merge(cash::router())
        .merge(income::router())
        .merge(holding_accounts::router())
        .merge(asset::router())
        .merge(status::router())
        .merge(import::router())
        .merge(account::router())
        .merge(about::router())
}
