//! Coverage over time: a search's full matches counted by publication
//! date, in buckets of a day, week, month or year, each split by a facet
//! (stance unless asked otherwise).
//!
//! The collector tallies matches by their date span (first and last day
//! the date covers, as `--since`/`--until` read it) and split value; this
//! module turns the tally into buckets. A unit whose date is coarser than
//! the interval (a year-only date in a monthly view) is counted as
//! `imprecise`, not guessed into a bucket; a unit without a date is
//! `undated`. Buckets, `imprecise` and `undated` sum to the tally's
//! total, which is the search's `total_hits`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::model::date::{day_number, day_ymd};

/// A bucket's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Day,
    /// Monday to Sunday (ISO weeks); a bucket is named by its Monday.
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }

    /// The first day of the bucket holding day `ymd` (`YYYYMMDD`).
    fn start(self, ymd: u64) -> u64 {
        match self {
            Interval::Day => ymd,
            Interval::Week => {
                let day = day_number(ymd);
                // 1970-01-01 was a Thursday: Mondays are 0 here.
                day_ymd(day - (day + 3).rem_euclid(7))
            }
            Interval::Month => ymd / 100 * 100 + 1,
            Interval::Year => ymd / 10_000 * 10_000 + 101,
        }
    }

    /// Whether one bucket holds every day from `from` to `to`. A date of
    /// one day fits any interval; that is most dates, and the test is
    /// then free of date arithmetic (a histogram of a broad query looks at
    /// thousands of date spans).
    fn holds(self, from: u64, to: u64) -> bool {
        match self {
            _ if from == to => true,
            Interval::Day => false,
            Interval::Month => from / 100 == to / 100,
            Interval::Year => from / 10_000 == to / 10_000,
            Interval::Week => self.start(from) == self.start(to),
        }
    }

    /// The first day of the next bucket after the one starting `start`.
    fn next(self, start: u64) -> u64 {
        match self {
            Interval::Day => day_ymd(day_number(start) + 1),
            Interval::Week => day_ymd(day_number(start) + 7),
            Interval::Month => {
                let (y, m) = (start / 10_000, start / 100 % 100);
                if m == 12 {
                    (y + 1) * 10_000 + 101
                } else {
                    y * 10_000 + (m + 1) * 100 + 1
                }
            }
            Interval::Year => (start / 10_000 + 1) * 10_000 + 101,
        }
    }

    /// How a bucket is named: `2019-10-07` (day, week), `2019-10`, `2019`.
    fn label(self, start: u64) -> String {
        let (y, m, d) = (start / 10_000, start / 100 % 100, start % 100);
        match self {
            Interval::Day | Interval::Week => format!("{y:04}-{m:02}-{d:02}"),
            Interval::Month => format!("{y:04}-{m:02}"),
            Interval::Year => format!("{y:04}"),
        }
    }
}

/// What the user asks for: an interval, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalChoice {
    /// The finest interval that keeps the matched span within
    /// [`AUTO_BUCKETS`] buckets.
    Auto,
    Fixed(Interval),
}

impl IntervalChoice {
    pub const NAMES: [&'static str; 5] = ["auto", "day", "week", "month", "year"];

    pub fn parse(s: &str) -> Result<IntervalChoice> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => IntervalChoice::Auto,
            "day" => IntervalChoice::Fixed(Interval::Day),
            "week" => IntervalChoice::Fixed(Interval::Week),
            "month" => IntervalChoice::Fixed(Interval::Month),
            "year" => IntervalChoice::Fixed(Interval::Year),
            other => {
                return Err(Error::Input(format!(
                    "histogram interval {other:?}: use one of auto, day, week, month, year"
                )))
            }
        })
    }
}

/// At most this many buckets under `auto` (a chart's width in bars).
pub const AUTO_BUCKETS: usize = 60;

/// More buckets than this are refused (`--histogram day` over a century).
pub const MAX_BUCKETS: usize = 10_000;

