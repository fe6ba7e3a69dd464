//! Geometry for the charts pages draw as SVG on the server (no script, so the CSP stays
//! strict): shares of a whole and their doughnut slices, and line paths through dated values.
//! Pure functions of numbers; the pages only format what comes out.

use std::f64::consts::TAU;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// A ring in SVG user units: its centre and its outer and inner radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ring {
    pub cx: f64,
    pub cy: f64,
    pub outer: f64,
    pub inner: f64,
}

impl Ring {
    /// The doughnuts' ring, in a 200 × 200 box.
    pub const DOUGHNUT: Ring = Ring {
        cx: 100.0,
        cy: 100.0,
        outer: 96.0,
        inner: 58.0,
    };

    /// The point at `radius` a fraction `turn` of the way round, clockwise from 12 o'clock
    /// (SVG's y axis points down).
    fn at(&self, radius: f64, turn: f64) -> (f64, f64) {
        let angle = turn * TAU - TAU / 4.0;
        (
            self.cx + radius * angle.cos(),
            self.cy + radius * angle.sin(),
        )
    }
}

/// Below this a slice is too thin to draw (a rounding error, not a share).
const EPSILON: f64 = 1e-9;

/// Writes `x` with exactly `places` decimals by integer arithmetic (formatting a float with a
/// precision is slow, and a page writes hundreds of coordinates); not finite is 0.
fn push_fixed(out: &mut String, x: f64, places: u32) {
    use std::fmt::Write;
    let scale = 10_i64.pow(places);
    let scaled = (x * scale as f64).round();
    let n = if scaled.is_finite() && scaled.abs() < 1e15 {
        scaled as i64
    } else {
        0
    };
    let sign = if n < 0 { "-" } else { "" };
    let n = n.abs();
    let _ = if places == 0 {
        write!(out, "{sign}{n}")
    } else {
        write!(
            out,
            "{sign}{}.{:0width$}",
            n / scale,
            n % scale,
            width = places as usize
        )
    };
}

/// An SVG path written command by command, every number with the same decimals.
struct PathText {
    out: String,
    places: u32,
}

impl PathText {
    fn new(places: u32) -> Self {
        PathText {
            out: String::new(),
            places,
        }
    }

    /// A command letter and its points, `x,y` each, separated by spaces.
    fn to(&mut self, command: char, points: &[(f64, f64)]) -> &mut Self {
        self.out.push(command);
        for (i, &(x, y)) in points.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            push_fixed(&mut self.out, x, self.places);
            self.out.push(',');
            push_fixed(&mut self.out, y, self.places);
        }
        self
    }

    /// An elliptical arc of a circle of `radius` to `end`.
    fn arc(&mut self, radius: f64, large: bool, clockwise: bool, end: (f64, f64)) -> &mut Self {
        self.to('A', &[(radius, radius)]);
        self.out.push_str(match (large, clockwise) {
            (false, false) => " 0 0 0 ",
            (false, true) => " 0 0 1 ",
            (true, false) => " 0 1 0 ",
            (true, true) => " 0 1 1 ",
        });
        push_fixed(&mut self.out, end.0, self.places);
        self.out.push(',');
        push_fixed(&mut self.out, end.1, self.places);
        self
    }

    fn close(&mut self) -> &mut Self {
        self.out.push('Z');
        self
    }
}

/// The SVG path of the ring's part from `start` to `end`, both fractions of a whole turn
/// clockwise from 12 o'clock; empty when there is nothing to draw. A whole turn is drawn as
/// two half rings, outer clockwise and inner anticlockwise (one SVG arc cannot end where it
/// starts), so the hole stays open under either fill rule.
pub fn arc_path(ring: Ring, start: f64, end: f64) -> String {
    let start = start.clamp(0.0, 1.0);
    let end = end.clamp(0.0, 1.0);
    let sweep = end - start;
    if sweep.is_nan() || sweep <= EPSILON {
        return String::new();
    }
    let Ring {
        cx,
        cy,
        outer: r,
        inner: ri,
    } = ring;
    let mut path = PathText::new(2);
    if sweep >= 1.0 - EPSILON {
        path.to('M', &[(cx, cy - r)])
            .arc(r, true, true, (cx, cy + r))
            .arc(r, true, true, (cx, cy - r))
            .close()
            .to('M', &[(cx, cy - ri)])
            .arc(ri, true, false, (cx, cy + ri))
            .arc(ri, true, false, (cx, cy - ri))
            .close();
        return path.out;
    }
    let large = sweep > 0.5;
    path.to('M', &[ring.at(r, start)])
        .arc(r, large, true, ring.at(r, end))
        .to('L', &[ring.at(ri, end)])
        .arc(ri, large, false, ring.at(ri, start))
        .close();
    path.out
}

