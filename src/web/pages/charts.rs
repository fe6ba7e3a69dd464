//! The portfolio page's charts, drawn on the server as SVG (no script, so the CSP stays
//! strict): two allocation doughnuts, by holding and by kind, and the portfolio's value over
//! time. Geometry comes from [`crate::domain::charts`], the value line from [`crate::domain::valuation`];
//! this module only formats.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::domain::AssetKind;
use crate::domain::charts::{self, Frame, Ring, Share};
use crate::domain::valuation::{DailyValue, ValueRange};
use crate::domain::{Position, Totals};
use crate::portfolio::performance::Comparison;
use crate::portfolio::valuation::{LoadedSeries, labels};
use crate::web::format;

/// Parts under this percent of the whole are grouped as "Other" (when there are several).
pub const OTHER_BELOW_PERCENT: Decimal = Decimal::TWO;
/// Slice colours: `.slice-0` … `.slice-7` in app.css, then again from the first.
const PALETTE_SIZE: usize = 8;

/// One slice and its legend row.
pub struct SliceView {
    /// `slice-0` … `slice-7`, or `slice-other`.
    pub class: String,
    pub path: String,
    pub label: String,
    /// What "Other" holds.
    pub detail: Option<String>,
    pub value: String,
    pub percent: String,
    /// Shown on hover: "AAPL: 1,234.00 USD (45.3%)".
    pub title: String,
}

