//! Transactions and holdings as CSV: the export format, reading a file with a column mapping,
//! and the checks that find every row's problem before anything is written.
//!
//! The format (what export writes and import reads without any mapping):
//! `date,type,symbol,kind,quantity,price,amount,ratio,fees,currency,notes`.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::ledger::{Ledger, TxAmounts};
use super::transaction::TxDraft;
use super::{AssetKind, DomainError, ImportTx, OwnerId, Position, Symbol, Transaction};

/// The fields a transaction row has, in the export's column order.
pub const FIELDS: [&str; 11] = [
    "date", "type", "symbol", "kind", "quantity", "price", "amount", "ratio", "fees", "currency",
    "notes",
];

/// Fields a mapping must name.
pub const REQUIRED: [&str; 3] = ["date", "type", "symbol"];

/// Most columns a file may have (its header row); a wider one is refused at upload.
pub const MAX_COLUMNS: usize = 100;

/// Most problems kept (a file with more says how many there were).
pub const MAX_PROBLEMS: usize = 1_000;

/// Column names other exports use for each field (compared without case, spaces or `_`).
fn synonyms(field: &str) -> &'static [&'static str] {
    match field {
        "date" => &[
            "date",
            "tradedate",
            "transactiondate",
            "settlementdate",
            "datum",
            "time",
        ],
        "type" => &[
            "type",
            "action",
            "transactiontype",
            "activity",
            "side",
            "activitytype",
        ],
        "symbol" => &["symbol", "ticker", "instrument", "security", "code"],
        "kind" => &["kind", "assettype", "assetclass", "class", "assetkind"],
        "quantity" => &["quantity", "shares", "qty", "units", "amountofshares"],
        "price" => &[
            "price",
            "unitprice",
            "priceperunit",
            "pricepershare",
            "shareprice",
        ],
        "amount" => &["amount", "total", "netamount", "cash", "value"],
        "ratio" => &["ratio", "splitratio"],
        "fees" => &["fees", "fee", "commission", "commissions", "costs"],
        "currency" => &["currency", "ccy", "curr"],
        "notes" => &["notes", "note", "description", "memo", "comment"],
        _ => &[],
    }
}

fn squash(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which file column (by index) each field comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping {
    pub columns: HashMap<String, usize>,
    /// The kind for rows without a kind column (or with an empty one).
    pub default_kind: Option<AssetKind>,
}

impl Mapping {
    /// Matches the file's headers to fields by name and common synonyms.
    pub fn guess(headers: &[String]) -> Mapping {
        let mut columns = HashMap::new();
        for field in FIELDS {
            let names = synonyms(field);
            if let Some(i) = headers
                .iter()
                .position(|h| names.contains(&squash(h).as_str()))
            {
                columns.insert(field.to_string(), i);
            }
        }
        Mapping {
            columns,
            default_kind: Some(AssetKind::Stock),
        }
    }

    /// The fields the mapping lacks of [`REQUIRED`].
    pub fn missing(&self) -> Vec<&'static str> {
        REQUIRED
            .into_iter()
            .filter(|f| !self.columns.contains_key(*f))
            .collect()
    }
}

/// One problem of one row (line 1 is the header).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// A file read with a mapping: its rows as transactions to write, or every problem found.
#[derive(Debug, Default)]
pub struct Checked {
    pub rows: Vec<ImportTx>,
    /// The file's line of each row, for problems found later.
    pub lines: Vec<u64>,
    pub problems: Vec<RowProblem>,
    /// How many problems there were in all (only the first [`MAX_PROBLEMS`] are kept).
    pub problem_count: usize,
    pub data_rows: usize,
}

impl Checked {
    fn problem(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(RowProblem {
                line,
                field: field.to_string(),
                message: message.into(),
            });
        }
    }

    pub fn is_ok(&self) -> bool {
        self.problem_count == 0
    }
}

/// The header row of a file; an error when it is not CSV.
pub fn headers(content: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(strip_bom(content));
    let headers = reader
        .headers()
        .map_err(|e| format!("The file is not CSV: {e}"))?;
    let headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    if headers.iter().all(String::is_empty) {
        return Err("The file is empty: it needs a header row and at least one row.".into());
    }
    Ok(headers)
}

fn strip_bom(content: &[u8]) -> &[u8] {
    content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content)
}

/// Where an uploaded file stands between the steps of its import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for its column mapping and a check.
    Uploaded,
    /// A commit is checking it again (a second commit meanwhile does nothing).
    Checking,
    Writing,
    /// Written: this many transactions.
    Done(usize),
    /// Nothing was written; the text says why.
    Failed(String),
}