/// One part of a whole: a named amount, its percent, and where its slice lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub label: String,
    pub value: Decimal,
    /// Percent of the whole, rounded to one decimal place.
    pub percent: Decimal,
    /// Where the slice starts and ends, as fractions of a turn.
    pub start: f64,
    pub end: f64,
    /// The labels grouped into this share when it is "Other"; empty otherwise.
    pub members: Vec<String>,
}

impl Share {
    pub fn is_other(&self) -> bool {
        !self.members.is_empty()
    }
}

/// The label of the share small parts are grouped into.
pub const OTHER: &str = "Other";

/// Shares of the whole `items` add up to, largest first (ties by label). Amounts of zero or
/// less are left out. When two or more parts are each under `min_percent` of the whole they
/// become one "Other" share at the end (a single small part keeps its name: grouping it would
/// hide it for nothing). Empty when there is nothing to share or the sum overflows.
pub fn shares(items: Vec<(String, Decimal)>, min_percent: Decimal) -> Vec<Share> {
    let mut items: Vec<(String, Decimal)> = items
        .into_iter()
        .filter(|(_, v)| *v > Decimal::ZERO)
        .collect();
    let Some(total) = items
        .iter()
        .try_fold(Decimal::ZERO, |sum, (_, v)| sum.checked_add(*v))
    else {
        return Vec::new();
    };
    if total.is_zero() {
        return Vec::new();
    }
    items.sort_by(|(la, va), (lb, vb)| vb.cmp(va).then_with(|| la.cmp(lb)));
    let percent_of = |v: Decimal| {
        v.checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|p| p.checked_div(total))
            .unwrap_or_default()
    };
    let (small, large): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|(_, v)| percent_of(*v) < min_percent);
    let mut parts: Vec<(String, Decimal, Vec<String>)> =
        large.into_iter().map(|(l, v)| (l, v, Vec::new())).collect();
    if small.len() >= 2 {
        // Each is smaller than the whole, so their sum cannot overflow where the total did not.
        let value = small.iter().map(|(_, v)| *v).sum();
        parts.push((
            OTHER.to_string(),
            value,
            small.into_iter().map(|(l, _)| l).collect(),
        ));
    } else {
        parts.extend(small.into_iter().map(|(l, v)| (l, v, Vec::new())));
    }
    let whole = total.to_f64().unwrap_or(0.0);
    let mut done = Decimal::ZERO;
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, (label, value, members))| {
            let start = fraction(done, whole);
            done += value;
            let end = if i + 1 == count {
                1.0
            } else {
                fraction(done, whole)
            };
            Share {
                label,
                value,
                percent: percent_of(value).round_dp_with_strategy(
                    1,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                ),
                start,
                end,
                members,
            }
        })
        .collect()
}

fn fraction(part: Decimal, whole: f64) -> f64 {
    if whole > 0.0 {
        (part.to_f64().unwrap_or(0.0) / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// A box to plot a line in, in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub pad: f64,
}

/// An SVG path through `segments` of `(day, value)` points (days as day numbers, ascending
/// across segments): x spans the first to the last day, so gaps keep their width; y spans
/// the lowest value (bottom) to the highest (top), a flat line sitting in the middle. Each
/// segment starts a new subpath, so the gaps between segments stay empty; a segment of one
/// point is a dot (a zero-length line, drawn with round caps).
pub fn line_path(segments: &[Vec<(i64, f64)>], frame: Frame) -> String {
    let (lo, hi) = bounds(segments.iter().flatten());
    line_path_within(segments, frame, (lo, hi))
}

/// The lowest and highest value of some points.
pub fn bounds<'a>(points: impl Iterator<Item = &'a (i64, f64)>) -> (f64, f64) {
    points.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    })
}

/// [`line_path`] with y spanning `(lo, hi)`, so that two lines share one scale.
pub fn line_path_within(
    segments: &[Vec<(i64, f64)>],
    frame: Frame,
    (lo, hi): (f64, f64),
) -> String {
    let all = || segments.iter().flatten();
    let (Some(first), Some(last)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max()) else {
        return String::new();
    };
    let Frame { width, height, pad } = frame;
    let days = (last - first).max(1) as f64;
    let x = |day: i64| pad + (day - first) as f64 / days * (width - 2.0 * pad);
    let y = |value: f64| {
        if hi > lo {
            pad + (hi - value) / (hi - lo) * (height - 2.0 * pad)
        } else {
            height / 2.0
        }
    };
    let mut path = PathText::new(1);
    for segment in segments {
        for (i, &(day, value)) in segment.iter().enumerate() {
            path.to(if i == 0 { 'M' } else { 'L' }, &[(x(day), y(value))]);
        }
        if let [(day, value)] = segment.as_slice() {
            path.to('L', &[(x(*day), y(*value))]);
        }
    }
    path.out
}