/// An allocation doughnut with its legend.
pub struct DoughnutView {
    pub id: &'static str,
    /// "by holding", "by kind".
    pub title: &'static str,
    pub base: String,
    pub total: String,
    pub slices: Vec<SliceView>,
    /// For screen readers: what the picture is (the legend table has the numbers).
    pub summary: String,
    /// What is not in the chart, and why.
    pub left_out: Option<String>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The doughnuts: market value in the base currency, by holding and by kind. Holdings without
/// a price or without an exchange rate are left out, and each chart says so.
pub fn allocations(positions: &[Position], totals: &Totals) -> Vec<DoughnutView> {
    let names = labels(positions);
    let mut by_holding = Vec::new();
    let mut by_kind: BTreeMap<AssetKind, Decimal> = BTreeMap::new();
    let mut unpriced = 0;
    let mut no_rate: Vec<String> = Vec::new();
    for p in positions {
        if p.holding.quantity <= Decimal::ZERO {
            continue;
        }
        if p.market_value().is_none() {
            unpriced += 1;
            continue;
        }
        let Some(converted) = totals.value_in_base(p) else {
            no_rate.push(names.get(&p.holding.id).cloned().unwrap_or_default());
            continue;
        };
        by_holding.push((
            names.get(&p.holding.id).cloned().unwrap_or_default(),
            converted,
        ));
        let sum = by_kind.entry(p.holding.asset.kind).or_default();
        *sum = sum.checked_add(converted).unwrap_or(*sum);
    }
    let mut reasons = Vec::new();
    if unpriced > 0 {
        reasons.push(format!(
            "{} without a price",
            plural(unpriced, "holding", "holdings")
        ));
    }
    if !no_rate.is_empty() {
        reasons.push(format!(
            "{} without an exchange rate to {} ({})",
            plural(no_rate.len(), "holding", "holdings"),
            totals.base,
            no_rate.join(", ")
        ));
    }
    let left_out = (!reasons.is_empty()).then(|| {
        let verb = if unpriced + no_rate.len() == 1 {
            "is"
        } else {
            "are"
        };
        format!(
            "Left out: {} {verb} not in this chart.",
            reasons.join(" and ")
        )
    });
    let mut kinds: Vec<(String, Decimal)> = by_kind
        .into_iter()
        .map(|(k, v)| (k.label().to_string(), v))
        .collect();
    // Cash is a slice of its own while there is some (a balance below zero is no share).
    if totals.total.cash > Decimal::ZERO {
        kinds.push(("Cash".to_string(), totals.total.cash));
        by_holding.push(("Cash".to_string(), totals.total.cash));
    }
    vec![
        doughnut(
            "allocation-holding",
            "by holding",
            by_holding,
            &totals.base,
            left_out.clone(),
        ),
        doughnut("allocation-kind", "by kind", kinds, &totals.base, left_out),
    ]
}

fn doughnut(
    id: &'static str,
    title: &'static str,
    items: Vec<(String, Decimal)>,
    base: &str,
    left_out: Option<String>,
) -> DoughnutView {
    let shares = charts::shares(items, OTHER_BELOW_PERCENT);
    let total: Decimal = shares.iter().map(|s| s.value).sum();
    let mut colour = 0;
    let slices: Vec<SliceView> = shares
        .iter()
        .map(|s| {
            let class = if s.is_other() {
                "slice-other".to_string()
            } else {
                colour += 1;
                format!("slice-{}", (colour - 1) % PALETTE_SIZE)
            };
            slice_view(s, class, base)
        })
        .collect();
    let summary = format!(
        "Doughnut chart of the allocation {title} in {base}: {}; the table beside it lists each value and share",
        plural(slices.len(), "slice", "slices")
    );
    DoughnutView {
        id,
        title,
        base: base.to_string(),
        total: format::fixed(total, 2),
        slices,
        summary,
        left_out,
    }
}

fn slice_view(s: &Share, class: String, base: &str) -> SliceView {
    let label = if s.is_other() {
        format!("{} ({})", s.label, s.members.len())
    } else {
        s.label.clone()
    };
    let value = format::fixed(s.value, 2);
    let percent = format!("{}%", format::fixed(s.percent, 1));
    SliceView {
        class,
        path: charts::arc_path(Ring::DOUGHNUT, s.start, s.end),
        title: format!("{label}: {value} {base} ({percent})"),
        detail: s.is_other().then(|| s.members.join(", ")),
        label,
        value,
        percent,
    }
}

/// A range link above the value chart.
pub struct RangeLink {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// The value line and the net-invested line, laid out on one scale.
pub struct LineView {
    pub path: String,
    pub invested_path: String,
    pub trend: &'static str,
    /// The gain over the range (the value's change less the money put in), and its percent.
    pub gain: String,
    pub gain_percent: String,
    pub gain_trend: &'static str,
    /// The y axis: the scale's top, middle and bottom.
    pub axis: [String; 3],
    /// The day in the middle of the x axis.
    pub mid_date: String,
    /// Up to [`TABLE_ROWS`] days, evenly spread: date, value, invested, gain since the start.
    pub table: Vec<[String; 4]>,
    /// Days drawn.
    pub count: usize,
    pub first_date: String,
    pub first_value: String,
    /// The value as a plain number, for machines (`1234.50`).
    pub first_raw: String,
    pub last_date: String,
    pub last_value: String,
    pub last_raw: String,
    pub change: String,
    pub low: String,
    pub high: String,
    pub aria: String,
}

/// The value-over-time card.
pub struct ValueChartView {
    pub ranges: Vec<RangeLink>,
    pub range_label: &'static str,
    pub line: Option<LineView>,
    /// Why there is no line, when there is none.
    pub no_line: String,
    pub notes: Vec<String>,
    /// No history was still being fetched when it was drawn.
    pub complete: bool,
    /// The time-weighted return over the range beside the benchmark's, when one is chosen.
    pub comparison: Option<ComparisonView>,
}

const VALUE_FRAME: Frame = Frame {
    width: 800.0,
    height: 240.0,
    pad: 8.0,
};
/// Most points drawn: no more than the chart is wide.
const MAX_DRAWN: usize = 800;
/// Most days in the table under the chart.
const TABLE_ROWS: usize = 32;

fn money(d: Decimal, base: &str) -> String {
    format!("{} {base}", format::fixed(d, 2))
}

/// The value card for a loaded series; `href` makes a range's link.
pub fn value_chart(
    loaded: &LoadedSeries,
    base: &str,
    href: impl Fn(ValueRange) -> String,
) -> ValueChartView {
    let series = &loaded.series;
    let ranges = ValueRange::ALL
        .into_iter()
        .map(|r| RangeLink {
            label: r.label(),
            href: href(r),
            active: r == loaded.range,
        })
        .collect();
    let mut notes = Vec::new();
    let line = line_view(loaded, base);
    if let Some(first) = series.points.first()
        && first.date > loaded.from
    {
        let why = if series.unpriced.iter().any(|u| u.first < first.date) {
            "the first day every holding has a price"
        } else {
            "the first day anything was held"
        };
        notes.push(format!("The line starts on {}, {why}.", first.date));
    }
    for u in &series.unpriced {
        let span = if u.first == u.last {
            format!("on {}", u.first)
        } else {
            format!("from {} to {}", u.first, u.last)
        };
        notes.push(format!(
            "No price for {} {span} ({}): those days are left out rather than counted as zero.",
            u.label,
            plural(u.days, "day", "days")
        ));
    }
    if series.days_left_out > 0 && series.unpriced.is_empty() {
        notes.push(format!(
            "{} left out (the value could not be added up).",
            plural(series.days_left_out, "day", "days")
        ));
    }
    let names = |list: &[String]| list.join(", ");
    if !series.no_prices.is_empty() {
        notes.push(format!(
            "Left out: {} (no stored prices).",
            names(&series.no_prices)
        ));
    }
    if !series.no_rate.is_empty() {
        notes.push(format!(
            "Left out: {} (no exchange rate to {base}).",
            names(&series.no_rate)
        ));
    }
    if !series.refused.is_empty() {
        notes.push(format!(
            "Left out: {} (its transactions do not add up).",
            names(&series.refused)
        ));
    }
    if loaded.pending > 0 {
        notes.push(format!(
            "Still fetching the price history of {}: reload in a moment.",
            plural(loaded.pending, "holding", "holdings")
        ));
    }
    notes.push(format!(
        "Each day is the quantity held that day times the last close on or before it, in {base} at today's exchange rates."
    ));
    let left_out = series.days_left_out > 0
        || !series.no_prices.is_empty()
        || !series.no_rate.is_empty()
        || !series.refused.is_empty();
    let no_line = match series.points.as_slice() {
        [] if !left_out => "Nothing was held in this range.".to_string(),
        [only] => format!(
            "Only one day in this range has a value ({}: {}), and one day is not a line.",
            only.date,
            money(only.value, base)
        ),
        _ => "Not enough price history to draw the value over this range.".to_string(),
    };
    ValueChartView {
        ranges,
        range_label: loaded.range.label(),
        line,
        no_line,
        notes,
        complete: loaded.pending == 0,
        comparison: None,
    }
}

/// The time-weighted return beside the benchmark's price change, on one scale.
pub struct ComparisonView {
    pub symbol: String,
    pub path: String,
    pub benchmark_path: String,
    /// Each line's last figure.
    pub total: String,
    pub trend: &'static str,
    pub benchmark_total: String,
    pub benchmark_trend: &'static str,
    /// The y axis: the scale's top, middle and bottom, in percent.
    pub axis: [String; 3],
    pub first_date: String,
    pub mid_date: String,
    pub last_date: String,
    pub aria: String,
}

const COMPARISON_FRAME: Frame = Frame {
    width: 800.0,
    height: 160.0,
    pad: 8.0,
};

/// The comparison chart of two return lines; `None` when either has fewer than two days.
pub fn comparison_chart(c: &Comparison) -> Option<ComparisonView> {
    if c.portfolio.len() < 2 || c.benchmark.len() < 2 {
        return None;
    }
    let points = |line: &[(time::Date, Decimal)]| -> Vec<(i64, f64)> {
        let all: Vec<(i64, f64)> = line
            .iter()
            .map(|(d, r)| {
                (
                    i64::from(d.to_julian_day()),
                    r.to_f64().unwrap_or(0.0) * 100.0,
                )
            })
            .collect();
        charts::thin(&charts::corners(&all), MAX_DRAWN)
    };
    let (mine, theirs) = (points(&c.portfolio), points(&c.benchmark));
    // Both from 0 %: the scale takes in zero, the lines' start.
    let (lo, hi) = charts::bounds(mine.iter().chain(&theirs).chain(&[(0, 0.0)]));
    let path = charts::line_path_within(&[mine], COMPARISON_FRAME, (lo, hi));
    let benchmark_path = charts::line_path_within(&[theirs], COMPARISON_FRAME, (lo, hi));
    let last = |line: &[(time::Date, Decimal)]| {
        let r = line.last().map_or(Decimal::ZERO, |(_, r)| *r);
        match r.checked_mul(Decimal::ONE_HUNDRED) {
            Some(percent) => {
                let percent = percent.round_dp(2);
                (format::percent(percent), format::trend_class(Some(percent)))
            }
            None => ("—".to_string(), ""),
        }
    };
    let (total, trend) = last(&c.portfolio);
    let (benchmark_total, benchmark_trend) = last(&c.benchmark);
    let first = c.portfolio[0].0.min(c.benchmark[0].0);
    let end = c.portfolio[c.portfolio.len() - 1]
        .0
        .max(c.benchmark[c.benchmark.len() - 1].0);
    let mid = first + time::Duration::days((end - first).whole_days() / 2);
    let axis_label = |v: f64| format!("{v:+.1}%");
    Some(ComparisonView {
        symbol: c.symbol.clone(),
        aria: format!(
            "Time-weighted return {total} and {} {benchmark_total} from {first} to {end}",
            c.symbol
        ),
        path,
        benchmark_path,
        total,
        trend,
        benchmark_total,
        benchmark_trend,
        axis: [axis_label(hi), axis_label((hi + lo) / 2.0), axis_label(lo)],
        first_date: first.to_string(),
        mid_date: mid.to_string(),
        last_date: end.to_string(),
    })
}

fn line_view(loaded: &LoadedSeries, base: &str) -> Option<LineView> {
    let points = &loaded.series.points;
    let (first, last) = match points.as_slice() {
        [first, .., last] => (first, last),
        _ => return None,
    };
    // Consecutive days form a segment; a missing day starts a new one.
    let segments = |of: fn(&DailyValue) -> Decimal| {
        let mut segments: Vec<Vec<(i64, f64)>> = Vec::new();
        let mut previous: Option<i64> = None;
        for p in points {
            let day = i64::from(p.date.to_julian_day());
            let value = of(p).to_f64().unwrap_or(0.0);
            match (segments.last_mut(), previous) {
                (Some(segment), Some(prev)) if day == prev + 1 => segment.push((day, value)),
                _ => segments.push(vec![(day, value)]),
            }
            previous = Some(day);
        }
        let total = points.len();
        segments
            .iter()
            .map(|s| charts::thin(s, (MAX_DRAWN * s.len()).div_ceil(total)))
            .collect::<Vec<_>>()
    };
    let values = segments(|p| p.value);
    // The money put in moves only on the days of transactions: its corners draw it whole.
    let invested: Vec<Vec<(i64, f64)>> = segments(|p| p.invested)
        .iter()
        .map(|s| charts::corners(s))
        .collect();
    let (lo, hi) = charts::bounds(values.iter().chain(&invested).flatten());
    let total = points.len();
    let low = points.iter().map(|p| p.value).min().unwrap_or_default();
    let high = points.iter().map(|p| p.value).max().unwrap_or_default();
    let change = last
        .value
        .checked_sub(first.value)
        .and_then(|c| c.checked_mul(Decimal::ONE_HUNDRED))
        .and_then(|c| c.checked_div(first.value));
    let change_text = change.map(format::percent).unwrap_or_else(|| "—".into());
    let gain = last.gain_since(first);
    let gain_text = gain.map_or_else(
        || "—".into(),
        |g| format!("{} {base}", format::money_signed(g)),
    );
    let gain_percent = last
        .gain_percent_since(first)
        .map_or_else(String::new, format::percent);
    let axis_value =
        |v: f64| Decimal::from_f64_retain(v).map_or_else(String::new, |d| format::fixed(d, 0));
    let table = charts::thin(points, TABLE_ROWS)
        .iter()
        .map(|p| {
            [
                p.date.to_string(),
                format::fixed(p.value, 2),
                format::fixed(p.invested, 2),
                p.gain_since(first)
                    .map_or_else(|| "—".into(), format::money_signed),
            ]
        })
        .collect();
    Some(LineView {
        path: charts::line_path_within(&values, VALUE_FRAME, (lo, hi)),
        invested_path: charts::line_path_within(&invested, VALUE_FRAME, (lo, hi)),
        trend: if gain.is_none_or(|g| g >= Decimal::ZERO) {
            "chart-up"
        } else {
            "chart-down"
        },
        gain: gain_text.clone(),
        gain_percent,
        gain_trend: format::trend_class(gain),
        axis: [axis_value(hi), axis_value((hi + lo) / 2.0), axis_value(lo)],
        mid_date: points[total / 2].date.to_string(),
        table,
        count: total,
        first_date: first.date.to_string(),
        first_value: money(first.value, base),
        first_raw: first.value.round_dp(2).normalize().to_string(),
        last_date: last.date.to_string(),
        last_value: money(last.value, base),
        last_raw: last.value.round_dp(2).normalize().to_string(),
        aria: format!(
            "Portfolio value in {base} from {} ({}) to {} ({}), a gain of {gain_text} after the money put in; the value between {} and {}; the net amount invested drawn beside it",
            first.date,
            money(first.value, base),
            last.date,
            money(last.value, base),
            money(low, base),
            money(high, base)
        ),
        change: change_text,
        low: money(low, base),
        high: money(high, base),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Quote;
    use crate::domain::valuation::{DailyValue, Unpriced, ValueSeries};
    use crate::domain::{Asset, Holding, Symbol};
    use std::collections::BTreeMap;
    use time::macros::date;
    use time::{Date, OffsetDateTime};

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    fn position(
        id: i64,
        symbol: &str,
        kind: AssetKind,
        qty: &str,
        price: Option<&str>,
    ) -> Position {
        let symbol = Symbol::parse(symbol).expect("symbol");
        Position {
            holding: Holding {
                id,
                asset: Asset {
                    id,
                    symbol: symbol.clone(),
                    kind,
                    name: None,
                    currency: "USD".into(),
                },
                quantity: d(qty),
                cost_basis: None,
                notes: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
                updated_at: OffsetDateTime::UNIX_EPOCH,
            },
            quote: price.map(|p| Quote::new(symbol, d(p), "test")),
            ledger: None,
        }
    }

    fn totals(base: &str, rates: &[(&str, &str)]) -> Totals {
        Totals {
            base: base.into(),
            by_currency: BTreeMap::new(),
            rates: rates.iter().map(|(c, r)| (c.to_string(), d(r))).collect(),
            ..Totals::default()
        }
    }

    fn legend(view: &DoughnutView) -> Vec<(String, String, String)> {
        view.slices
            .iter()
            .map(|s| (s.label.clone(), s.value.clone(), s.percent.clone()))
            .collect()
    }

    fn row(label: &str, value: &str, percent: &str) -> (String, String, String) {
        (label.into(), value.into(), percent.into())
    }

    #[test]
    fn allocations_convert_name_and_leave_out() {
        let mut gbp = position(4, "VOD", AssetKind::Stock, "100", Some("0.7"));
        gbp.holding.asset.currency = "GBP".into();
        let mut chf = position(5, "NESN", AssetKind::Stock, "1", Some("90"));
        chf.holding.asset.currency = "CHF".into();
        let positions = [
            position(1, "GOLD", AssetKind::Stock, "10", Some("20")),
            position(2, "GOLD", AssetKind::Commodity, "0.1", Some("2000")),
            position(3, "CARD", AssetKind::Item, "1", None),
            gbp,
            chf,
            position(6, "SOLD", AssetKind::Stock, "0", Some("5")),
        ];
        // GBP at 1.25: 100 × 0.7 × 1.25 = 87.5; CHF has no rate.
        let views = allocations(&positions, &totals("USD", &[("GBP", "1.25")]));
        assert_eq!(
            legend(&views[0]),
            [
                row("GOLD (Commodity)", "200.00", "41.0%"),
                row("GOLD (Stock)", "200.00", "41.0%"),
                row("VOD", "87.50", "17.9%"),
            ]
        );
        assert_eq!(views[0].total, "487.50");
        assert_eq!(
            legend(&views[1]),
            [
                row("Stock", "287.50", "59.0%"),
                row("Commodity", "200.00", "41.0%")
            ]
        );
        let note = "Left out: 1 holding without a price and 1 holding without an exchange rate to USD (NESN) are not in this chart.";
        assert_eq!(views[0].left_out.as_deref(), Some(note));
        assert_eq!(views[1].left_out.as_deref(), Some(note));
        assert_eq!(views[0].slices[0].class, "slice-0");
        assert_eq!(views[0].slices[2].class, "slice-2");
        assert_eq!(
            views[0].slices[2].title, "VOD: 87.50 USD (17.9%)",
            "the hover text has the legend's numbers"
        );
        assert_eq!(
            views[0].summary,
            "Doughnut chart of the allocation by holding in USD: 3 slices; the table beside it lists each value and share"
        );
    }

    #[test]
    fn other_is_grey_and_names_its_members_and_nothing_priced_is_no_slice() {
        let positions = [
            position(1, "A", AssetKind::Stock, "1", Some("985")),
            position(2, "B", AssetKind::Etf, "1", Some("10")),
            position(3, "C", AssetKind::Crypto, "1", Some("5")),
        ];
        let views = allocations(&positions, &totals("USD", &[]));
        let other = &views[0].slices[1];
        assert_eq!(other.label, "Other (2)");
        assert_eq!(other.class, "slice-other");
        assert_eq!(other.detail.as_deref(), Some("B, C"));
        assert_eq!(other.percent, "1.5%");
        let views = allocations(
            &[position(1, "A", AssetKind::Stock, "1", None)],
            &totals("USD", &[]),
        );
        assert!(views[0].slices.is_empty());
        assert_eq!(
            views[0].left_out.as_deref(),
            Some("Left out: 1 holding without a price is not in this chart.")
        );
    }

    fn loaded(points: &[(Date, &str)], series: ValueSeries, from: Date) -> LoadedSeries {
        LoadedSeries {
            range: ValueRange::Month1,
            from,
            to: date!(2024 - 03 - 31),
            series: ValueSeries {
                points: points
                    .iter()
                    .map(|(date, v)| DailyValue {
                        date: *date,
                        value: d(v),
                        invested: Decimal::ZERO,
                    })
                    .collect(),
                ..series
            },
            pending: 0,
        }
    }

    #[test]
    fn the_value_card_gives_first_last_and_why_days_are_missing() {
        let series = ValueSeries {
            days_left_out: 2,
            unpriced: vec![Unpriced {
                label: "NVDA".into(),
                first: date!(2024 - 03 - 02),
                last: date!(2024 - 03 - 03),
                days: 2,
            }],
            no_rate: vec!["SAP".into()],
            ..ValueSeries::default()
        };
        let view = value_chart(
            &loaded(
                &[
                    (date!(2024 - 03 - 04), "1000"),
                    (date!(2024 - 03 - 05), "1100"),
                    (date!(2024 - 03 - 07), "1050.5"),
                ],
                series,
                date!(2024 - 03 - 01),
            ),
            "USD",
            |r| format!("/portfolio?range={}", r.as_str()),
        );
        let line = view.line.expect("a line");
        assert_eq!(line.first_raw, "1000");
        assert_eq!(line.last_raw, "1050.5");
        assert_eq!(line.last_value, "1,050.50 USD");
        assert_eq!(line.change, "+5.05%");
        assert_eq!(line.count, 3);
        assert_eq!(line.path.matches('M').count(), 2, "6 March is a gap");
        assert_eq!(line.trend, "chart-up");
        assert_eq!(
            view.notes,
            [
                "The line starts on 2024-03-04, the first day every holding has a price.",
                "No price for NVDA from 2024-03-02 to 2024-03-03 (2 days): those days are left out rather than counted as zero.",
                "Left out: SAP (no exchange rate to USD).",
                "Each day is the quantity held that day times the last close on or before it, in USD at today's exchange rates.",
            ]
        );
        let links: Vec<_> = view.ranges.iter().map(|r| (r.label, r.active)).collect();
        assert_eq!(
            links,
            [("1M", true), ("6M", false), ("1Y", false), ("All", false)]
        );
        assert_eq!(view.ranges[3].href, "/portfolio?range=all");
        let one = value_chart(
            &loaded(
                &[(date!(2024 - 03 - 31), "5")],
                ValueSeries::default(),
                date!(2024 - 03 - 01),
            ),
            "USD",
            |_| String::new(),
        );
        assert!(one.line.is_none(), "one day is not a line");
        assert_eq!(
            one.no_line,
            "Only one day in this range has a value (2024-03-31: 5.00 USD), and one day is not a line."
        );
        let none = value_chart(
            &loaded(&[], ValueSeries::default(), date!(2024 - 03 - 01)),
            "USD",
            |_| String::new(),
        );
        assert_eq!(none.no_line, "Nothing was held in this range.");
        let unknown = value_chart(
            &loaded(
                &[],
                ValueSeries {
                    no_prices: vec!["CARD".into()],
                    ..ValueSeries::default()
                },
                date!(2024 - 03 - 01),
            ),
            "USD",
            |_| String::new(),
        );
        assert_eq!(
            unknown.no_line,
            "Not enough price history to draw the value over this range."
        );
    }

    /// Each slice colour stands out (3:1, WCAG's contrast for graphics) on the light and the
    /// dark page background.
    #[test]
    fn slice_colours_contrast_with_both_backgrounds() {
        fn luminance(hex: &str) -> f64 {
            let channel = |i: usize| {
                let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect(hex)) / 255.0;
                if c <= 0.039_28 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
        }
        let contrast = |a: f64, b: f64| (a.max(b) + 0.05) / (a.min(b) + 0.05);
        let css = include_str!("../../../static/app.css");
        let mut classes: Vec<String> = (0..PALETTE_SIZE).map(|i| format!("slice-{i}")).collect();
        classes.push("slice-other".into());
        for class in classes {
            let rule = css
                .split(&format!(".{class} {{ fill: #"))
                .nth(1)
                .unwrap_or_else(|| panic!("app.css colours .{class}"));
            let hex = &rule[..6];
            let l = luminance(hex);
            for (background, bl) in [("#fff", 1.0), ("#212529", luminance("212529"))] {
                assert!(
                    contrast(l, bl) >= 3.0,
                    ".{class} #{hex} on {background}: {:.2}",
                    contrast(l, bl)
                );
            }
        }
    }
}
