//! Transactions and holdings as CSV: the export format, reading a file with a column mapping,
//! and the checks that find every row's problem before anything is written.
//!
//! The format (what export writes and import reads without any mapping):
//! `date,type,symbol,kind,quantity,price,amount,ratio,fees,currency,notes,account,to_account`.
//! A row is a holding's transaction (buy, sell, dividend, fee, split of its symbol) or a cash
//! one: a deposit, withdrawal, interest, transfer (to `to_account`), or a fee without a symbol
//! (charged to the account), with its amount and currency.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::cash::{CashDraft, CashFields, CashKind, CashTx};
use super::ledger::{Ledger, TxAmounts, TxKind};
use super::transaction::TxDraft;
use super::{AssetKind, DomainError, ImportRow, ImportTx, OwnerId, Position, Symbol, Transaction};

/// The fields a transaction row has, in the export's column order.
pub const FIELDS: [&str; 13] = [
    "date",
    "type",
    "symbol",
    "kind",
    "quantity",
    "price",
    "amount",
    "ratio",
    "fees",
    "currency",
    "notes",
    "account",
    "to_account",
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
        "account" => &["account", "accountname", "broker", "wallet", "depot"],
        "to_account" => &[
            "toaccount",
            "transferto",
            "destination",
            "destinationaccount",
            "targetaccount",
        ],
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
    /// How the file writes its dates.
    pub date_format: DateFormat,
    /// Accounts the file names that the owner does not have are created when it is imported
    /// (the check lists them); otherwise their rows are refused.
    pub create_accounts: bool,
}

/// How a file writes its dates: ISO (2024-03-01), US (03/01/2024, month first) or European
/// (01.03.2024 or 01/03/2024, day first). A two-digit year is 2000–2069 or 1970–1999.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateFormat {
    #[default]
    Iso,
    Us,
    European,
}

impl DateFormat {
    pub const ALL: [DateFormat; 3] = [DateFormat::Iso, DateFormat::Us, DateFormat::European];

    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Iso => "iso",
            DateFormat::Us => "us",
            DateFormat::European => "eu",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DateFormat::Iso => "2024-03-01 (year first)",
            DateFormat::Us => "03/01/2024 (US: month first)",
            DateFormat::European => "01.03.2024 or 01/03/2024 (day first)",
        }
    }

    pub fn parse(text: &str) -> Option<DateFormat> {
        DateFormat::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The ISO form (`2024-03-01`) of a date written this way; a time after it is left out.
    /// A date already in ISO form stays; text that is no date stays as it is, for the check
    /// to say why.
    pub fn to_iso(self, text: &str) -> String {
        let day = text.split([' ', 'T']).next().unwrap_or(text);
        let parts: Vec<&str> = day.split(['/', '.', '-']).collect();
        let number = |s: &str| {
            s.parse::<u32>()
                .ok()
                .filter(|_| !s.is_empty() && s.len() <= 4)
        };
        let [a, b, c] = parts.as_slice() else {
            return text.to_string();
        };
        if a.len() == 4 || self == DateFormat::Iso {
            return text.to_string();
        }
        let (Some(a), Some(b), Some(year)) = (number(a), number(b), number(c)) else {
            return text.to_string();
        };
        let year = match (c.len(), year) {
            (2, y) if y < 70 => 2000 + y,
            (2, y) => 1900 + y,
            (4, y) => y,
            _ => return text.to_string(),
        };
        let (month, day) = if self == DateFormat::Us {
            (a, b)
        } else {
            (b, a)
        };
        let real = u8::try_from(month)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .zip(u8::try_from(day).ok())
            .and_then(|(m, d)| Date::from_calendar_date(i32::try_from(year).ok()?, m, d).ok());
        if real.is_none() {
            // Not a day this way round (25/12 month first, 31/02): the check names it as the
            // file wrote it.
            return text.to_string();
        }
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// The format of some dates from a file: ISO when each starts with a four-digit year; day
    /// first when a first part is above 12 (or, with nothing to tell, when they use dots);
    /// month first when a second part is above 12 or nothing tells otherwise.
    pub fn guess<'a>(dates: impl IntoIterator<Item = &'a str>) -> DateFormat {
        let (mut first_above_12, mut second_above_12, mut dots, mut seen) =
            (false, false, false, 0);
        let mut iso = true;
        for date in dates.into_iter().map(str::trim).filter(|d| !d.is_empty()) {
            seen += 1;
            let parts: Vec<&str> = date.split(['/', '.', '-', ' ', 'T']).collect();
            if parts.first().is_some_and(|p| p.len() == 4) {
                continue;
            }
            iso = false;
            dots |= date
                .split([' ', 'T'])
                .next()
                .is_some_and(|d| d.contains('.'));
            let part = |i: usize| parts.get(i).and_then(|p| p.parse::<u32>().ok());
            first_above_12 |= part(0).is_some_and(|n| n > 12);
            second_above_12 |= part(1).is_some_and(|n| n > 12);
        }
        if iso || seen == 0 {
            DateFormat::Iso
        } else if first_above_12 || (dots && !second_above_12) {
            DateFormat::European
        } else {
            DateFormat::Us
        }
    }
}