impl Stage {
    /// The stage's name as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Uploaded => "uploaded",
            Stage::Checking => "checking",
            Stage::Writing => "writing",
            Stage::Done(_) => "done",
            Stage::Failed(_) => "failed",
        }
    }

    /// The stage from its stored name and message; `None` for a name that is none of them.
    pub fn from_parts(name: &str, message: Option<String>, written: usize) -> Option<Stage> {
        Some(match name {
            "uploaded" => Stage::Uploaded,
            "checking" => Stage::Checking,
            "writing" => Stage::Writing,
            "done" => Stage::Done(written),
            "failed" => Stage::Failed(message.unwrap_or_default()),
            _ => return None,
        })
    }

    /// The text stored with the stage (a failure's reason).
    pub fn message(&self) -> Option<&str> {
        match self {
            Stage::Failed(why) => Some(why),
            _ => None,
        }
    }
}

/// An uploaded file as its import's pages see it (the content is read only to check it).
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: String,
    pub owner: OwnerId,
    pub file_name: String,
    pub headers: Vec<String>,
    pub stage: Stage,
    /// Rows written so far, of `total`, while it is being written.
    pub written: usize,
    pub total: usize,
    /// When its stage last moved, or its write last said it is still going.
    pub beat: OffsetDateTime,
}

/// A file to keep for its import's next steps.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub id: String,
    pub owner: OwnerId,
    pub file_name: String,
    pub content: Vec<u8>,
    pub headers: Vec<String>,
}

/// An asset of the file, by symbol and kind.
pub type AssetOf = (Symbol, AssetKind);

/// A row that named a valid asset, with the rest of it as text: `(line, asset, fields)`.
pub type RowDraft = (u64, AssetOf, TxDraft);

/// The first pass over a file: each row on its own.
#[derive(Debug, Default)]
pub struct Read {
    /// Rows whose asset could be read, for the second pass.
    pub drafts: Vec<RowDraft>,
    /// Problems found so far, with the count and the rows read.
    pub checked: Checked,
}

impl Read {
    /// The assets the file names, once each.
    pub fn assets(&self) -> HashSet<AssetOf> {
        self.drafts.iter().map(|(_, a, _)| a.clone()).collect()
    }
}

/// What the store and the price services say of the file's assets, for the second pass.
#[derive(Debug, Default)]
pub struct Known {
    /// Assets the owner has: their currency and stored transactions in replay order.
    pub held: HashMap<AssetOf, (String, Vec<TxAmounts>)>,
    /// New market assets a price service knows: their name and currency.
    pub described: HashMap<AssetOf, (Option<String>, Option<String>)>,
    /// New market assets no price service knows.
    pub unknown: HashSet<AssetOf>,
}

/// Reads every row of `content` with `mapping` and checks each field on its own (dates,
/// numbers, types, symbols, kinds, rows with the wrong number of columns). Pure and CPU-bound:
/// a 20 MiB file takes about a second, so callers run it off the async threads.
pub fn read(content: &[u8], mapping: &Mapping, today: Date) -> Read {
    let mut out = Read::default();
    let missing = mapping.missing();
    if !missing.is_empty() {
        out.checked.problem(
            1,
            missing[0],
            format!("No column is chosen for {}.", missing.join(", ")),
        );
        return out;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(strip_bom(content));
    let width = match reader.headers() {
        Ok(h) => h.len(),
        Err(e) => {
            out.checked
                .problem(1, "file", format!("The file is not CSV: {e}"));
            return out;
        }
    };
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, csv::Position::line);
                out.checked.data_rows += 1;
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { len, .. } => {
                        format!("The row has {len} columns; the header has {width}.")
                    }
                    _ => format!("The row cannot be read: {e}"),
                };
                out.checked.problem(line, "row", message);
                // A broken quote can swallow the rest; stop at the first unreadable row.
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        out.checked.data_rows += 1;
        read_row(&mut out, line, &record, mapping, today);
    }
    if out.checked.data_rows == 0 && out.checked.problem_count == 0 {
        out.checked
            .problem(2, "file", "The file has a header but no rows.");
    }
    out
}

