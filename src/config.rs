//! Every setting in one place: each is an environment variable and a flag, with a default.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::AssetKind;
use crate::market::registry::ProviderList;
use crate::web::client::TrustedProxies;

/// The command line: a subcommand (default `serve`) and the settings.
#[derive(Debug, Parser)]
#[command(
    name = "stock-ticker",
    version,
    about = "Self-hosted price tracker for stocks, ETFs, commodities, crypto and personal items"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Exit 0 when the server answers /healthz (for container health checks; needs no curl).
    Healthcheck {
        /// URL to ask; default `http://127.0.0.1:<port of BIND>/healthz`.
        #[arg(long)]
        url: Option<String>,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage personal API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage where a user keeps assets (a broker, a bank, "Wallet").
    #[command(subcommand)]
    Holdings(HoldingsCommand),
    /// Import transactions from a CSV file (the export's format; headers matched by name):
    /// every row is checked first, and on any problem nothing is written.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The account to import into.
        #[arg(long)]
        user: String,
        /// Kind of rows without a kind column: stock, etf, commodity, crypto or item.
        #[arg(long, default_value = "stock")]
        kind: String,
        /// Do not ask the price services whether new symbols exist.
        #[arg(long)]
        offline: bool,
        /// How the file writes its dates: iso (2024-03-01), us (03/01/2024) or eu (01.03.2024
        /// or 01/03/2024); guessed from the file when not given.
        #[arg(long)]
        date_format: Option<String>,
        /// Create the accounts the file's `account` column names that the user does not have
        /// (otherwise their rows are refused).
        #[arg(long)]
        create_accounts: bool,
    },
    /// Write an account's transactions (or holdings) as CSV to standard output.
    Export {
        #[arg(long)]
        user: String,
        /// Export holdings with their prices and gains instead of transactions.
        #[arg(long)]
        holdings: bool,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an account and print it (the only time it is shown).
    Create {
        name: String,
        #[arg(long)]
        label: String,
    },
    /// List an account's tokens.
    List { name: String },
    /// Revoke one of an account's tokens by its id.
    Revoke { name: String, id: i64 },
}

#[derive(Debug, Clone, Subcommand)]
pub enum HoldingsCommand {
    /// List a user's accounts: id, transactions, name (the first is the default).
    Accounts {
        #[arg(long)]
        user: String,
    },
    /// Add an account for a user and print its id.
    AddAccount {
        #[arg(long)]
        user: String,
        name: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        name: String,
        /// Read the password from standard input (the only way; it keeps it out of the shell history).
        #[arg(long)]
        password_stdin: bool,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// List accounts.
    List,
    /// Set a new password (read from standard input) and end the account's sessions and API tokens.
    ResetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line (for CloudWatch and other collectors).
    Json,
}

/// An address to listen on, or none: an empty setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptionalAddress(pub Option<SocketAddr>);

impl std::str::FromStr for OptionalAddress {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            Ok(Self(None))
        } else {
            text.parse().map(|address| Self(Some(address)))
        }
    }
}