/// The delimiter of a file, from its first line: comma, semicolon or tab, whichever appears
/// most outside quotes (a comma when none does).
pub fn delimiter(start: &[u8]) -> u8 {
    let start = start.strip_prefix(BOM).unwrap_or(start);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in start {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
                    c.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .fold((b',', 0), |best, c| if c.1 > best.1 { *c } else { best })
        .0
}

/// Windows-1252's characters for the bytes 0x80–0x9F (the rest of its upper half is
/// Latin-1, the same code points); the five it leaves undefined map to the C1 controls, as
/// browsers read them.
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// A file as UTF-8: as it is when it is UTF-8; a UTF-8 file (with its byte order mark, or with
/// more well-formed non-ASCII characters than broken bytes) with a few broken bytes keeps its
/// text, each broken byte becoming U+FFFD; anything else is read as Windows-1252 (what
/// spreadsheet programs on Windows save CSV in, and a superset of Latin-1). `true` when it
/// was converted.
pub fn to_utf8(content: Vec<u8>) -> (Vec<u8>, bool) {
    if std::str::from_utf8(&content).is_ok() {
        return (content, false);
    }
    let (mut good, mut broken) = (0usize, 0usize);
    for chunk in content.utf8_chunks() {
        good += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        broken += chunk.invalid().len();
    }
    if content.starts_with(BOM) || good > broken {
        return (
            String::from_utf8_lossy(&content).into_owned().into_bytes(),
            true,
        );
    }
    let text: String = content
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect();
    (text.into_bytes(), true)
}

/// The first `n` rows of a file (after its header), each cell as written: a preview.
pub fn sample(content: &[u8], n: usize) -> Vec<Vec<String>> {
    lenient_reader(content)
        .records()
        .map_while(Result::ok)
        .filter(|r| !r.iter().all(|c| c.trim().is_empty()))
        .take(n)
        .map(|r| r.iter().map(|c| unguarded(c).trim().to_string()).collect())
        .collect()
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
            date_format: DateFormat::Iso,
            create_accounts: false,
        }
    }

    /// [`Mapping::guess`], with the date format guessed from some of the file's rows.
    pub fn guess_with(headers: &[String], rows: &[Vec<String>]) -> Mapping {
        let mut mapping = Mapping::guess(headers);
        if let Some(&i) = mapping.columns.get("date") {
            mapping.date_format =
                DateFormat::guess(rows.iter().filter_map(|r| r.get(i)).map(String::as_str));
        }
        mapping
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

/// Rows shown before writing.
pub const PREVIEW_ROWS: usize = 20;

/// A file checked with a mapping: every problem found, how many rows would be written and the
/// first few of them. The rows themselves are not kept: the write reads the file again
/// ([`rows`]), so memory grows with a batch, never with the file.
#[derive(Debug, Default)]
pub struct Checked {
    /// The first rows that passed, in file order (at most [`PREVIEW_ROWS`]).
    pub preview: Vec<ImportRow>,
    /// How many rows passed: all of them are written when there is no problem.
    pub rows: usize,
    pub problems: Vec<RowProblem>,
    /// How many problems there were in all (only the first [`MAX_PROBLEMS`] are kept).
    pub problem_count: usize,
    pub data_rows: usize,
    /// Accounts the file names that importing it creates (see [`Mapping::create_accounts`]).
    pub new_accounts: Vec<String>,
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

    /// An asset whose transactions do not add up, at `line` (0: a stored one).
    fn refused(&mut self, key: &AssetOf, line: u64, why: &str) {
        self.problem(line, "quantity", format!("{} ({}): {why}.", key.0, key.1));
    }

    pub fn is_ok(&self) -> bool {
        self.problem_count == 0
    }
}

/// The header row of a file; an error when it is not CSV.
pub fn headers(content: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = lenient_reader(content);
    let headers = reader
        .headers()
        .map_err(|e| format!("The file is not CSV: {e}"))?;
    let headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    if headers.iter().all(String::is_empty) {
        return Err("The file is empty: it needs a header row and at least one row.".into());
    }
    Ok(headers)
}

/// A reader of a file's start that takes rows of any width, at the file's own delimiter.
fn lenient_reader(content: &[u8]) -> csv::Reader<&[u8]> {
    let content = strip_bom(content);
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter(content))
        .from_reader(content)
}

/// The byte order mark some programs start a UTF-8 file with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn strip_bom(content: &[u8]) -> &[u8] {
    content.strip_prefix(BOM).unwrap_or(content)
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
    /// Why an upload waiting for its mapping is back there (its import was interrupted).
    pub note: Option<String>,
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

/// What the store and the price services say of the file's assets, for the second pass.
#[derive(Debug, Default)]
pub struct Known {
    /// Assets the owner has: their currency and stored transactions in replay order.
    pub held: HashMap<AssetOf, (String, Vec<TxAmounts>)>,
    /// New market assets a price service knows: their name and currency.
    pub described: HashMap<AssetOf, (Option<String>, Option<String>)>,
    /// New market assets no price service knows.
    pub unknown: HashSet<AssetOf>,
    /// The account rows without an account name go to (the default one).
    pub account: i64,
    /// The owner's accounts by name in lower case, for rows that name one; an account the
    /// import is to create has a stand-in id below zero until it is.
    pub accounts: HashMap<String, i64>,
    /// The accounts the import is to create, by name as the file first writes it.
    pub to_create: Vec<String>,
    /// Each `(account, currency)` the owner's stored transactions have moved cash in: what a
    /// withdrawal, fee or transfer out of it may take.
    pub cash_held: HashSet<(i64, String)>,
}

impl Known {
    /// The owner's stored transactions of an asset, in replay order (none for a new one).
    fn stored(&self, key: &AssetOf) -> &[TxAmounts] {
        self.held.get(key).map_or(&[], |h| &h.1)
    }
}