/// One row: its asset (symbol and kind) read now, the rest kept as a draft.
fn read_row(out: &mut Read, line: u64, record: &csv::StringRecord, mapping: &Mapping, today: Date) {
    let field = |name: &str| -> String {
        let cell = mapping
            .columns
            .get(name)
            .and_then(|i| record.get(*i))
            .unwrap_or("");
        // An export's guard against spreadsheet formulas comes off again.
        unguarded(cell).trim().to_string()
    };
    let symbol = Symbol::parse(&field("symbol"))
        .map_err(|e| out.checked.problem(line, "symbol", e.to_string()))
        .ok();
    let kind_text = field("kind");
    let kind = if kind_text.is_empty() {
        mapping
            .default_kind
            .ok_or_else(|| "The kind is empty.".to_string())
    } else {
        kind_text.parse::<AssetKind>().map_err(|e| e.to_string())
    };
    let kind = kind.map_err(|m| out.checked.problem(line, "kind", m)).ok();
    let draft = TxDraft {
        kind: field("type"),
        date: field("date"),
        quantity: field("quantity"),
        price: field("price"),
        amount: field("amount"),
        ratio: field("ratio"),
        fees: field("fees"),
        currency: field("currency"),
        notes: field("notes"),
    };
    if let (Some(symbol), Some(kind)) = (symbol, kind) {
        out.drafts.push((line, (symbol, kind), draft));
    } else if let Err(DomainError::Invalid(errors)) = draft.validate("", today) {
        // Still report the row's other problems (the currency cannot be judged here).
        for e in errors.into_iter().filter(|e| e.field != "currency") {
            out.checked.problem(line, &e.field, e.message);
        }
    }
}

/// The second pass: every row against what is known of its asset. Unknown symbols; one
/// currency per asset (the stored asset's, else the price service's; a market asset neither
/// knows is taken to be in USD, as a new asset row is; only an item, the owner's own, takes
/// the file's); each field against the type; and each asset's transactions, stored ones
/// included, replayed together (no day sells more than is held). Pure and CPU-bound.
pub fn settle(read: Read, known: &Known, today: Date) -> Checked {
    let Read {
        drafts,
        checked: mut out,
    } = read;
    let mut per_asset: HashMap<AssetOf, Vec<(u64, TxAmounts)>> = HashMap::new();
    let mut settled: HashMap<AssetOf, String> = HashMap::new();
    for (line, key, draft) in drafts {
        if known.unknown.contains(&key) {
            out.problem(
                line,
                "symbol",
                format!("No price service knows the symbol {} ({}).", key.0, key.1),
            );
            continue;
        }
        let currency = settled
            .entry(key.clone())
            .or_insert_with(|| currency_of(known, &key, &draft))
            .clone();
        match draft.validate(&currency, today) {
            Err(DomainError::Invalid(errors)) => {
                for e in errors {
                    out.problem(line, &e.field, e.message);
                }
            }
            Err(other) => out.problem(line, "row", other.to_string()),
            Ok(fields) => {
                per_asset
                    .entry(key.clone())
                    .or_default()
                    .push((line, fields.amounts.clone()));
                out.lines.push(line);
                let described = known.described.get(&key);
                // A shared (market) asset's currency is only ever written from a quote.
                let recorded = if key.1.is_market_priced() {
                    described.and_then(|d| d.1.clone())
                } else {
                    Some(currency)
                };
                out.rows.push(ImportTx {
                    symbol: key.0.clone(),
                    kind: key.1,
                    name: described.and_then(|d| d.0.clone()),
                    currency: recorded,
                    fields,
                });
            }
        }
    }
    let mut order: Vec<_> = per_asset.into_iter().collect();
    order.sort_by_key(|(_, rows)| rows.first().map(|r| r.0));
    for (key, rows) in order {
        // Stored ones first on a day, then the file's in file order: as they will be replayed.
        let mut all: Vec<(u64, u64, TxAmounts)> = known
            .held
            .get(&key)
            .map(|k| k.1.iter().map(|t| (0, 0, t.clone())).collect())
            .unwrap_or_default();
        all.extend(rows.into_iter().map(|(line, t)| (1, line, t)));
        all.sort_by_key(|(from_file, line, t)| (t.day, *from_file, *line));
        if let Err(refusal) = Ledger::replay(all.iter().map(|(_, _, t)| t)) {
            let line = all.get(refusal.index).map_or(0, |r| r.1);
            out.problem(
                line,
                "quantity",
                format!("{} ({}): {}.", key.0, key.1, refusal.message),
            );
        }
    }
    out.problems.sort_by_key(|p| p.line);
    if !out.is_ok() {
        out.rows.clear();
        out.lines.clear();
    }
    out
}

