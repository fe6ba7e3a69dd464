//! stock-ticker: a self-hosted price tracker. The binary in `main.rs` is a thin shell over this library.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod charts;
pub mod config;
pub mod csv_io;
pub mod domain;
pub mod error;
pub mod ledger;
pub mod market;
pub mod portfolio;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod transactions;
pub mod valuation;
pub mod watchlist;
pub mod web;
