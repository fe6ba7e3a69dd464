use clap::Parser;

// Pages allocate many small strings; mimalloc serves them markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use stock_ticker::app::{self, Application};
use stock_ticker::config::{Cli, Command, HoldingsCommand, LogFormat, TokenCommand, UserCommand};
use stock_ticker::domain::DomainError;
use stock_ticker::portfolio::{self, accounts, holding_accounts};
use stock_ticker::telemetry;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let log_format = cli.config.log_format;
    telemetry::init(log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => migrate(cli.config).await,
        Command::User(command) => user(cli.config, command).await,
        Command::Token(command) => token(cli.config, command).await,
        Command::Holdings(command) => holdings(cli.config, command).await,
        Command::Healthcheck { url } => healthcheck(&cli.config, url).await,
        Command::Import {
            file,
            user,
            kind,
            offline,
            date_format,
            create_accounts,
        } => {
            import(
                cli.config,
                &file,
                &user,
                &kind,
                (offline, create_accounts),
                date_format.as_deref(),
            )
            .await
        }
        Command::Export { user, holdings } => export(cli.config, &user, holdings).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // JSON logs go to a collector; a person at a terminal wants one plain line.
            match log_format {
                LogFormat::Json => tracing::error!("{e:#}"),
                LogFormat::Pretty => eprintln!("stock-ticker: {e:#}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: stock_ticker::config::Config) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until(app::shutdown_signal())
        .await
}

async fn migrate(config: stock_ticker::config::Config) -> anyhow::Result<()> {
    let store = app::open_store(&config).await?;
    store.close().await;
    println!("migrations applied ({})", store.backend());
    Ok(())
}

/// Reads a password from standard input (one line; the line break is not part of it).
fn password_from_stdin(flag: bool) -> anyhow::Result<String> {
    anyhow::ensure!(
        flag,
        "pass --password-stdin and the password on standard input"
    );
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    stock_ticker::domain::check_password(&password)?;
    Ok(password)
}

/// A use case's refusal as one line for the terminal.
fn said(e: portfolio::Error) -> anyhow::Error {
    match e {
        portfolio::Error::Domain(DomainError::Invalid(errors)) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        portfolio::Error::Domain(other) => anyhow::anyhow!("{other}"),
        portfolio::Error::Store(e) => e.into(),
        portfolio::Error::Internal(e) => e,
    }
}

async fn user(config: stock_ticker::config::Config, command: UserCommand) -> anyhow::Result<()> {
    let store = app::open_store(&config).await?;
    let result = async {
        match command {
            UserCommand::Add {
                name,
                password_stdin,
                admin,
            } => {
                stock_ticker::domain::check_username(&name)?;
                let password = password_from_stdin(password_stdin)?;
                // The first account takes over whatever was held before accounts existed.
                let user = accounts::add_user(store.as_ref(), &name, password, admin)
                    .await
                    .map_err(|e| match e {
                        portfolio::Error::Domain(DomainError::Conflict { .. }) => {
                            anyhow::anyhow!("the user name {name} is taken")
                        }
                        other => said(other),
                    })?;
                println!(
                    "created {}{}",
                    user.username,
                    if user.is_admin { " (admin)" } else { "" }
                );
            }
            UserCommand::List => {
                for u in store.users().await? {
                    let state = if u.password_hash.is_some() {
                        ""
                    } else {
                        " (no password: finish /setup)"
                    };
                    println!(
                        "{}\t{}{}",
                        u.username,
                        if u.is_admin { "admin" } else { "user" },
                        state
                    );
                }
            }
            UserCommand::ResetPassword {
                name,
                password_stdin,
            } => {
                let user = account(store.as_ref(), &name).await?;
                let password = password_from_stdin(password_stdin)?;
                accounts::set_password(store.as_ref(), user.owner(), password)
                    .await
                    .map_err(said)?;
                println!(
                    "password changed for {}; their sessions and API tokens have ended",
                    user.username
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn holdings(
    config: stock_ticker::config::Config,
    command: HoldingsCommand,
) -> anyhow::Result<()> {
    let store = app::open_store(&config).await?;
    let result = async {
        let store = store.as_ref();
        match command {
            HoldingsCommand::Accounts { user } => {
                let user = account(store, &user).await?;
                for a in holding_accounts::list(store, user.owner())
                    .await
                    .map_err(said)?
                {
                    println!("{}\t{}\t{}", a.id, a.transactions, a.name);
                }
            }
            HoldingsCommand::AddAccount { user, name } => {
                let user = account(store, &user).await?;
                let a = holding_accounts::create(store, user.owner(), &name)
                    .await
                    .map_err(said)?;
                println!("{}", a.id);
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn token(config: stock_ticker::config::Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = app::open_store(&config).await?;
    let result = async {
        let store = store.as_ref();
        match command {
            TokenCommand::Create { name, label } => {
                let user = account(store, &name).await?;
                let token = accounts::create_token(store, user.owner(), &label)
                    .await
                    .map_err(|e| match e {
                        portfolio::Error::Domain(DomainError::Invalid(_)) => {
                            anyhow::anyhow!("the label has 1 to {} characters", accounts::LABEL_MAX)
                        }
                        other => said(other),
                    })?;
                println!("{token}");
            }
            TokenCommand::List { name } => {
                let user = account(store, &name).await?;
                for t in accounts::tokens(store, user.owner()).await.map_err(said)? {
                    println!("{}\t{}…\t{}", t.id, t.prefix, t.label);
                }
            }
            TokenCommand::Revoke { name, id } => {
                let user = account(store, &name).await?;
                accounts::revoke_token(store, user.owner(), id)
                    .await
                    .map_err(|e| match e {
                        portfolio::Error::Domain(DomainError::NotFound(_)) => {
                            anyhow::anyhow!("{name} has no token {id}")
                        }
                        other => said(other),
                    })?;
                println!("revoked token {id} of {name}");
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

/// Asks the server's /healthz on this host; any answer but 200 within 3 s is a failure.
async fn healthcheck(
    config: &stock_ticker::config::Config,
    url: Option<String>,
) -> anyhow::Result<()> {
    let url = url.unwrap_or_else(|| format!("http://127.0.0.1:{}/healthz", config.bind.port()));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?;
    let status = client
        .get(&url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url} did not answer: {e}"))?
        .status();
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    println!("healthy");
    Ok(())
}

/// The account named on the command line.
async fn account(
    store: &dyn stock_ticker::store::Store,
    name: &str,
) -> anyhow::Result<stock_ticker::domain::User> {
    store
        .user_by_name(name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no user {name}"))
}

async fn import(
    config: stock_ticker::config::Config,
    file: &std::path::Path,
    user: &str,
    kind: &str,
    (offline, create_accounts): (bool, bool),
    date_format: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    use stock_ticker::domain::csv::{self, Mapping};
    use stock_ticker::portfolio::import;
    let content =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    // Not UTF-8: read as Windows-1252, as spreadsheet programs on Windows save CSV.
    let (content, _) = csv::to_utf8(content);
    let kind: stock_ticker::domain::AssetKind = kind.parse()?;
    let headers = csv::headers(&content).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        headers.len() <= csv::MAX_COLUMNS,
        "the file has {} columns; at most {} are read",
        headers.len(),
        csv::MAX_COLUMNS
    );
    let mut mapping = Mapping::guess_with(&headers, &csv::sample(&content, 500));
    mapping.default_kind = Some(kind);
    mapping.create_accounts = create_accounts;
    if let Some(text) = date_format {
        mapping.date_format = csv::DateFormat::parse(text)
            .ok_or_else(|| anyhow::anyhow!("--date-format is iso, us or eu, not {text:?}"))?;
    }
    eprintln!(
        "dates read as {}; choose with --date-format iso, us or eu",
        mapping.date_format.label()
    );
    let store = app::open_store(&config).await?;
    let owner = account(store.as_ref(), user).await?.owner();
    let quotes = if offline {
        None
    } else {
        Some(app::quote_service_for(&config, store.clone()).await?)
    };
    let content = import::InMemory(std::sync::Arc::new(content));
    let (checked, known) = import::check(
        store.as_ref(),
        quotes.as_ref(),
        owner,
        content.clone(),
        &mapping,
    )
    .await
    .map_err(said)?;
    if !checked.is_ok() {
        for p in &checked.problems {
            eprintln!("line {}: {}: {}", p.line, p.field, p.message);
        }
        if checked.problem_count > checked.problems.len() {
            eprintln!(
                "… and {} more",
                checked.problem_count - checked.problems.len()
            );
        }
        anyhow::bail!(
            "{} problem(s) in {} rows: nothing was imported",
            checked.problem_count,
            checked.data_rows
        );
    }
    if !checked.new_accounts.is_empty() {
        eprintln!("creating the accounts {}", checked.new_accounts.join(", "));
    }
    let total = checked.rows;
    let terminal = std::io::stderr().is_terminal();
    let shown = std::sync::atomic::AtomicUsize::new(0);
    let progress = |written: usize| {
        let percent = (written * 100).checked_div(total).unwrap_or(100);
        let mut err = std::io::stderr();
        if terminal {
            let bar = "#".repeat(percent / 5) + &"-".repeat(20 - percent / 5);
            let _ = write!(err, "\r[{bar}] {written}/{total} rows");
            let _ = err.flush();
        } else if percent / 10 > shown.load(std::sync::atomic::Ordering::Relaxed) {
            shown.store(percent / 10, std::sync::atomic::Ordering::Relaxed);
            let _ = writeln!(err, "{written}/{total} rows written ({percent}%)");
        }
    };
    let written = import::commit(store.as_ref(), owner, (content, mapping, known), &progress)
        .await
        .map_err(said)?;
    if terminal {
        eprintln!();
    }
    store.close().await;
    println!("imported {written} transactions into {user}'s portfolio");
    Ok(())
}

async fn export(
    config: stock_ticker::config::Config,
    user: &str,
    holdings: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    use stock_ticker::portfolio::export;
    let store = app::open_store(&config).await?;
    let owner = account(store.as_ref(), user).await?.owner();
    let body = if holdings {
        let quotes = app::quote_service_for(&config, store.clone()).await?;
        let cache = portfolio::HoldingsCache::default();
        let base = store.base_currency(owner).await?;
        export::holdings(store.as_ref(), &quotes, &cache, owner, None, &base)
            .await
            .map_err(said)?
    } else {
        export::transactions(store.as_ref(), owner)
            .await
            .map_err(said)?
    };
    std::io::stdout().write_all(&body)?;
    store.close().await;
    Ok(())
}