/// The currency an asset's rows are in, settled by its first row.
fn currency_of(known: &Known, key: &AssetOf, first: &TxDraft) -> String {
    known
        .held
        .get(key)
        .map(|k| k.0.clone())
        .or_else(|| known.described.get(key).and_then(|d| d.1.clone()))
        .unwrap_or_else(|| {
            let given = first.currency.trim();
            if !key.1.is_market_priced()
                && given.len() == 3
                && given.bytes().all(|b| b.is_ascii_alphabetic())
            {
                given.to_ascii_uppercase()
            } else {
                "USD".into()
            }
        })
}

fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

/// What a spreadsheet runs as a formula when a cell starts with it (OWASP's CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell no spreadsheet runs as a formula: one starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return gets a leading `'`, as OWASP advises; numbers (`-5`) stay as they are.
pub fn guarded(text: &str) -> String {
    let risky = text.starts_with(FORMULA_STARTS) && text.trim().parse::<Decimal>().is_err();
    if risky {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A cell as it was before [`guarded`]: the `'` before a formula start comes off.
pub fn unguarded(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// Every transaction in the import format.
pub fn export_transactions(txs: &[Transaction]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(FIELDS)?;
    for t in txs {
        let a = &t.amounts;
        w.write_record([
            a.day.to_string(),
            a.kind.as_str().to_string(),
            guarded(t.symbol.as_str()),
            t.asset_kind.as_str().to_string(),
            text(a.quantity),
            text(a.price),
            text(a.amount),
            text(a.ratio),
            if a.fees.is_zero() {
                String::new()
            } else {
                a.fees.normalize().to_string()
            },
            guarded(&t.currency),
            guarded(t.notes.as_deref().unwrap_or_default()),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The holdings with their prices and gains, in each asset's currency.
pub fn export_holdings(positions: &[Position]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "symbol",
        "kind",
        "name",
        "currency",
        "quantity",
        "average_cost",
        "cost_total",
        "price",
        "market_value",
        "unrealized_gain",
        "realized_gain",
        "dividends",
        "notes",
    ])?;
    let round = |d: Option<Decimal>| text(d.map(|d| d.round_dp(8)));
    for p in positions {
        let h = &p.holding;
        w.write_record([
            guarded(h.asset.symbol.as_str()),
            h.asset.kind.as_str().to_string(),
            guarded(p.name().unwrap_or("")),
            guarded(p.currency()),
            text(Some(h.quantity)),
            text(h.cost_basis),
            round(p.cost()),
            text(p.quote.as_ref().map(|q| q.price)),
            round(p.market_value()),
            round(p.gain()),
            round(p.realized()),
            round(p.dividends()),
            guarded(h.notes.as_deref().unwrap_or_default()),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_guarded_and_come_back_unchanged() {
        for hostile in [
            "=HYPERLINK(\"http://x.example\",\"click\")",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1+2",
            "-2+3+cmd|' /C calc'!A0",
            "\t=1+2",
            "\r=1+2",
        ] {
            let cell = guarded(hostile);
            assert!(cell.starts_with('\''), "{hostile:?} became {cell:?}");
            assert_eq!(unguarded(&cell), hostile, "round trip of {hostile:?}");
        }
        for plain in ["-5", "+3.25", "AAPL", "London, 2024", "'quoted already", ""] {
            assert_eq!(guarded(plain), plain, "{plain:?} is left alone");
            assert_eq!(unguarded(plain), plain);
        }
    }

    #[test]
    fn headers_are_matched_by_name_and_synonyms() {
        let headers: Vec<String> = [
            "Trade Date",
            "Action",
            "Ticker",
            "Shares",
            "Unit Price",
            "Commission",
            "Memo",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = Mapping::guess(&headers);
        assert_eq!(m.columns["date"], 0);
        assert_eq!(m.columns["type"], 1);
        assert_eq!(m.columns["symbol"], 2);
        assert_eq!(m.columns["quantity"], 3);
        assert_eq!(m.columns["price"], 4);
        assert_eq!(m.columns["fees"], 5);
        assert_eq!(m.columns["notes"], 6);
        assert!(m.missing().is_empty());
        assert!(!m.columns.contains_key("kind"));
        let none = Mapping::guess(&["a".to_string(), "b".to_string()]);
        assert_eq!(none.missing(), ["date", "type", "symbol"]);
    }

    #[test]
    fn the_export_header_is_the_import_format() {
        let out = export_transactions(&[]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "date,type,symbol,kind,quantity,price,amount,ratio,fees,currency,notes\n"
        );
        assert_eq!(
            headers(b"\xEF\xBB\xBFdate,type\n").unwrap(),
            ["date", "type"]
        );
        assert!(headers(b"").is_err());
    }
}
