//! Date histograms (`search --histogram`, API `histogram=`): exact counts
//! per interval, dates coarser than the interval, undated units, shares
//! of all units, the split, on a fixture whose every date is known
//! (tests/fixtures/dates) and on the seeds.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn config() -> PathBuf {
    root().join("tests/fixtures/dates/dates.toml")
}

fn index() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    fixture_index(&DIR, &config())
}

fn histogram(args: &[&str]) -> Value {
    let mut all = vec!["search", "budget", "--json"];
    all.extend_from_slice(args);
    let v = json_on(&config(), index(), &all);
    let h = v["histogram"].clone();
    assert!(h.is_object(), "no histogram in {v}");
    // Whatever the interval: every hit is in a bucket, imprecise or undated.
    let in_buckets: u64 = buckets(&h).values().map(|(n, _)| n).sum();
    let total = in_buckets + h["imprecise"].as_u64().unwrap() + h["undated"].as_u64().unwrap();
    assert_eq!(total, v["total_hits"].as_u64().unwrap(), "{h}");
    h
}

/// start -> (count, by split value).
fn buckets(h: &Value) -> BTreeMap<String, (u64, BTreeMap<String, u64>)> {
    let by = format!("by_{}", h["split"].as_str().unwrap());
    h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let split = b[&by]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
                .collect();
            (
                b["start"].as_str().unwrap().to_string(),
                (b["count"].as_u64().unwrap(), split),
            )
        })
        .collect()
}

fn counts(h: &Value) -> Vec<(String, u64)> {
    buckets(h).into_iter().map(|(s, (n, _))| (s, n)).collect()
}

