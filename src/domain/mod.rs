//! The domain: what the tracker's words mean and the rules they follow, as types and pure
//! functions. It does no I/O (no database, no HTTP, no clock, no logging): use cases in
//! `portfolio` gather the inputs, and the web and command-line edges parse text and JSON into
//! these types before any rule runs ("parse, don't validate").

pub mod account;
pub mod activity;
pub mod amount;
pub mod cash;
pub mod charts;
pub mod csv;
pub mod currency;
mod error;
pub mod fx;
pub mod holding;
pub mod holding_account;
pub mod income;
pub mod ledger;
pub mod position;
pub mod quote;
pub mod returns;
pub mod symbol;
pub mod transaction;
pub mod valuation;
pub mod watch;

pub use account::{
    ApiToken, BadPassword, BadUsername, NewSession, Session, User, check_password, check_username,
};
pub use amount::{AmountError, MAX_AMOUNT, MAX_SCALE, NOTES_MAX_LEN, parse_decimal};
pub use currency::{MinorUnit, currency_code};
pub use error::{DomainError, FieldError, Problems};
pub use holding::{
    Asset, AssetKey, DEFAULT_OWNER, Holding, HoldingDraft, HoldingFields, OwnerId, ValidHolding,
};
pub use ledger::{Ledger, TxAmounts, TxKind};
pub use position::{Position, SortDir, SortKey, Sums, TableColumns, Totals};
pub use quote::{
    EARLIEST_PRICE_DATE, HistoryRange, PricePoint, Quote, StoredQuote, percent_change,
};
pub use symbol::{AssetKind, SYMBOL_MAX_LEN, Symbol, SymbolError, UnknownKind};
pub use transaction::{ImportRow, ImportTx, Transaction, TxDraft, TxFields};
pub use watch::{MAX_WATCHED, WatchDraft, WatchEntry, WatchFields};