/// The points of a line where it bends (and its ends): a line that stays level for days needs
/// only the days it changes.
pub fn corners(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let last = points.len().saturating_sub(1);
    points
        .iter()
        .enumerate()
        .filter(|&(i, p)| i == 0 || i == last || points[i - 1].1 != p.1 || points[i + 1].1 != p.1)
        .map(|(_, p)| *p)
        .collect()
}

/// At most `max` of `points` (at least 2), evenly spaced, always keeping the first and the
/// last: a line needs no more points than its chart is wide.
pub fn thin<T: Clone>(points: &[T], max: usize) -> Vec<T> {
    let max = max.max(2);
    if points.len() <= max {
        return points.to_vec();
    }
    let last = points.len() - 1;
    (0..max)
        .map(|i| points[i * last / (max - 1)].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    fn items(list: &[(&str, &str)]) -> Vec<(String, Decimal)> {
        list.iter().map(|(l, v)| (l.to_string(), d(v))).collect()
    }

    /// The numbers of a path, in order.
    fn numbers(path: &str) -> Vec<f64> {
        path.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect(s))
            .collect()
    }

    #[test]
    fn a_quarter_starts_at_twelve_and_ends_at_three() {
        let ring = Ring::DOUGHNUT;
        let path = arc_path(ring, 0.0, 0.25);
        // Outer arc from (100, 4) to (196, 100), in to (158, 100), back to (100, 42).
        assert_eq!(
            path,
            "M100.00,4.00A96.00,96.00 0 0 1 196.00,100.00L158.00,100.00A58.00,58.00 0 0 0 100.00,42.00Z"
        );
    }

    #[test]
    fn more_than_half_a_turn_takes_the_large_arc() {
        let path = arc_path(Ring::DOUGHNUT, 0.25, 0.9);
        assert!(path.contains(" 0 1 1 "), "{path}");
        assert!(path.contains(" 0 1 0 "), "{path}");
        let n = numbers(&path);
        // Starts at 3 o'clock on the outer ring.
        assert_eq!((n[0], n[1]), (196.0, 100.0));
        let small = arc_path(Ring::DOUGHNUT, 0.0, 0.5);
        assert!(
            small.contains(" 0 0 1 "),
            "exactly half is not large: {small}"
        );
    }

    #[test]
    fn a_single_slice_of_everything_is_a_whole_ring_with_its_hole() {
        let path = arc_path(Ring::DOUGHNUT, 0.0, 1.0);
        assert_eq!(path.matches('M').count(), 2, "outer and inner ring: {path}");
        assert_eq!(path.matches('A').count(), 4, "each as two half circles");
        assert!(path.starts_with("M100.00,4.00A96.00,96.00 0 1 1 100.00,196.00"));
        assert!(path.contains("M100.00,42.00A58.00,58.00 0 1 0 100.00,158.00"));
        assert_eq!(arc_path(Ring::DOUGHNUT, 0.0, 1.0 - 1e-12), path);
    }

    #[test]
    fn nothing_to_draw_gives_an_empty_path() {
        assert_eq!(arc_path(Ring::DOUGHNUT, 0.3, 0.3), "");
        assert_eq!(arc_path(Ring::DOUGHNUT, 0.5, 0.2), "");
        assert_eq!(arc_path(Ring::DOUGHNUT, f64::NAN, 0.2), "");
    }

    #[test]
    fn shares_are_largest_first_with_percents_and_contiguous_slices() {
        let s = shares(items(&[("B", "250"), ("A", "500"), ("C", "250")]), d("2"));
        let labels: Vec<_> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["A", "B", "C"], "by value, ties by label");
        let percents: Vec<_> = s.iter().map(|s| s.percent).collect();
        assert_eq!(percents, [d("50"), d("25"), d("25")]);
        assert_eq!((s[0].start, s[0].end), (0.0, 0.5));
        assert_eq!((s[1].start, s[1].end), (0.5, 0.75));
        assert_eq!((s[2].start, s[2].end), (0.75, 1.0));
    }

    #[test]
    fn percents_round_to_one_place() {
        let s = shares(items(&[("A", "2"), ("B", "1")]), d("2"));
        assert_eq!(s[0].percent, d("66.7"));
        assert_eq!(s[1].percent, d("33.3"));
        assert!((s[0].end - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn several_small_parts_become_other_and_one_keeps_its_name() {
        // 1,000 in all: D 15 (1.5 %) and E 5 (0.5 %) are under 2 %.
        let s = shares(
            items(&[
                ("A", "600"),
                ("B", "300"),
                ("C", "80"),
                ("D", "15"),
                ("E", "5"),
            ]),
            d("2"),
        );
        let labels: Vec<_> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["A", "B", "C", OTHER]);
        let other = &s[3];
        assert!(other.is_other());
        assert_eq!(other.value, d("20"));
        assert_eq!(other.percent, d("2"));
        assert_eq!(other.members, ["D", "E"]);
        assert_eq!(other.end, 1.0);
        let one_small = shares(items(&[("A", "990"), ("B", "10")]), d("2"));
        assert_eq!(one_small[1].label, "B");
        assert!(!one_small[1].is_other());
        assert_eq!(one_small[1].percent, d("1"));
    }

    #[test]
    fn one_part_is_the_whole_and_nothing_is_no_share() {
        let s = shares(items(&[("A", "12.5")]), d("2"));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].percent, d("100"));
        assert_eq!((s[0].start, s[0].end), (0.0, 1.0));
        assert!(shares(Vec::new(), d("2")).is_empty());
        assert!(shares(items(&[("A", "0"), ("B", "-3")]), d("2")).is_empty());
        let max = Decimal::MAX.to_string();
        assert!(
            shares(items(&[("A", &max), ("B", &max)]), d("2")).is_empty(),
            "an overflowing sum is no chart, not a panic"
        );
    }

    const FRAME: Frame = Frame {
        width: 100.0,
        height: 50.0,
        pad: 5.0,
    };

    #[test]
    fn a_line_spans_the_frame_from_low_to_high() {
        let path = line_path(&[vec![(10, 1.0), (15, 3.0), (20, 2.0)]], FRAME);
        // x: 5 + (day − 10) / 10 × 90; y: 5 + (3 − v) / 2 × 40.
        assert_eq!(path, "M5.0,45.0L50.0,5.0L95.0,25.0");
    }

    #[test]
    fn gaps_start_new_subpaths_and_lone_points_are_dots() {
        let path = line_path(&[vec![(0, 2.0), (1, 4.0)], vec![(9, 4.0)]], FRAME);
        assert_eq!(path, "M5.0,45.0L15.0,5.0M95.0,5.0L95.0,5.0");
        let flat = line_path(&[vec![(0, 7.0), (3, 7.0)]], FRAME);
        assert_eq!(flat, "M5.0,25.0L95.0,25.0", "a flat line in the middle");
        assert_eq!(line_path(&[], FRAME), "");
        assert_eq!(line_path(&[vec![]], FRAME), "");
    }

    #[test]
    fn numbers_are_written_with_fixed_decimals() {
        let text = |x: f64, places: u32| {
            let mut out = String::new();
            push_fixed(&mut out, x, places);
            out
        };
        assert_eq!(text(4.0, 2), "4.00");
        assert_eq!(text(196.004, 2), "196.00");
        assert_eq!(text(12.345_6, 1), "12.3");
        assert_eq!(text(0.05, 1), "0.1");
        assert_eq!(text(-1.25, 2), "-1.25");
        assert_eq!(text(-0.001, 2), "0.00", "no negative zero");
        assert_eq!(text(7.6, 0), "8");
        assert_eq!(text(f64::NAN, 2), "0.00");
    }

    #[test]
    fn a_level_line_keeps_only_its_corners() {
        let line = [
            (1, 5.0),
            (2, 5.0),
            (3, 5.0),
            (4, 8.0),
            (5, 8.0),
            (6, 8.0),
            (7, 8.0),
        ];
        assert_eq!(
            corners(&line),
            [(1, 5.0), (3, 5.0), (4, 8.0), (7, 8.0)],
            "each level's first and last day"
        );
        assert_eq!(corners(&[(1, 2.0)]), [(1, 2.0)]);
        assert!(corners(&[]).is_empty());
    }

    #[test]
    fn thinning_keeps_the_ends_and_spaces_the_rest() {
        let points: Vec<u32> = (0..=10).collect();
        assert_eq!(thin(&points, 3), [0, 5, 10]);
        assert_eq!(thin(&points, 6), [0, 2, 4, 6, 8, 10]);
        assert_eq!(thin(&points, 50), points);
        assert_eq!(thin(&points, 0), [0, 10]);
        assert_eq!(thin::<u32>(&[], 5), Vec::<u32>::new());
    }
}