/// All runtime settings.
#[derive(Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "0.0.0.0:8000", global = true)]
    pub bind: SocketAddr,

    /// Address and port of a second listener that alone serves `/metrics` (say
    /// `127.0.0.1:9100`); empty: `/metrics` is served on `BIND` with everything else.
    #[arg(long, env = "METRICS_BIND", default_value = "", global = true)]
    pub metrics_bind: OptionalAddress,

    /// Database: `sqlite://FILE?mode=rwc` (embedded, created on first run) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://stock-ticker.db?mode=rwc",
        hide_env_values = true,
        global = true
    )]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub database_max_connections: u32,

    /// Token for the IEX-format quote service (sent as `?token=`); empty sends none.
    #[arg(
        long,
        env = "SECRET_TOKEN",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub secret_token: String,

    /// AWS Secrets Manager secret (name or ARN) holding the IEX token, read at run time and
    /// followed through rotations; replaces SECRET_TOKEN.
    #[arg(
        long,
        env = "SECRET_TOKEN_SECRET_ID",
        default_value = "",
        global = true
    )]
    pub secret_token_secret_id: String,

    /// Key of the token when that secret is a JSON object; empty: the whole secret is the token.
    #[arg(
        long,
        env = "SECRET_TOKEN_SECRET_KEY",
        default_value = "",
        global = true
    )]
    pub secret_token_secret_key: String,

    /// AWS Secrets Manager secret (name or ARN) with the PostgreSQL credentials in RDS's JSON
    /// format; host, port and database missing from it come from DATABASE_URL.
    #[arg(long, env = "DATABASE_SECRET_ID", default_value = "", global = true)]
    pub database_secret_id: String,

    /// Seconds a value read from Secrets Manager is used before it is read again.
    #[arg(long, env = "SECRET_TTL_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub secret_ttl_secs: u64,

    /// Base URL of an IEX-format quote service: everything before `/stable/...`; empty for none.
    #[arg(long, env = "IEX_BASE_URL", default_value = "", global = true)]
    pub iex_base_url: String,

    /// Seconds a quote is reused before it is fetched again (memory cache and database).
    #[arg(long, env = "QUOTE_TTL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub quote_ttl_secs: u64,

    /// Seconds between background refreshes of held assets' quotes; 0 turns it off.
    #[arg(
        long,
        env = "REFRESH_INTERVAL_SECS",
        default_value_t = 60,
        global = true
    )]
    pub refresh_interval_secs: u64,

    /// Failures in a row after which a provider is paused (its circuit opens).
    #[arg(long, env = "CIRCUIT_BREAKER_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub circuit_breaker_failures: u32,

    /// Seconds a paused provider rests before a background probe sends its first trial
    /// request; each failed trial doubles the pause, up to CIRCUIT_BREAKER_COOL_DOWN_SECS.
    #[arg(long, env = "CIRCUIT_BREAKER_FIRST_PAUSE_SECS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub circuit_breaker_first_pause_secs: u64,

    /// The longest pause, in seconds, between two trial requests to a paused provider (for a
    /// provider with a daily budget, at least two days divided by that budget).
    #[arg(long, env = "CIRCUIT_BREAKER_COOL_DOWN_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub circuit_breaker_cool_down_secs: u64,

    /// Milliseconds a page or API read waits for a price it has none of (or, for a single
    /// quote, a fresh one); later answers are stored for the next read. Known prices are
    /// shown at once, marked stale past QUOTE_TTL_SECS, and refreshed in the background.
    #[arg(long, env = "QUOTE_PAGE_DEADLINE_MS", default_value_t = 800, value_parser = clap::value_parser!(u64).range(0..=60_000), global = true)]
    pub quote_page_deadline_ms: u64,

    /// Providers for stocks, in the order they are asked.
    #[arg(
        long,
        env = "QUOTE_PROVIDERS_STOCK",
        default_value = "yahoo,iex,twelvedata,finnhub,alphavantage,stooq",
        global = true
    )]
    pub quote_providers_stock: ProviderList,

    /// Providers for ETFs, in the order they are asked.
    #[arg(
        long,
        env = "QUOTE_PROVIDERS_ETF",
        default_value = "yahoo,iex,twelvedata,finnhub,alphavantage,stooq",
        global = true
    )]
    pub quote_providers_etf: ProviderList,

    /// Providers for commodities, in the order they are asked.
    #[arg(
        long,
        env = "QUOTE_PROVIDERS_COMMODITY",
        default_value = "yahoo,twelvedata,alphavantage,stooq",
        global = true
    )]
    pub quote_providers_commodity: ProviderList,

    /// Providers for crypto, in the order they are asked.
    #[arg(
        long,
        env = "QUOTE_PROVIDERS_CRYPTO",
        default_value = "coingecko,yahoo,twelvedata",
        global = true
    )]
    pub quote_providers_crypto: ProviderList,

    /// Services asked for currency exchange rates (as `EURUSD=X` pairs), in order.
    #[arg(
        long,
        env = "QUOTE_PROVIDERS_FX",
        default_value = "yahoo",
        global = true
    )]
    pub quote_providers_fx: ProviderList,

    /// Yahoo chart API base URL.
    #[arg(
        long,
        env = "YAHOO_BASE_URL",
        default_value = "https://query1.finance.yahoo.com",
        global = true
    )]
    pub yahoo_base_url: String,

    /// Where Yahoo's consent cookie comes from, when it asks for a crumb.
    #[arg(
        long,
        env = "YAHOO_COOKIE_URL",
        default_value = "https://fc.yahoo.com",
        global = true
    )]
    pub yahoo_cookie_url: String,

    /// The `User-Agent` sent to Yahoo, which throttles clients that do not look like a browser;
    /// empty sends stock-ticker's own.
    #[arg(
        long,
        env = "YAHOO_USER_AGENT",
        default_value = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        global = true
    )]
    pub yahoo_user_agent: String,

    /// Requests a minute stock-ticker allows itself at Yahoo, which publishes no limit.
    #[arg(long, env = "YAHOO_REQUESTS_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub yahoo_requests_per_minute: u32,

    /// Alpha Vantage base URL.
    #[arg(
        long,
        env = "ALPHAVANTAGE_BASE_URL",
        default_value = "https://www.alphavantage.co",
        global = true
    )]
    pub alphavantage_base_url: String,

    /// Alpha Vantage API key; empty skips the provider.
    #[arg(
        long,
        env = "ALPHAVANTAGE_API_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub alphavantage_api_key: String,

    /// Finnhub base URL.
    #[arg(
        long,
        env = "FINNHUB_BASE_URL",
        default_value = "https://finnhub.io",
        global = true
    )]
    pub finnhub_base_url: String,

    /// Finnhub API key; empty skips the provider.
    #[arg(
        long,
        env = "FINNHUB_API_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub finnhub_api_key: String,

    /// Twelve Data base URL.
    #[arg(
        long,
        env = "TWELVEDATA_BASE_URL",
        default_value = "https://api.twelvedata.com",
        global = true
    )]
    pub twelvedata_base_url: String,

    /// Twelve Data API key; empty skips the provider.
    #[arg(
        long,
        env = "TWELVEDATA_API_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub twelvedata_api_key: String,

    /// CoinGecko base URL.
    #[arg(
        long,
        env = "COINGECKO_BASE_URL",
        default_value = "https://api.coingecko.com",
        global = true
    )]
    pub coingecko_base_url: String,

    /// CoinGecko demo API key (optional).
    #[arg(
        long,
        env = "COINGECKO_API_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub coingecko_api_key: String,

    /// Stooq base URL.
    #[arg(
        long,
        env = "STOOQ_BASE_URL",
        default_value = "https://stooq.com",
        global = true
    )]
    pub stooq_base_url: String,

    /// Stooq API key; empty skips the provider.
    #[arg(
        long,
        env = "STOOQ_API_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub stooq_api_key: String,

    /// Seconds to wait for one upstream quote request.
    #[arg(long, env = "QUOTE_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=120), global = true)]
    pub quote_timeout_secs: u64,

    /// Most upstream quote requests in flight at once for one page.
    #[arg(long, env = "QUOTE_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=64), global = true)]
    pub quote_concurrency: u64,

    /// Seconds before a request is cut off with 503.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub request_timeout_secs: u64,

    /// Seconds a connection may take to send a request's headers, counted from when it opens,
    /// from the first byte of its next request, or (for a connection that never sent a request)
    /// from when it opened; a slower one is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub header_read_timeout_secs: u64,

    /// Seconds an idle kept-alive connection stays open after its last answer. Behind a load
    /// balancer keep it above the balancer's idle timeout (an ALB's is 60 s).
    #[arg(long, env = "KEEP_ALIVE_TIMEOUT_SECS", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub keep_alive_timeout_secs: u64,

    /// Most client connections open at once; further ones wait (in the listen queue) until one
    /// closes, and the log says so. Keep it below the open-file limit (`ulimit -n`).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000), global = true)]
    pub max_connections: u64,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 65_536, global = true)]
    pub max_body_bytes: usize,

    /// Largest CSV file the import page accepts, in bytes.
    #[arg(
        long,
        env = "IMPORT_MAX_BYTES",
        default_value_t = 20 << 20,
        global = true
    )]
    pub import_max_bytes: usize,

    /// CSV imports checked or written at once by this instance; the others wait their turn, in
    /// order, and their page shows how many are ahead. Each running one holds its file and
    /// about a tenth of its size again in memory.
    #[arg(long, env = "IMPORT_WORKERS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64), global = true)]
    pub import_workers: u64,

    /// Seconds a check or commit request waits for its answer before the page shows the queue
    /// or the progress instead (which then shows the answer).
    #[arg(long, env = "IMPORT_ANSWER_WAIT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub import_answer_wait_secs: u64,

    /// Mark the session cookie `Secure` (sent over HTTPS only). Set it to true behind TLS.
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub cookie_secure: bool,

    /// The code `/setup` asks for before it creates the first account. Empty: a random one is
    /// made at start and written to the log (so only whoever reads the log can claim the install).
    #[arg(
        long,
        env = "SETUP_CODE",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true,
        global = true
    )]
    pub setup_code: String,

    /// Let anyone create an account at /signup (otherwise only `stock-ticker user add`).
    #[arg(long, env = "ALLOW_SIGNUP", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub allow_signup: bool,

    /// A session ends after this many seconds without a request.
    #[arg(long, env = "SESSION_IDLE_SECS", default_value_t = 604_800, value_parser = clap::value_parser!(u64).range(60..=31_536_000), global = true)]
    pub session_idle_secs: u64,

    /// A session ends this many seconds after login, active or not.
    #[arg(long, env = "SESSION_MAX_SECS", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(60..=31_536_000), global = true)]
    pub session_max_secs: u64,

    /// Seconds an account or address is locked out after 5 failed logins; it doubles with each
    /// further failure, up to 30 times this.
    #[arg(long, env = "LOGIN_BACKOFF_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub login_backoff_secs: u64,

    /// Proxies (comma-separated addresses or blocks such as 10.0.0.0/16) whose
    /// X-Forwarded-For names the client, as the load balancer in front of the app; from
    /// anyone else the header is ignored. Login throttling counts per client address.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: TrustedProxies,

    /// Seconds to let requests in flight finish after SIGTERM before exiting anyway; keep it
    /// below the orchestrator's stop timeout (ECS: stopTimeout, 30 s by default).
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub shutdown_grace_secs: u64,

    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