/// The assets a file names, once each (the first pass: what to ask the store and the price
/// services about), and the account names its rows give (trimmed, once each whatever the case,
/// as first written). Pure and CPU-bound, as are [`check`] and [`rows`]: a 20 MiB file takes
/// about a second, so callers run them off the async threads.
pub fn assets_and_accounts(
    content: impl Read,
    mapping: &Mapping,
    today: Date,
) -> (HashSet<AssetOf>, Vec<String>) {
    let mut found = HashSet::new();
    let mut accounts: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    scan(
        content,
        mapping,
        today,
        &mut Checked::default(),
        |_, _, row| {
            let names = match &row {
                Row::Trade(key, draft) => {
                    found.insert(key.clone());
                    [draft.account.trim(), ""]
                }
                Row::Cash(draft) => [draft.account_id.trim(), draft.to_account_id.trim()],
            };
            for name in names {
                if !name.is_empty() && seen.insert(name.to_lowercase()) {
                    accounts.push(name.to_string());
                }
            }
        },
    );
    (found, accounts)
}

/// Checks every row of `content` with `mapping` against what is `known` of its asset (the
/// second pass): each field (dates, numbers, types, symbols, kinds, rows with the wrong number
/// of columns), unknown symbols, one currency per asset (the stored asset's, else the price
/// service's; a market asset neither knows is taken to be in USD, as a new asset row is; only
/// an item, the owner's own, takes the file's), and each asset's transactions, stored ones
/// included, replayed together (no day sells more than is held). Keeps only each row's amounts,
/// for the replay. `open` gives the file from its start (once, or twice when some asset's rows
/// are not in date order).
pub fn check<R: Read>(
    open: impl Fn() -> R,
    mapping: &Mapping,
    known: &Known,
    today: Date,
) -> Checked {
    let mut out = Checked::default();
    let mut settled = HashMap::new();
    let mut replays: HashMap<AssetOf, Replay> = HashMap::new();
    // What the file's rows put cash into, and the rows that take it out (checked at the end,
    // so the file's rows may come in any order).
    let mut put_in: HashSet<(i64, String)> = HashSet::new();
    let mut taken_out: Vec<(u64, String, (i64, String))> = Vec::new();
    // A transfer puts the currency into its destination only if its source has it.
    let mut transfers: Vec<((i64, String), (i64, String))> = Vec::new();
    scan(open(), mapping, today, &mut out, |out, line, row| {
        let settled_row = match row {
            Row::Trade(key, draft) => {
                settle_row(known, &mut settled, &key, draft, today).map(|row| {
                    let stored = known.stored(&key);
                    let replay = replays.entry(key.clone()).or_insert_with(Replay::start);
                    replay.next(stored, line, &row.fields.amounts);
                    if let Some(currency) = settled.get(&key) {
                        put_in.insert((row.fields.amounts.account, currency.clone()));
                    }
                    ImportRow::Trade(row)
                })
            }
            Row::Cash(draft) => {
                let name = account_label(known, &draft.account_id);
                settle_cash(known, draft, today).map(|c| {
                    let pair = (c.account.unwrap_or(known.account), c.currency.clone());
                    if let Some(to) = c.to_account {
                        transfers.push((pair.clone(), (to, c.currency.clone())));
                    }
                    if c.kind.takes_out() {
                        taken_out.push((line, name, pair));
                    } else {
                        put_in.insert(pair);
                    }
                    ImportRow::Cash(c)
                })
            }
        };
        match settled_row {
            Err(problems) => {
                for (field, message) in problems {
                    out.problem(line, &field, message);
                }
            }
            Ok(row) => {
                out.rows += 1;
                if out.preview.len() < PREVIEW_ROWS {
                    out.preview.push(row);
                }
            }
        }
    });
    put_in.extend(known.cash_held.iter().cloned());
    loop {
        let reached: Vec<(i64, String)> = transfers
            .iter()
            .filter(|(from, to)| put_in.contains(from) && !put_in.contains(to))
            .map(|(_, to)| to.clone())
            .collect();
        if reached.is_empty() {
            break;
        }
        put_in.extend(reached);
    }
    for (line, name, pair) in taken_out {
        if !put_in.contains(&pair) {
            let currency = &pair.1;
            out.problem(
                line,
                "currency",
                format!(
                    "{name} never holds {currency}: neither your transactions nor the file's put {currency} into it. Add a deposit in {currency} to the file, or choose the currency it holds."
                ),
            );
        }
    }
    let mut unsorted = HashSet::new();
    for (key, replay) in replays {
        if replay.unsorted {
            unsorted.insert(key);
            continue;
        }
        if let Err((line, why)) = replay.finish(known.stored(&key)) {
            out.refused(&key, line, &why);
        }
    }
    if !unsorted.is_empty() {
        replay_unsorted(open(), mapping, known, today, &unsorted, &mut out);
    }
    out.problems.sort_by_key(|p| p.line);
    if !out.is_ok() {
        out.rows = 0;
        out.preview.clear();
    }
    out
}

/// An asset's transactions replayed as the file's rows come, its stored ones merged in by day
/// (first on a day, as they will be replayed): a file in date order keeps no row. A refusal
/// holds only while the rows stay in date order; an asset whose rows go back in time is
/// replayed whole afterwards ([`replay_unsorted`]).
struct Replay {
    /// `None` once refused.
    ledger: Option<Ledger>,
    /// Stored transactions applied so far.
    next: usize,
    last: Option<Date>,
    refusal: Option<(u64, String)>,
    unsorted: bool,
}

impl Replay {
    fn start() -> Replay {
        Replay {
            ledger: Some(Ledger::start()),
            next: 0,
            last: None,
            refusal: None,
            unsorted: false,
        }
    }