fn pairs(p: &[(&str, u64)]) -> Vec<(String, u64)> {
    p.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

#[test]
fn months_count_each_hit_once_and_coarser_dates_apart() {
    // By hand: d1 (2019-09-30) in September; d2, d3's two paragraphs and
    // the month-only d4 in October; the year-only d5 is imprecise and d6
    // has no date.
    let h = histogram(&["--histogram=month"]);
    assert_eq!(h["interval"], "month");
    assert_eq!(counts(&h), pairs(&[("2019-09", 1), ("2019-10", 4)]));
    assert_eq!(
        (h["imprecise"].as_u64(), h["undated"].as_u64()),
        (Some(1), Some(1))
    );
    let october = &buckets(&h)["2019-10"].1;
    assert_eq!(october["right"], 2);
    assert_eq!(october["left"], 1);
    assert_eq!(october["center"], 1);
}

#[test]
fn weeks_start_on_monday_and_keep_empty_weeks() {
    // 2019-09-30 was a Monday and 2019-10-02 its Wednesday; 2019-10-15 is
    // in the week of the 14th. A month-only date is coarser than a week.
    let h = histogram(&["--histogram=week"]);
    assert_eq!(
        counts(&h),
        pairs(&[("2019-09-30", 2), ("2019-10-07", 0), ("2019-10-14", 2)])
    );
    assert_eq!(
        (h["imprecise"].as_u64(), h["undated"].as_u64()),
        (Some(2), Some(1))
    );
    let days = histogram(&["--histogram=day"]);
    assert_eq!(
        days["buckets"].as_array().unwrap().len(),
        16,
        "Sep 30 to Oct 15"
    );
    assert_eq!(days["imprecise"], 2);
    let years = histogram(&["--histogram=year"]);
    assert_eq!(counts(&years), pairs(&[("2019", 6)]));
    assert_eq!(years["imprecise"], 0);
}

#[test]
fn auto_avoids_an_interval_most_dates_are_too_coarse_for() {
    // Two of six dated hits are coarser than a day or a week: auto still
    // picks days (16 buckets, a third imprecise).
    let h = histogram(&["--histogram"]);
    assert_eq!(h["interval"], "day");
    // Only the month-only d4 is left: a daily or weekly view would hold
    // nothing, so auto picks months.
    let h = histogram(&["--histogram", "--since", "2019-10", "--stance", "center"]);
    assert_eq!(h["interval"], "month");
    assert_eq!(counts(&h), pairs(&[("2019-10", 1)]));
}

#[test]
fn shares_divide_by_every_unit_of_the_bucket_under_the_same_filters() {
    // All units (no query) in September: d1's two paragraphs; in October:
    // d2, d3 (two), d4 and d8.
    let h = histogram(&["--histogram=month", "--normalize"]);
    let b = h["buckets"].as_array().unwrap();
    assert_eq!(
        (b[0]["all"].as_u64(), b[0]["share"].as_f64()),
        (Some(2), Some(0.5))
    );
    assert_eq!(
        (b[1]["all"].as_u64(), b[1]["share"].as_f64()),
        (Some(5), Some(0.8))
    );
    // The same filters apply to the denominator: only left-leaning units.
    let left = histogram(&["--histogram=month", "--normalize", "--stance", "left"]);
    let b = left["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0]["start"].as_str(), b[0]["all"].as_u64()),
        (Some("2019-10"), Some(1))
    );
    assert_eq!(b[0]["share"].as_f64(), Some(1.0));
}

#[test]
fn a_split_by_outlet_folds_the_rest_into_other() {
    let h = histogram(&["--histogram=month", "--split", "outlet", "--split-top", "1"]);
    assert_eq!(h["split"], "outlet");
    assert_eq!(h["values"], serde_json::json!(["Outlet C", "other"]));
    let october = &buckets(&h)["2019-10"].1;
    assert_eq!(october["Outlet C"], 2);
    assert_eq!(october["other"], 2);
    // Authors are several per unit: refused with the reason.
    let out = nutgraf(&config(), index())
        .args(["search", "budget", "--histogram", "--split", "author"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("several authors"));
}

#[test]
fn date_filters_keep_units_whose_date_overlaps_and_drop_undated_ones() {
    // --since 2019-10 keeps the year-only d5 (2019 may be October or
    // later) and drops d1 (September 30) and the undated d6.
    let h = histogram(&["--histogram=month", "--since", "2019-10"]);
    assert_eq!(counts(&h), pairs(&[("2019-10", 4)]));
    assert_eq!(
        (h["imprecise"].as_u64(), h["undated"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn the_terminal_draws_a_bar_per_bucket_only_when_asked() {
    let out = nutgraf(&config(), index())
        .args(["search", "budget", "--histogram=month"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("By month, split by stance:"), "{text}");
    let october = text
        .lines()
        .find(|l| l.trim_start().starts_with("2019-10 "))
        .expect("a line for October");
    let september = text
        .lines()
        .find(|l| l.trim_start().starts_with("2019-09 "))
        .expect("a line for September");
    let bar = |l: &str| l.chars().filter(|c| "█▓▒░▞·".contains(*c)).count();
    // October holds four times September's hits: its bar is the longest.
    assert!(
        bar(october) >= 3 * bar(september) && bar(september) > 0,
        "{text}"
    );
    assert!(text.contains("not in a bucket: 1 dated more coarsely than a month, 1 undated"));
    let plain = nutgraf(&config(), index())
        .args(["search", "budget"])
        .output()
        .unwrap();
    assert!(!String::from_utf8(plain.stdout)
        .unwrap()
        .contains("By month"));
    let json = json_on(&config(), index(), &["search", "budget", "--json"]);
    assert!(json.get("histogram").is_none());
}

#[test]
fn bad_intervals_are_refused_with_the_choices() {
    let out = nutgraf(&config(), index())
        .args(["search", "budget", "--histogram=fortnight"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("month"), "{err}");
}

#[test]
fn the_api_answers_the_same_histogram() {
    let s = start(&config(), index(), Some("127.0.0.1:0"));
    let get = |q: &str| -> (u16, Value) {
        let r = reqwest::blocking::get(format!("{}/api/search?{q}", s.url)).unwrap();
        (r.status().as_u16(), r.json().unwrap())
    };
    let (status, v) = get("q=budget&histogram=month&normalize=true&split=stance");
    assert_eq!(status, 200);
    let cli = histogram(&["--histogram=month", "--normalize"]);
    assert_eq!(v["histogram"], cli);
    let (status, v) = get("q=budget&histogram=fortnight");
    assert_eq!(status, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("auto, day, week, month, year"),
        "{v}"
    );
    let (_, v) = get("q=budget");
    assert!(v.get("histogram").is_none());
}

#[test]
fn on_the_seeds_months_hold_the_hits_dated_in_them() {
    // Count by hand from the hits themselves: every hit of the query, by
    // the month of its date; year-only dates are imprecise.
    let all = json(&["search", "Azerbaijan", "--limit", "1000", "--json"]);
    let mut by_month: BTreeMap<String, u64> = BTreeMap::new();
    let mut year_only = 0;
    for hit in hits(&all) {
        let date = hit["published"].as_str().unwrap_or_default();
        match date.len() {
            4 => year_only += 1,
            7 | 10 => *by_month.entry(date[..7].to_string()).or_default() += 1,
            _ => panic!("unexpected date {date:?}"),
        }
    }
    let v = json(&["search", "Azerbaijan", "--histogram=month", "--json"]);
    let h = &v["histogram"];
    let got: BTreeMap<String, u64> = counts(h).into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(got, by_month);
    assert_eq!(h["imprecise"].as_u64(), Some(year_only));
    assert!(year_only > 0, "the seeds hold a year-only date");
}
