//! stock-ticker: a self-hosted price tracker. The binary in `main.rs` is a thin shell over this
//! library.
//!
//! The layers, from the inside out (imports point inward only; `tests/it/architecture.rs`
//! checks it): `domain` (types and pure rules, no I/O), `store` (persistence) and `market`
//! (price services), `portfolio` (the use cases), `web` (pages and the JSON API), and `app`
//! with `config`, which put it all together.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod domain;
pub mod market;
pub mod portfolio;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod web;
