//! The smallest axum server: `scripts/bench-portfolio` measures it beside the app, on the same
//! cores in the same run, to say how close a page view comes to the machine's ceiling.
//!
//! Usage: `cargo run --release --example hello -- 127.0.0.1:3000`

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await
}
