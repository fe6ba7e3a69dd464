//! First-run setup, sign-up, login and logout, and the account page (password, API tokens).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::{DomainError, User, check_password, check_username};
use crate::portfolio::{self, accounts, auth};
use crate::store::StoreError;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::format;
use crate::web::session::{self, Authed, MaybeAuthed};

/// Forms posted before there is a session: first-run setup, sign-up, login.
pub fn sessionless() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_form).post(setup))
        .route("/signup", get(signup_form).post(signup))
        .route("/login", get(login_form).post(login))
}

/// Logout and the account page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logout", post(logout))
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub struct SetupPage {
    layout: Layout,
    heading: &'static str,
    intro: &'static str,
    action: &'static str,
    button: &'static str,
    ask_code: bool,
    username: String,
    errors: Vec<String>,
}

impl SetupPage {
    fn setup(username: String, errors: Vec<String>) -> Self {
        SetupPage {
            layout: Layout::public("", None),
            heading: "Welcome to stock-ticker",
            intro: "Create the first account. It is the admin, and it keeps anything added before accounts existed.",
            action: "/setup",
            button: "Create account",
            ask_code: true,
            username,
            errors,
        }
    }

    fn signup(username: String, errors: Vec<String>) -> Self {
        SetupPage {
            layout: Layout::public("login", None),
            heading: "Sign up",
            intro: "Create an account. Your portfolio is yours alone.",
            action: "/signup",
            button: "Sign up",
            ask_code: false,
            username,
            errors,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewAccountForm {
    username: String,
    password: String,
    confirm: String,
    /// Only on /setup.
    code: String,
}

impl NewAccountForm {
    /// The checked name and the password's hash, or every problem.
    async fn check(&self) -> Result<(String, String), Vec<String>> {
        let mut errors = Vec::new();
        let name = check_username(&self.username)
            .map_err(|e| errors.push(e.to_string()))
            .ok();
        if let Err(e) = check_password(&self.password) {
            errors.push(e.to_string());
        } else if self.password != self.confirm {
            errors.push("The two passwords differ.".into());
        }
        match name {
            Some(name) if errors.is_empty() => auth::hash_password_blocking(self.password.clone())
                .await
                .map(|h| (name, h))
                .map_err(|e| vec![e.to_string()]),
            _ => Err(errors),
        }
    }
}

async fn setup_form(State(state): State<AppState>) -> Result<Response, PageError> {
    if !state.store.needs_setup().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(SetupPage::setup(String::new(), vec![]).into_response())
}

async fn setup(
    State(state): State<AppState>,
    PageForm(form): PageForm<NewAccountForm>,
) -> Result<Response, PageError> {
    if !state.store.needs_setup().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    if !auth::constant_time_eq(form.code.trim().as_bytes(), state.setup_code.as_bytes()) {
        tracing::warn!("a /setup attempt with a wrong setup code");
        let errors = vec![
            "The setup code is wrong. It is in this server's log (or SETUP_CODE).".to_string(),
        ];
        return Ok((
            StatusCode::FORBIDDEN,
            SetupPage::setup(form.username, errors),
        )
            .into_response());
    }
    let (name, hash) = match form.check().await {
        Ok(ok) => ok,
        Err(errors) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                SetupPage::setup(form.username, errors),
            )
                .into_response());
        }
    };
    let user = match state.store.setup_admin(&name, &hash).await {
        Ok(user) => user,
        Err(StoreError::Conflict) => return Ok(Redirect::to("/login").into_response()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.username, "first account created");
    signed_in(&state, &user, "/portfolio").await
}

async fn signup_form(State(state): State<AppState>) -> Result<Response, PageError> {
    if !state.config.allow_signup {
        return Err(AppError::not_found(
            "Sign-up is closed on this server; ask its admin for an account.",
        )
        .into());
    }
    Ok(SetupPage::signup(String::new(), vec![]).into_response())
}

async fn signup(
    State(state): State<AppState>,
    PageForm(form): PageForm<NewAccountForm>,
) -> Result<Response, PageError> {
    if !state.config.allow_signup {
        return Err(AppError::not_found(
            "Sign-up is closed on this server; ask its admin for an account.",
        )
        .into());
    }
    if state.store.needs_setup().await? {
        return Err(AppError::Forbidden(
            "This server has no admin yet: finish /setup first.".into(),
        )
        .into());
    }
    let (name, hash) = match form.check().await {
        Ok(ok) => ok,
        Err(errors) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                SetupPage::signup(form.username, errors),
            )
                .into_response());
        }
    };
    match state.store.create_user(&name, &hash, false).await {
        Ok(user) => signed_in(&state, &user, "/portfolio").await,
        Err(StoreError::Conflict) => {
            let errors = vec!["That user name is taken.".to_string()];
            Ok((
                StatusCode::CONFLICT,
                SetupPage::signup(form.username, errors),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Starts a session and sends the person on.
async fn signed_in(state: &AppState, user: &User, next: &str) -> Result<Response, PageError> {
    let cookie = session::start(state, user).await?;
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    layout: Layout,
    username: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    allow_signup: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginQuery {
    next: String,
    changed: Option<String>,
}

/// Only a path on this site: `/portfolio`, never `//evil.example` or `https://...`.
fn safe_next(next: &str) -> &str {
    // Browsers drop tabs and line breaks and read `\` as `/`, so `/\t/evil` would leave the site.
    let clean = next.chars().all(|c| c.is_ascii_graphic() && c != '\\');
    if clean && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/portfolio"
    }
}

async fn login_form(
    State(state): State<AppState>,
    MaybeAuthed(auth): MaybeAuthed,
    PageQuery(q): PageQuery<LoginQuery>,
) -> Result<Response, PageError> {
    if state.store.needs_setup().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    if auth.is_some() {
        return Ok(Redirect::to(safe_next(&q.next)).into_response());
    }
    Ok(LoginPage {
        layout: Layout::public("login", None),
        username: String::new(),
        next: q.next,
        error: None,
        notice: q
            .changed
            .map(|_| "Your password was changed. Log in with the new one.".into()),
        allow_signup: state.config.allow_signup,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    username: String,
    password: String,
    next: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let name = form.username.trim().to_string();
    let account_key = auth::account_key(&name);
    // Behind a trusted load balancer, the address it saw; else the peer's.
    let client = state.config.trusted_proxies.client(peer.ip(), &headers);
    let address_key = auth::address_key(client);
    let keys = [account_key.clone(), address_key.clone()];
    let page = |status: StatusCode, error: String| {
        let page = LoginPage {
            layout: Layout::public("login", None),
            username: name.clone(),
            next: form.next.clone(),
            error: Some(error),
            notice: None,
            allow_signup: state.config.allow_signup,
        };
        Ok((status, page).into_response())
    };
    if let Err(wait) = state.throttle.attempt(&keys) {
        let message = format!(
            "Too many failed logins. Try again in {} s.",
            wait.as_secs().max(1)
        );
        return page(StatusCode::TOO_MANY_REQUESTS, message);
    }
    let user = match check_username(&name) {
        Ok(name) => state.store.user_by_name(&name).await?,
        Err(_) => None,
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // Verified even for an unknown name, so the answer takes as long either way.
    let verified = auth::verify_password_blocking(hash, form.password.clone()).await;
    match user {
        Some(user) if verified && user.password_hash.is_some() => {
            state.throttle.succeeded(&account_key, Some(&address_key));
            // A new session id on every login; the old session, if any, ends.
            session::end(&state, &headers).await?;
            tracing::info!(user = %user.username, "logged in");
            signed_in(&state, &user, safe_next(&form.next)).await
        }
        _ => {
            tracing::warn!(address = %client, "failed login");
            page(
                StatusCode::UNAUTHORIZED,
                "Wrong user name or password.".into(),
            )
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let cookie = session::end(&state, &headers).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// A token as listed.
pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    layout: Layout,
    username: String,
    is_admin: bool,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    token_error: Option<String>,
    password_errors: Vec<String>,
    notice: Option<String>,
}

async fn account(state: &AppState, auth: &Authed) -> Result<AccountPage, PageError> {
    let tokens = accounts::tokens(state.store.as_ref(), auth.user.owner())
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            label: t.label,
            prefix: t.prefix,
            created: format::timestamp(t.created_at),
            last_used: t
                .last_used_at
                .map(format::timestamp)
                .unwrap_or_else(|| "never".into()),
        })
        .collect();
    Ok(AccountPage {
        layout: Layout::new("account", auth),
        username: auth.user.username.clone(),
        is_admin: auth.user.is_admin,
        tokens,
        new_token: None,
        token_error: None,
        password_errors: vec![],
        notice: None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AccountQuery {
    revoked: Option<String>,
    password: Option<String>,
}

async fn account_page(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<AccountQuery>,
) -> Result<Response, PageError> {
    let mut page = account(&state, &auth).await?;
    page.notice = match (q.revoked, q.password) {
        (Some(_), _) => Some("The token was revoked.".into()),
        (None, Some(_)) => Some(
            "Your password was changed. Your other sessions and every API token ended: create new tokens for your scripts below."
                .into(),
        ),
        (None, None) => None,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    let keys = [auth::account_key(&auth.user.username)];
    if let Err(wait) = state.throttle.attempt(&keys) {
        let message = format!(
            "Too many wrong passwords. Try again in {} s.",
            wait.as_secs().max(1)
        );
        return Err(AppError::TooManyRequests(message).into());
    }
    let current_ok = match auth.user.password_hash.clone() {
        Some(hash) => auth::verify_password_blocking(Some(hash), form.current.clone()).await,
        None => false,
    };
    if current_ok {
        state.throttle.succeeded(&keys[0], None);
    } else {
        errors.push("The current password is wrong.".to_string());
    }
    if let Err(e) = check_password(&form.password) {
        errors.push(e.to_string());
    } else if form.password != form.confirm {
        errors.push("The two new passwords differ.".into());
    }
    if !errors.is_empty() {
        let mut page = account(&state, &auth).await?;
        page.password_errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    // Every session and API token ends, this session included; a fresh one keeps the person
    // signed in here.
    accounts::set_password(
        state.store.as_ref(),
        auth.user.owner(),
        form.password.clone(),
    )
    .await?;
    signed_in(&state, &auth.user, "/account?password=changed").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    label: String,
}

async fn create_token(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, PageError> {
    match accounts::create_token(state.store.as_ref(), auth.user.owner(), &form.label).await {
        Ok(token) => {
            let mut page = account(&state, &auth).await?;
            page.new_token = Some(token);
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(portfolio::Error::Domain(DomainError::Invalid(errors))) => {
            let mut page = account(&state, &auth).await?;
            page.token_error = errors.into_iter().next().map(|e| e.message);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    accounts::revoke_token(state.store.as_ref(), auth.user.owner(), id).await?;
    Ok(Redirect::to("/account?revoked=1").into_response())
}