/// Split values shown by default; the rest are summed as "other".
pub const DEFAULT_SPLIT_TOP: usize = 5;

/// A histogram as asked for with a search.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramRequest {
    pub interval: IntervalChoice,
    /// The facet each bucket is split by (not authors: a unit has several).
    pub split: FacetField,
    /// Split values listed, most frequent first; the rest are "other".
    pub split_top: usize,
    /// Also count every unit of the index in each bucket (same filters,
    /// no query) and give each bucket's count as a share of it.
    pub normalize: bool,
}

impl Default for HistogramRequest {
    fn default() -> Self {
        HistogramRequest {
            interval: IntervalChoice::Auto,
            split: FacetField::Stance,
            split_top: DEFAULT_SPLIT_TOP,
            normalize: false,
        }
    }
}

impl HistogramRequest {
    /// A split field a histogram can use: one value per unit.
    pub fn split_field(name: &str) -> Result<FacetField> {
        match FacetField::parse(name) {
            Some(FacetField::Author) => Err(Error::Input(
                "histogram split by author: a unit has several authors; split by stance, outlet, genre or kind".into(),
            )),
            Some(f) => Ok(f),
            None => Err(Error::Input(format!(
                "histogram split {name:?}: use one of stance, outlet, genre, kind"
            ))),
        }
    }
}

/// No value of the split field (a unit without a stance).
pub const NO_VALUE: u32 = u32::MAX;

/// Matches counted by date span and split value, as the collector gathers
/// them: `(first day, last day, value index)` and units. An undated unit
/// has the span `(0, 0)`. A span may appear more than once; its counts add.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateTally(pub Vec<((u64, u64, u32), u64)>);

impl DateTally {
    pub fn add(&mut self, key: (u64, u64, u32), n: u64) {
        self.0.push((key, n));
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }

    /// The interval `auto` picks: the finest whose buckets hold at least
    /// half of the dated units (month-only dates make a daily view of
    /// nothing) and span at most [`AUTO_BUCKETS`] buckets from the first
    /// of them to the last.
    fn auto_interval(&self) -> Interval {
        let dated = || self.0.iter().filter(|((from, _, _), _)| *from > 0);
        let all: u64 = dated().map(|(_, n)| n).sum();
        let fits = |i: Interval| {
            // One pass: the units a bucket can hold, and their span.
            let (mut held, mut first, mut last) = (0, u64::MAX, 0);
            for &((from, to, _), n) in dated() {
                if i.holds(from, to) {
                    held += n;
                    first = first.min(from);
                    last = last.max(to);
                }
            }
            held > 0 && held * 2 >= all && buckets_between(i, first, last) <= AUTO_BUCKETS
        };
        [Interval::Day, Interval::Week, Interval::Month]
            .into_iter()
            .find(|&i| fits(i))
            .unwrap_or(Interval::Year)
    }
}

fn buckets_between(interval: Interval, first: u64, last: u64) -> usize {
    let (a, b) = (interval.start(first), interval.start(last));
    match interval {
        Interval::Day => (day_number(b) - day_number(a)) as usize + 1,
        Interval::Week => ((day_number(b) - day_number(a)) / 7) as usize + 1,
        Interval::Month => {
            let months = |s: u64| (s / 10_000) * 12 + s / 100 % 100;
            (months(b) - months(a)) as usize + 1
        }
        Interval::Year => (b / 10_000 - a / 10_000) as usize + 1,
    }
}

/// One bucket of a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// The bucket's name: `2019-10-07` (day; week, by its Monday),
    /// `2019-10` (month), `2019` (year).
    pub start: String,
    pub count: u64,
    /// Per split value (the top ones, then "other"), in the histogram's
    /// `values` order; zero counts are left out.
    pub by: Vec<(String, u64)>,
    /// With `normalize`: every unit of the index in this bucket (the same
    /// filters, no query), and `count` as a share of it.
    pub all: Option<u64>,
    pub share: Option<f64>,
}