impl Config {
    pub fn quote_timeout(&self) -> Duration {
        Duration::from_secs(self.quote_timeout_secs)
    }

    pub fn quote_ttl(&self) -> Duration {
        Duration::from_secs(self.quote_ttl_secs)
    }

    pub fn quote_page_deadline(&self) -> Duration {
        Duration::from_millis(self.quote_page_deadline_ms)
    }

    /// The provider chain configured for each market kind.
    pub fn chains(&self) -> Vec<(AssetKind, &ProviderList)> {
        vec![
            (AssetKind::Stock, &self.quote_providers_stock),
            (AssetKind::Etf, &self.quote_providers_etf),
            (AssetKind::Commodity, &self.quote_providers_commodity),
            (AssetKind::Crypto, &self.quote_providers_crypto),
        ]
    }

    pub fn secret_ttl(&self) -> Duration {
        Duration::from_secs(self.secret_ttl_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Settings from environment variables and defaults, ignoring the command line.
    pub fn from_env() -> Self {
        Cli::parse_from(["stock-ticker"]).config
    }
}

// Written by hand so the token and the database password never reach a log.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("metrics_bind", &self.metrics_bind)
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field("database_max_connections", &self.database_max_connections)
            .field(
                "secret_token",
                &if self.secret_token.is_empty() {
                    "(empty)"
                } else {
                    "(set)"
                },
            )
            .field("secret_token_secret_id", &self.secret_token_secret_id)
            .field("secret_token_secret_key", &self.secret_token_secret_key)
            .field("database_secret_id", &self.database_secret_id)
            .field("secret_ttl_secs", &self.secret_ttl_secs)
            .field("iex_base_url", &self.iex_base_url)
            .field("quote_ttl_secs", &self.quote_ttl_secs)
            .field("refresh_interval_secs", &self.refresh_interval_secs)
            .field("chains", &self.chains())
            .field("quote_providers_fx", &self.quote_providers_fx.to_string())
            .field("quote_timeout_secs", &self.quote_timeout_secs)
            .field("quote_page_deadline_ms", &self.quote_page_deadline_ms)
            .field("circuit_breaker_failures", &self.circuit_breaker_failures)
            .field(
                "circuit_breaker_first_pause_secs",
                &self.circuit_breaker_first_pause_secs,
            )
            .field(
                "circuit_breaker_cool_down_secs",
                &self.circuit_breaker_cool_down_secs,
            )
            .field("quote_concurrency", &self.quote_concurrency)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("keep_alive_timeout_secs", &self.keep_alive_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("import_max_bytes", &self.import_max_bytes)
            .field("import_workers", &self.import_workers)
            .field("import_answer_wait_secs", &self.import_answer_wait_secs)
            .field("cookie_secure", &self.cookie_secure)
            .field("allow_signup", &self.allow_signup)
            .field("session_idle_secs", &self.session_idle_secs)
            .field("session_max_secs", &self.session_max_secs)
            .field("log_format", &self.log_format)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_metrics_bind_is_no_listener_and_a_bad_one_is_refused_by_name() {
        let parse = |value: &str| Cli::try_parse_from(["stock-ticker", "--metrics-bind", value]);
        assert_eq!(parse("").expect("empty").config.metrics_bind.0, None);
        assert_eq!(
            parse(" 127.0.0.1:9100 ")
                .expect("address")
                .config
                .metrics_bind
                .0,
            Some("127.0.0.1:9100".parse().expect("address"))
        );
        assert_eq!(
            Cli::parse_from(["stock-ticker"]).config.metrics_bind.0,
            None,
            "unset"
        );
        let Err(refused) = parse("9100") else {
            panic!("a port alone is refused");
        };
        assert!(refused.to_string().contains("METRICS_BIND"), "{refused}");
    }
}