    /// The file's next row of the asset, at `line`.
    fn next(&mut self, stored: &[TxAmounts], line: u64, tx: &TxAmounts) {
        if self.unsorted || self.last.is_some_and(|l| tx.day < l) {
            self.unsorted = true;
            return;
        }
        self.last = Some(tx.day);
        let Some(ledger) = &mut self.ledger else {
            return;
        };
        let outcome = apply_stored(ledger, stored, &mut self.next, |day| day <= tx.day)
            .and_then(|()| ledger.apply(tx).map_err(|m| (line, m)));
        if let Err(refusal) = outcome {
            self.refusal = Some(refusal);
            self.ledger = None;
        }
    }

    /// The stored transactions after the file's last row of the asset; the refusal (line 0
    /// for a stored transaction), if any, of an asset whose rows were in date order.
    fn finish(mut self, stored: &[TxAmounts]) -> Result<(), (u64, String)> {
        if let Some(ledger) = &mut self.ledger {
            apply_stored(ledger, stored, &mut self.next, |_| true)?;
        }
        self.refusal.map_or(Ok(()), Err)
    }
}

/// Applies the stored transactions from `next` on while `before` says their day comes first.
fn apply_stored(
    ledger: &mut Ledger,
    stored: &[TxAmounts],
    next: &mut usize,
    before: impl Fn(Date) -> bool,
) -> Result<(), (u64, String)> {
    while let Some(tx) = stored.get(*next).filter(|t| before(t.day)) {
        ledger.apply(tx).map_err(|m| (0, m))?;
        *next += 1;
    }
    Ok(())
}

/// Replays each asset of `unsorted` whole: its rows read again from the file (kept this time),
/// with its stored transactions, in replay order.
fn replay_unsorted(
    content: impl Read,
    mapping: &Mapping,
    known: &Known,
    today: Date,
    unsorted: &HashSet<AssetOf>,
    out: &mut Checked,
) {
    let mut settled = HashMap::new();
    let mut per_asset: HashMap<AssetOf, Vec<(u64, TxAmounts)>> = HashMap::new();
    scan(
        content,
        mapping,
        today,
        &mut Checked::default(),
        |_, line, row| {
            let Row::Trade(key, draft) = row else {
                return;
            };
            if !unsorted.contains(&key) {
                return;
            }
            if let Ok(row) = settle_row(known, &mut settled, &key, draft, today) {
                per_asset
                    .entry(key)
                    .or_default()
                    .push((line, row.fields.amounts));
            }
        },
    );
    let mut order: Vec<_> = per_asset.into_iter().collect();
    order.sort_by_key(|(_, rows)| rows.first().map(|r| r.0));
    for (key, rows) in order {
        // Stored ones first on a day, then the file's in file order: as they will be replayed.
        let mut all: Vec<(u64, u64, TxAmounts)> = known
            .stored(&key)
            .iter()
            .map(|t| (0, 0, t.clone()))
            .collect();
        all.extend(rows.into_iter().map(|(line, t)| (1, line, t)));
        all.sort_by_key(|(from_file, line, t)| (t.day, *from_file, *line));
        if let Err(refusal) = Ledger::replay(all.iter().map(|(_, _, t)| t)) {
            let line = all.get(refusal.index).map_or(0, |r| r.1);
            out.refused(&key, line, &refusal.message);
        }
    }
}

/// The rows of a file that [`check`] passed, as transactions to write, handed to `emit` in
/// batches of `batch` in file order (the third pass). Stops early when `emit` says `false`.
pub fn rows(
    content: impl Read,
    mapping: &Mapping,
    known: &Known,
    today: Date,
    batch: usize,
    mut emit: impl FnMut(Vec<ImportRow>) -> bool,
) {
    let batch = batch.max(1);
    let mut settled = HashMap::new();
    let mut pending = Vec::with_capacity(batch);
    let mut going = true;
    scan(
        content,
        mapping,
        today,
        &mut Checked::default(),
        |_, _, row| {
            if !going {
                return;
            }
            let row = match row {
                Row::Trade(key, draft) => {
                    settle_row(known, &mut settled, &key, draft, today).map(ImportRow::Trade)
                }
                Row::Cash(draft) => settle_cash(known, draft, today).map(ImportRow::Cash),
            };
            if let Ok(row) = row {
                pending.push(row);
                if pending.len() == batch {
                    going = emit(std::mem::replace(&mut pending, Vec::with_capacity(batch)));
                }
            }
        },
    );
    if going && !pending.is_empty() {
        emit(pending);
    }
}

/// A row as read: a holding's transaction (its asset, the rest as text), or a cash one (as
/// text, its `account_id` and `to_account_id` holding the accounts' names as written).
enum Row {
    Trade(AssetOf, TxDraft),
    Cash(CashDraft),
}

/// Reads every row of `content` with `mapping`: problems of the file and of rows whose asset
/// cannot be read go to `out`; each other row goes to `each` with its line.
fn scan(
    content: impl Read,
    mapping: &Mapping,
    today: Date,
    out: &mut Checked,
    mut each: impl FnMut(&mut Checked, u64, Row),
) {
    let missing = mapping.missing();
    if !missing.is_empty() {
        out.problem(
            1,
            missing[0],
            format!("No column is chosen for {}.", missing.join(", ")),
        );
        return;
    }
    let mut content = BufReader::with_capacity(64 * 1024, content);
    if content.fill_buf().is_ok_and(|start| start.starts_with(BOM)) {
        content.consume(BOM.len());
    }
    let delimiter = content.fill_buf().map_or(b',', delimiter);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(delimiter)
        .from_reader(content);
    let width = match reader.headers() {
        Ok(h) => h.len(),
        Err(e) => {
            out.problem(1, "file", format!("The file is not CSV: {e}"));
            return;
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
                out.data_rows += 1;
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { len, .. } => {
                        format!("The row has {len} columns; the header has {width}.")
                    }
                    _ => format!("The row cannot be read: {e}"),
                };
                out.problem(line, "row", message);
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
        out.data_rows += 1;
        if let Some(row) = read_row(out, line, &record, mapping, today) {
            each(out, line, row);
        }
    }
    if out.data_rows == 0 && out.problem_count == 0 {
        out.problem(2, "file", "The file has a header but no rows.");
    }
}