/// `"histogram"` in a search response.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub interval: Interval,
    /// The facet buckets are split by.
    pub split: FacetField,
    /// The split's values, most frequent among the matches first, "other"
    /// last when some were folded into it.
    pub values: Vec<String>,
    pub buckets: Vec<Bucket>,
    /// Units dated more coarsely than the interval.
    pub imprecise: u64,
    pub undated: u64,
    pub normalized: bool,
}

/// The name of the value that gathers split values past the top ones.
pub const OTHER: &str = "other";

impl Histogram {
    /// Buckets a tally. `names` are the split field's values (a tally's
    /// value index points into them); `all`, for `normalize`, is the
    /// tally of every unit under the same filters.
    pub fn build(
        request: &HistogramRequest,
        tally: &DateTally,
        names: &[String],
        all: Option<&DateTally>,
    ) -> Result<Histogram> {
        let interval = match request.interval {
            IntervalChoice::Fixed(i) => i,
            IntervalChoice::Auto => tally.auto_interval(),
        };
        // The top split values among the matches; the rest become "other".
        let mut per_value: HashMap<u32, u64> = HashMap::new();
        for &((_, _, v), n) in &tally.0 {
            *per_value.entry(v).or_default() += n;
        }
        let name_of = |v: u32| {
            names
                .get(v as usize)
                .cloned()
                .unwrap_or_else(|| "(none)".into())
        };
        let mut ranked: Vec<(String, u64)> =
            per_value.iter().map(|(&v, &n)| (name_of(v), n)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let top = request.split_top.max(1);
        let folded = ranked.len() > top;
        let mut values: Vec<String> = ranked.into_iter().take(top).map(|(v, _)| v).collect();
        if folded {
            values.push(OTHER.into());
        }
        let column = |v: u32| {
            let name = name_of(v);
            values
                .iter()
                .position(|x| *x == name)
                .unwrap_or(values.len() - 1)
        };

        let mut counts: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let (mut imprecise, mut undated) = (0, 0);
        for &((from, to, v), n) in &tally.0 {
            if from == 0 {
                undated += n;
                continue;
            }
            if !interval.holds(from, to) {
                imprecise += n;
                continue;
            }
            let start = interval.start(from);
            counts.entry(start).or_insert_with(|| vec![0; values.len()])[column(v)] += n;
        }
        let mut everything: BTreeMap<u64, u64> = BTreeMap::new();
        if let Some(all) = all {
            for &((from, to, _), n) in &all.0 {
                if from > 0 && interval.holds(from, to) {
                    *everything.entry(interval.start(from)).or_default() += n;
                }
            }
        }

        let mut buckets = Vec::new();
        if let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) {
            if buckets_between(interval, first, last) > MAX_BUCKETS {
                return Err(Error::Input(format!(
                    "a {} histogram of these matches would have {} buckets (at most {MAX_BUCKETS}): choose a coarser interval or narrow the dates with --since/--until",
                    interval.as_str(),
                    buckets_between(interval, first, last)
                )));
            }
            // Every bucket of the span, empty ones too: a chart's gaps
            // are part of the story.
            let mut start = first;
            while start <= last {
                let row = counts.get(&start);
                let count = row.map_or(0, |r| r.iter().sum());
                let by = row
                    .map(|r| {
                        values
                            .iter()
                            .zip(r)
                            .filter(|(_, &n)| n > 0)
                            .map(|(v, &n)| (v.clone(), n))
                            .collect()
                    })
                    .unwrap_or_default();
                let total = all.map(|_| everything.get(&start).copied().unwrap_or(0));
                buckets.push(Bucket {
                    start: interval.label(start),
                    count,
                    by,
                    all: total,
                    share: total.map(|t| if t == 0 { 0.0 } else { count as f64 / t as f64 }),
                });
                start = interval.next(start);
            }
        }
        Ok(Histogram {
            interval,
            split: request.split,
            values,
            buckets,
            imprecise,
            undated,
            normalized: all.is_some(),
        })
    }

