//! One integration-test binary: the store suite on both backends, HTTP tests against the real
//! server with a wiremock upstream, and a browser test in headless Chromium.

mod api;
mod architecture;
mod browser;
mod charts;
mod cli;
mod freshness;
mod helpers;
mod import;
mod market;
mod pages;
mod scale;
mod secrets;
mod security;
mod store;
mod transactions;