/// One row: a cash one (a cash type, or a fee without a symbol), or a holding's with its asset
/// (symbol and kind) and the rest as a draft; `None` (its problems noted) when the asset cannot
/// be read.
fn read_row(
    out: &mut Checked,
    line: u64,
    record: &csv::StringRecord,
    mapping: &Mapping,
    today: Date,
) -> Option<Row> {
    let field = |name: &str| -> String {
        let cell = mapping
            .columns
            .get(name)
            .and_then(|i| record.get(*i))
            .unwrap_or("");
        // An export's guard against spreadsheet formulas comes off again.
        unguarded(cell).trim().to_string()
    };
    let symbol_text = field("symbol");
    let type_text = field("type");
    if !symbol_text.is_empty()
        && let Ok(kind) = type_text.parse::<CashKind>()
        && kind != CashKind::Fee
    {
        out.problem(
            line,
            "type",
            format!(
                "A {} is cash and has no symbol: leave the symbol empty, or give {symbol_text} a type of buy, sell, dividend, fee or split.",
                kind.as_str()
            ),
        );
        return None;
    }
    if let Some(kind) = cash_kind(&type_text, &symbol_text) {
        return Some(Row::Cash(CashDraft {
            kind: kind.as_str().to_string(),
            date: mapping.date_format.to_iso(&field("date")),
            amount: cash_amount(kind, field("amount")),
            currency: field("currency"),
            account_id: field("account"),
            // Only a transfer goes anywhere; another type's is not read (nor created).
            to_account_id: if kind == CashKind::Transfer {
                field("to_account")
            } else {
                String::new()
            },
            notes: field("notes"),
        }));
    }
    let symbol = Symbol::parse(&symbol_text)
        .map_err(|e| out.problem(line, "symbol", e.to_string()))
        .ok();
    let kind_text = field("kind");
    let kind = if kind_text.is_empty() {
        mapping
            .default_kind
            .ok_or_else(|| "The kind is empty.".to_string())
    } else {
        kind_text.parse::<AssetKind>().map_err(|e| e.to_string())
    };
    let kind = kind.map_err(|m| out.problem(line, "kind", m)).ok();
    let draft = TxDraft {
        kind: field("type"),
        date: mapping.date_format.to_iso(&field("date")),
        quantity: field("quantity"),
        price: field("price"),
        amount: field("amount"),
        ratio: field("ratio"),
        fees: field("fees"),
        currency: field("currency"),
        notes: field("notes"),
        // The account's name here, not its id: `settle_row` finds it.
        account: field("account"),
    };
    if let (Some(symbol), Some(kind)) = (symbol, kind) {
        return Some(Row::Trade((symbol, kind), draft));
    }
    let draft = TxDraft {
        account: String::new(),
        ..draft
    };
    if let Err(DomainError::Invalid(errors)) = draft.validate("", today) {
        // Still report the row's other problems (the currency cannot be judged here).
        for e in errors.into_iter().filter(|e| e.field != "currency") {
            out.problem(line, &e.field, e.message);
        }
    }
    None
}

/// One row against what is known of its asset: the transaction to write, or its problems as
/// `(field, message)`. `settled` keeps each asset's currency, set by its first row.
fn settle_row(
    known: &Known,
    settled: &mut HashMap<AssetOf, String>,
    key: &AssetOf,
    mut draft: TxDraft,
    today: Date,
) -> Result<ImportTx, Vec<(String, String)>> {
    // The row's account by name (any case); none named: the default one.
    let account = account_named(known, &std::mem::take(&mut draft.account), "account")
        .map_err(|p| vec![p])?
        .unwrap_or(known.account);
    if known.unknown.contains(key) {
        return Err(vec![(
            "symbol".into(),
            format!("No price service knows the symbol {} ({}).", key.0, key.1),
        )]);
    }
    let currency = settled
        .entry(key.clone())
        .or_insert_with(|| currency_of(known, key, &draft))
        .clone();
    match draft.validate(&currency, today) {
        Err(DomainError::Invalid(errors)) => {
            Err(errors.into_iter().map(|e| (e.field, e.message)).collect())
        }
        Err(other) => Err(vec![("row".into(), other.to_string())]),
        Ok(mut fields) => {
            fields.amounts.account = account;
            let described = known.described.get(key);
            // A shared (market) asset's currency is only ever written from a quote.
            let recorded = if key.1.is_market_priced() {
                described.and_then(|d| d.1.clone())
            } else {
                Some(currency)
            };
            Ok(ImportTx {
                symbol: key.0.clone(),
                kind: key.1,
                name: described.and_then(|d| d.0.clone()),
                currency: recorded,
                fields,
            })
        }
    }
}

/// The account named `name` (any case; `None` for none named), or the problem on `field`.
fn account_named(known: &Known, name: &str, field: &str) -> Result<Option<i64>, (String, String)> {
    match name.trim() {
        "" => Ok(None),
        name => known
            .accounts
            .get(&name.to_lowercase())
            .map(|id| Some(*id))
            .ok_or_else(|| {
                (
                    field.into(),
                    format!(
                        "You have no account named {name:?}: choose to create the accounts the file names, or add it on the Accounts page, then check the file again."
                    ),
                )
            }),
    }
}