    /// Every unit counted: the buckets, `imprecise` and `undated`.
    pub fn total(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum::<u64>() + self.imprecise + self.undated
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("interval", &self.interval)?;
        m.serialize_entry("split", self.split.as_str())?;
        m.serialize_entry("values", &self.values)?;
        let by_key = format!("by_{}", self.split.as_str());
        let buckets: Vec<BucketJson> = self
            .buckets
            .iter()
            .map(|b| BucketJson {
                bucket: b,
                by_key: &by_key,
            })
            .collect();
        m.serialize_entry("buckets", &buckets)?;
        m.serialize_entry("imprecise", &self.imprecise)?;
        m.serialize_entry("undated", &self.undated)?;
        m.serialize_entry("normalized", &self.normalized)?;
        m.end()
    }
}

/// A bucket as JSON: its split counts under `by_<split>` (`by_stance`).
struct BucketJson<'a> {
    bucket: &'a Bucket,
    by_key: &'a str,
}

impl Serialize for BucketJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let b = self.bucket;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("start", &b.start)?;
        m.serialize_entry("count", &b.count)?;
        let by: BTreeMap<&str, u64> = b.by.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        m.serialize_entry(self.by_key, &by)?;
        if let (Some(all), Some(share)) = (b.all, b.share) {
            m.serialize_entry("all", &all)?;
            m.serialize_entry("share", &share)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["center", "left", "right"].map(String::from).to_vec()
    }

    fn tally(rows: &[(u64, u64, u32, u64)]) -> DateTally {
        let mut t = DateTally::default();
        for &(f, to, v, n) in rows {
            t.add((f, to, v), n);
        }
        t
    }

    fn month() -> HistogramRequest {
        HistogramRequest {
            interval: IntervalChoice::Fixed(Interval::Month),
            ..HistogramRequest::default()
        }
    }

    #[test]
    fn coarse_dates_are_imprecise_and_missing_ones_undated() {
        let t = tally(&[
            (20191003, 20191003, 1, 2),
            (20191020, 20191020, 2, 1),
            (20191001, 20191031, 0, 4), // month only: fits a month
            (20190101, 20191231, 1, 3), // year only: coarser
            (20191201, 20191201, 1, 1),
            (0, 0, 0, 5),
        ]);
        let h = Histogram::build(&month(), &t, &names(), None).unwrap();
        assert_eq!(h.total(), t.total());
        assert_eq!((h.imprecise, h.undated), (3, 5));
        let starts: Vec<&str> = h.buckets.iter().map(|b| b.start.as_str()).collect();
        assert_eq!(starts, ["2019-10", "2019-11", "2019-12"]);
        assert_eq!(h.buckets[0].count, 7);
        assert_eq!(h.buckets[1].count, 0, "an empty month is shown");
        let by: BTreeMap<_, _> = h.buckets[0].by.iter().cloned().collect();
        assert_eq!(by["left"], 2);
        assert_eq!(by["right"], 1);
        assert_eq!(by["center"], 4);
        // A yearly view takes the year-only date in.
        let year = HistogramRequest {
            interval: IntervalChoice::Fixed(Interval::Year),
            ..month()
        };
        let h = Histogram::build(&year, &t, &names(), None).unwrap();
        assert_eq!(
            (h.buckets.len(), h.buckets[0].count, h.imprecise),
            (1, 11, 0)
        );
    }

    #[test]
    fn weeks_start_on_monday_and_span_years() {
        // 2019-12-30 was a Monday; 2020-01-05 the Sunday of its week.
        let t = tally(&[(20191230, 20191230, 0, 1), (20200105, 20200105, 0, 1)]);
        let week = HistogramRequest {
            interval: IntervalChoice::Fixed(Interval::Week),
            ..month()
        };
        let h = Histogram::build(&week, &t, &names(), None).unwrap();
        assert_eq!(h.buckets.len(), 1);
        assert_eq!(h.buckets[0].start, "2019-12-30");
        assert_eq!(h.buckets[0].count, 2);
        // A month-only date is coarser than a week.
        let t = tally(&[(20191201, 20191231, 0, 1)]);
        let h = Histogram::build(&week, &t, &names(), None).unwrap();
        assert_eq!(h.imprecise, 1);
    }

    #[test]
    fn auto_picks_a_readable_interval() {
        let pick = |rows: &[(u64, u64, u32, u64)]| {
            let h = Histogram::build(&HistogramRequest::default(), &tally(rows), &names(), None);
            h.unwrap().interval
        };
        assert_eq!(
            pick(&[(20191001, 20191001, 0, 1), (20191030, 20191030, 0, 1)]),
            Interval::Day
        );
        assert_eq!(
            pick(&[(20190101, 20190101, 0, 1), (20191230, 20191230, 0, 1)]),
            Interval::Week
        );
        assert_eq!(
            pick(&[(20150101, 20150101, 0, 1), (20191230, 20191230, 0, 1)]),
            Interval::Month
        );
        assert_eq!(
            pick(&[(20000101, 20000101, 0, 1), (20191230, 20191230, 0, 1)]),
            Interval::Year
        );
    }

    #[test]
    fn shares_divide_by_every_unit_of_the_bucket() {
        let hits = tally(&[(20191003, 20191003, 1, 2), (20191105, 20191105, 1, 1)]);
        let all = tally(&[
            (20191003, 20191003, 1, 8),
            (20191009, 20191009, 0, 2),
            (20191105, 20191105, 1, 4),
        ]);
        let h = Histogram::build(&month(), &hits, &names(), Some(&all)).unwrap();
        assert_eq!(h.buckets[0].all, Some(10));
        assert_eq!(h.buckets[0].share, Some(0.2));
        assert_eq!(h.buckets[1].share, Some(0.25));
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json["buckets"][0]["by_stance"]["left"], 2);
        assert_eq!(json["buckets"][0]["share"], 0.2);
        assert_eq!(json["interval"], "month");
    }

    #[test]
    fn values_past_the_top_are_other() {
        let outlets: Vec<String> = (0..8).map(|i| format!("outlet {i}")).collect();
        let rows: Vec<(u64, u64, u32, u64)> = (0..8)
            .map(|i| (20191003, 20191003, i as u32, 10 - i as u64))
            .collect();
        let req = HistogramRequest {
            split: FacetField::Outlet,
            split_top: 3,
            ..month()
        };
        let h = Histogram::build(&req, &tally(&rows), &outlets, None).unwrap();
        assert_eq!(h.values, ["outlet 0", "outlet 1", "outlet 2", "other"]);
        let other = h.buckets[0].by.iter().find(|(v, _)| v == OTHER).unwrap().1;
        assert_eq!(other, (3..8).map(|i| 10 - i).sum::<u64>());
        let json = serde_json::to_value(&h).unwrap();
        assert!(json["buckets"][0]["by_outlet"].is_object());
    }

    #[test]
    fn too_many_buckets_are_refused_and_bad_names_explained() {
        let t = tally(&[(19000101, 19000101, 0, 1), (20250101, 20250101, 0, 1)]);
        let day = HistogramRequest {
            interval: IntervalChoice::Fixed(Interval::Day),
            ..month()
        };
        let err = Histogram::build(&day, &t, &names(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("coarser interval"), "{err}");
        assert!(IntervalChoice::parse("fortnight").is_err());
        assert!(HistogramRequest::split_field("author").is_err());
        assert_eq!(
            HistogramRequest::split_field("Outlet").unwrap(),
            FacetField::Outlet
        );
    }
}
