use clap::Parser;

// Pages allocate many small strings; mimalloc serves them markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use stock_ticker::app::{self, Application};
use stock_ticker::config::{Cli, Command, LogFormat};
use stock_ticker::telemetry;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let log_format = cli.config.log_format;
    telemetry::init(log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => migrate(cli.config).await,
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