/// How a problem names a row's account: its name as written, or the default account.
fn account_label(known: &Known, name: &str) -> String {
    let name = name.trim();
    if name.is_empty() || !known.accounts.contains_key(&name.to_lowercase()) {
        "Your default account".into()
    } else {
        format!("The account {name:?}")
    }
}

/// The cash type of a row without a symbol: a deposit, withdrawal, interest, transfer or fee
/// (a fee with a symbol is its holding's).
fn cash_kind(kind: &str, symbol: &str) -> Option<CashKind> {
    if !symbol.is_empty() {
        return None;
    }
    if matches!(kind.parse::<TxKind>(), Ok(TxKind::Fee)) {
        return Some(CashKind::Fee);
    }
    kind.parse::<CashKind>().ok()
}

/// A cash row's amount as the cash form takes it: above zero, the type saying which way it
/// moves. Files that sign what leaves the account (`-500` for a withdrawal) lose the sign.
fn cash_amount(kind: CashKind, amount: String) -> String {
    match amount.strip_prefix('-') {
        Some(rest) if kind.takes_out() => rest.trim_start().to_string(),
        _ => amount,
    }
}

/// A cash row with its accounts found by name: what to write, or its problems as
/// `(field, message)` named as the file's columns are.
fn settle_cash(
    known: &Known,
    mut draft: CashDraft,
    today: Date,
) -> Result<CashFields, Vec<(String, String)>> {
    let account = account_named(known, &draft.account_id, "account");
    let to = account_named(known, &draft.to_account_id, "to_account");
    let mut problems: Vec<(String, String)> = Vec::new();
    let id = |found: Result<Option<i64>, (String, String)>, problems: &mut Vec<_>| match found {
        Ok(id) => id.map(|i| i.to_string()).unwrap_or_default(),
        Err(p) => {
            problems.push(p);
            String::new()
        }
    };
    let account = id(account, &mut problems);
    draft.account_id = if account.is_empty() {
        known.account.to_string()
    } else {
        account
    };
    draft.to_account_id = id(to, &mut problems);
    let column = |field: &str| match field {
        "account_id" => "account".to_string(),
        "to_account_id" => "to_account".to_string(),
        other => other.to_string(),
    };
    match draft.check(today) {
        Err(DomainError::Invalid(errors)) => {
            // An account not found is its field's one problem.
            for e in errors {
                let field = column(&e.field);
                if !problems.iter().any(|(f, _)| *f == field) {
                    problems.push((field, e.message));
                }
            }
            Err(problems)
        }
        Err(other) => {
            problems.push(("row".into(), other.to_string()));
            Err(problems)
        }
        Ok(_) if !problems.is_empty() => Err(problems),
        Ok(fields) if fields.to_account.is_some() && fields.to_account == fields.account => {
            Err(vec![(
                "to_account".into(),
                "A transfer goes to another account: name a different one.".into(),
            )])
        }
        Ok(fields) => Ok(fields),
    }
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

/// Every transaction in the import format: the holdings' and then the cash ones.
pub fn export_transactions(
    txs: &[Transaction],
    cash: &[CashTx],
    accounts: &HashMap<i64, String>,
) -> Result<Vec<u8>, csv::Error> {
    let name = |id: i64| guarded(accounts.get(&id).map_or("", String::as_str));
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
            name(a.account),
            String::new(),
        ])?;
    }
    for c in cash {
        let mut row = vec![String::new(); FIELDS.len()];
        row[0] = c.day.to_string();
        row[1] = c.kind.as_str().to_string();
        row[6] = c.amount.normalize().to_string();
        row[9] = guarded(&c.currency);
        row[10] = guarded(c.notes.as_deref().unwrap_or_default());
        row[11] = name(c.account);
        row[12] = c.to_account.map(name).unwrap_or_default();
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The holdings with their prices and gains, in each asset's currency.
/// Where a holding is kept and how it did, for the holdings export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoldingReturns {
    /// The accounts its transactions are in.
    pub accounts: Vec<String>,
    /// The money-weighted return a year since its first trade (a fraction).
    pub xirr: Option<Decimal>,
    /// The time-weighted return over 1M, YTD, 1Y, 3Y, 5Y and All (fractions), in that order.
    pub twr: Vec<Option<Decimal>>,
}

/// The time-weighted return columns of the holdings export, in [`HoldingReturns::twr`]'s order.
pub const TWR_COLUMNS: [&str; 6] = ["twr_1m", "twr_ytd", "twr_1y", "twr_3y", "twr_5y", "twr_all"];

/// The holdings as CSV: each with its prices, gains, accounts and returns (`returns`, by
/// holding id; empty cells where a figure is unknown).
pub fn export_holdings(
    positions: &[Position],
    returns: &HashMap<i64, HoldingReturns>,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
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
        "accounts",
        "xirr",
    ];
    header.extend(TWR_COLUMNS);
    w.write_record(&header)?;
    let round = |d: Option<Decimal>| text(d.map(|d| d.round_dp(8)));
    let none = HoldingReturns::default();
    for p in positions {
        let h = &p.holding;
        let r = returns.get(&h.id).unwrap_or(&none);
        let mut row = vec![
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
            guarded(&r.accounts.join("; ")),
            text(r.xirr.map(|x| x.normalize())),
        ];
        row.extend(
            (0..TWR_COLUMNS.len())
                .map(|i| text(r.twr.get(i).copied().flatten().map(|t| t.normalize()))),
        );
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_the_files_own_order() {
        assert_eq!(DateFormat::Us.to_iso("03/04/2024"), "2024-03-04");
        assert_eq!(DateFormat::European.to_iso("03.04.2024"), "2024-04-03");
        assert_eq!(DateFormat::European.to_iso("3/4/2024 10:30"), "2024-04-03");
        assert_eq!(DateFormat::Us.to_iso("3/4/24"), "2024-03-04");
        assert_eq!(DateFormat::Us.to_iso("3/4/99"), "1999-03-04");
        // ISO stays ISO whatever is chosen; what is no date stays for the check to name.
        assert_eq!(DateFormat::European.to_iso("2024-03-04"), "2024-03-04");
        assert_eq!(DateFormat::Us.to_iso("soon"), "soon");
        assert_eq!(DateFormat::Us.to_iso("25/12/2024"), "25/12/2024");
        assert_eq!(DateFormat::European.to_iso("31/02/2024"), "31/02/2024");
        assert_eq!(DateFormat::Iso.to_iso("03/04/2024"), "03/04/2024");
        let guess = |dates: &[&str]| DateFormat::guess(dates.iter().copied());
        assert_eq!(guess(&["2024-03-01", ""]), DateFormat::Iso);
        assert_eq!(guess(&["03/04/2024", "12/31/2024"]), DateFormat::Us);
        assert_eq!(guess(&["03/04/2024", "25/12/2024"]), DateFormat::European);
        assert_eq!(guess(&["01.03.2024"]), DateFormat::European);
        assert_eq!(
            guess(&["03/04/2024"]),
            DateFormat::Us,
            "nothing tells: month first"
        );
        assert_eq!(
            guess(&["03/04/2024 10:30:00.000"]),
            DateFormat::Us,
            "a time's dot is no date's"
        );
        assert_eq!(guess(&[]), DateFormat::Iso);
    }

    #[test]
    fn the_delimiter_is_the_header_rows_commonest_outside_quotes() {
        assert_eq!(delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(delimiter(b"\"x;y;z\",b,c\n"), b',');
        assert_eq!(delimiter(b"\xEF\xBB\xBFdate;type\n"), b';');
        assert_eq!(delimiter(b"single\n"), b',');
    }

    #[test]
    fn a_file_that_is_not_utf8_is_read_as_windows_1252() {
        let (text, converted) = to_utf8(b"Soci\xe9t\xe9 \x80 \x93q\x94".to_vec());
        assert!(converted);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "Société € \u{201C}q\u{201D}"
        );
        let (text, converted) = to_utf8("Société".as_bytes().to_vec());
        assert!(!converted);
        assert_eq!(text, "Société".as_bytes());
        // A UTF-8 file with one broken byte stays UTF-8 (the byte becomes U+FFFD).
        let mut mostly = "Société Générale ".as_bytes().to_vec();
        mostly.push(0xFF);
        let (text, _) = to_utf8(mostly);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "Société Générale \u{FFFD}"
        );
        let mut bom = BOM.to_vec();
        bom.extend_from_slice(b"date\xFF");
        let (text, _) = to_utf8(bom);
        assert_eq!(String::from_utf8(text).unwrap(), "\u{FEFF}date\u{FFFD}");
    }

    fn checked(file: &str, known: &Known) -> Checked {
        let content = format!("date,type,symbol,kind,quantity,price,fees\n{file}");
        let headers = headers(content.as_bytes()).unwrap();
        let today = time::macros::date!(2026 - 11 - 30);
        check(
            || content.as_bytes(),
            &Mapping::guess(&headers),
            known,
            today,
        )
    }

    fn problems(c: &Checked) -> Vec<(u64, String)> {
        c.problems
            .iter()
            .map(|p| (p.line, p.message.clone()))
            .collect()
    }

    #[test]
    fn rows_in_any_order_are_replayed_by_day_with_the_stored_ones() {
        // In date order, out of order, and out of order with a sell that never had enough.
        let sorted = "2024-01-02,buy,AAA,stock,10,5,0\n2024-02-01,sell,AAA,stock,4,6,0\n";
        let c = checked(sorted, &Known::default());
        assert!(c.is_ok(), "{:?}", problems(&c));
        assert_eq!(c.rows, 2);
        let unsorted = "2024-02-01,sell,AAA,stock,4,6,0\n2024-01-02,buy,AAA,stock,10,5,0\n";
        let c = checked(unsorted, &Known::default());
        assert!(
            c.is_ok(),
            "a sell listed before its buy: {:?}",
            problems(&c)
        );
        let short = "2024-02-01,sell,AAA,stock,40,6,0\n2024-01-02,buy,AAA,stock,10,5,0\n";
        let c = checked(short, &Known::default());
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].line, 2, "the sell's line");
        assert!(
            c.problems[0].message.contains("only 10 are held"),
            "{:?}",
            problems(&c)
        );
        assert_eq!((c.rows, c.preview.len()), (0, 0), "nothing to write");

        // Stored: 10 bought on 2024-01-01 and 8 sold on 2024-03-01. The file sells 5 on
        // 2024-02-01, so the stored sell on 2024-03-01 no longer has enough (line 0: stored).
        let day = |d: Date, kind, q: &str| TxAmounts {
            kind,
            day: d,
            quantity: Some(q.parse().unwrap()),
            price: Some(Decimal::ONE),
            amount: None,
            ratio: None,
            fees: Decimal::ZERO,
            account: 0,
        };
        let mut known = Known::default();
        known.held.insert(
            (Symbol::parse("AAA").unwrap(), AssetKind::Stock),
            (
                "USD".into(),
                vec![
                    day(
                        time::macros::date!(2024 - 01 - 01),
                        super::super::TxKind::Buy,
                        "10",
                    ),
                    day(
                        time::macros::date!(2024 - 03 - 01),
                        super::super::TxKind::Sell,
                        "8",
                    ),
                ],
            ),
        );
        let c = checked("2024-02-01,sell,AAA,stock,5,6,0\n", &known);
        assert_eq!(problems(&c).len(), 1);
        assert_eq!(c.problems[0].line, 0);
        assert!(
            c.problems[0].message.contains("sells 8 but only 5"),
            "{:?}",
            problems(&c)
        );
        let c = checked("2024-02-01,sell,AAA,stock,2,6,0\n", &known);
        assert!(c.is_ok(), "{:?}", problems(&c));
    }

    #[test]
    fn cash_rows_are_read_checked_and_written_with_their_accounts() {
        let header =
            "date,type,symbol,kind,quantity,price,amount,fees,currency,account,to_account,notes\n";
        let today = time::macros::date!(2026 - 11 - 30);
        let known = Known {
            account: 1,
            accounts: [("default".to_string(), 1), ("broker".to_string(), 2)].into(),
            // Stored: the broker account has held euros.
            cash_held: [(2, "EUR".to_string())].into(),
            ..Known::default()
        };
        let run = |lines: &str| {
            let content = format!("{header}{lines}");
            let mapping = Mapping::guess(&headers(content.as_bytes()).unwrap());
            assert!(mapping.columns.contains_key("to_account"));
            let checked = check(|| content.as_bytes(), &mapping, &known, today);
            let mut written = Vec::new();
            if checked.is_ok() {
                rows(content.as_bytes(), &mapping, &known, today, 2, |b| {
                    written.extend(b);
                    true
                });
            }
            (checked, written)
        };
        // In any order: the withdrawal comes before the deposit that makes it possible; a
        // fee without a symbol is the account's, one with a symbol the holding's; a signed
        // withdrawal loses its sign; a transfer names its destination in any case.
        let (c, written) = run("2024-02-01,Withdrawal,,,,,-25.5,,USD,,,rent\n\
             2024-01-02,deposit,,,,,1000,,USD,,,\n\
             2024-01-03,transfer,,,,,300,,EUR,Broker,DEFAULT,\n\
             2024-01-04,fee,,,,,2,,USD,default,,\n\
             2024-01-05,buy,AAA,stock,1,10,,0,USD,broker,,\n\
             2024-01-06,fee,AAA,stock,,,1,,USD,broker,,\n\
             2024-01-07,withdrawal,,,,,10,,EUR,default,,\n");
        assert!(c.is_ok(), "{:?}", problems(&c));
        // The last withdrawal takes euros the transfer from the broker brought.
        assert_eq!((c.rows, written.len(), c.preview.len()), (7, 7, 7));
        let ImportRow::Cash(w) = &written[0] else {
            panic!("a withdrawal is cash: {:?}", written[0]);
        };
        assert_eq!(
            (w.kind, w.amount, w.account, w.notes.as_deref()),
            (
                CashKind::Withdrawal,
                "25.5".parse().unwrap(),
                Some(1),
                Some("rent")
            )
        );
        let ImportRow::Cash(t) = &written[2] else {
            panic!("a transfer is cash");
        };
        assert_eq!((t.account, t.to_account), (Some(2), Some(1)));
        assert!(matches!(&written[3], ImportRow::Cash(f) if f.kind == CashKind::Fee));
        assert!(matches!(&written[4], ImportRow::Trade(b) if b.fields.amounts.account == 2));
        assert!(
            matches!(&written[5], ImportRow::Trade(f) if f.fields.amounts.kind == TxKind::Fee),
            "a fee with a symbol is its holding's"
        );

        // Each refusal names its line and column, and nothing is written.
        let (c, written) = run("2024-01-02,withdrawal,,,,,50,,GBP,broker,,\n\
             2024-01-03,transfer,,,,,5,,EUR,broker,Broker,\n\
             2024-01-04,transfer,,,,,5,,EUR,broker,Pension,\n\
             2024-01-05,transfer,,,,,5,,EUR,broker,,\n\
             2024-01-06,deposit,,,,,-5,,EUR,,,\n\
             2099-01-01,interest,,,,,1,,usd1,,,\n\
             2024-01-07,deposit,,,,,5,,EUR,broker,Nowhere,\n\
             2024-01-08,transfer,,,,,5,,USD,default,broker,\n\
             2024-01-09,transfer,,,,,5,,USD,broker,default,\n");
        assert!(written.is_empty());
        let found: Vec<(u64, &str)> = c
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (2, "currency"),
                (3, "to_account"),
                (4, "to_account"),
                (5, "to_account"),
                (6, "amount"),
                (7, "date"),
                (7, "currency"),
                // A deposit's to_account is not read; two transfers back and forth put
                // nothing in that neither account had.
                (9, "currency"),
                (10, "currency"),
            ],
            "{:?}",
            problems(&c)
        );
        assert!(
            c.problems[0]
                .message
                .contains("The account \"broker\" never holds GBP"),
            "{:?}",
            problems(&c)
        );
        assert!(
            c.problems[2]
                .message
                .contains("no account named \"Pension\"")
        );
    }

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
        let out = export_transactions(&[], &[], &HashMap::new()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "date,type,symbol,kind,quantity,price,amount,ratio,fees,currency,notes,account,to_account\n"
        );
        assert_eq!(
            headers(b"\xEF\xBB\xBFdate,type\n").unwrap(),
            ["date", "type"]
        );
        assert!(headers(b"").is_err());
    }
}
