//! Dates as nutgraf keeps them: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, cleaned
//! from the forms collections use, and the span of days a partial date
//! covers (for `--since` and `--until`).

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real month and day; returns
/// the date as written (zero-padded) or None.
pub fn normalise_date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    if parts.is_empty() || parts.len() > 3 || parts[0].len() != 4 {
        return None;
    }
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    let nums = nums?;
    let year = nums[0];
    let month = nums.get(1).copied();
    let day = nums.get(2).copied();
    if !(1000..=9999).contains(&year) {
        return None;
    }
    if let Some(m) = month {
        if !(1..=12).contains(&m) {
            return None;
        }
    }
    if let (Some(m), Some(d)) = (month, day) {
        if d < 1 || d > days_in_month(year, m) {
            return None;
        }
    }
    Some(match (month, day) {
        (None, _) => format!("{year:04}"),
        (Some(m), None) => format!("{year:04}-{m:02}"),
        (Some(m), Some(d)) => format!("{year:04}-{m:02}-{d:02}"),
    })
}

/// The first and last day a partial date covers, as `YYYYMMDD` numbers,
/// so that "2025-03" is inside `--since 2025-03-15`.
pub fn date_span(date: &str) -> Option<(u64, u64)> {
    let d = normalise_date(date)?;
    let nums: Vec<u32> = d.split('-').map(|p| p.parse().unwrap_or(0)).collect();
    let y = nums[0];
    let (m0, m1) = nums.get(1).map_or((1, 12), |&m| (m, m));
    let (d0, d1) = nums.get(2).map_or((1, days_in_month(y, m1)), |&d| (d, d));
    let n = |m: u32, d: u32| (y as u64) * 10_000 + (m as u64) * 100 + d as u64;
    Some((n(m0, d0), n(m1, d1)))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The latest year a collection's date may have: next year (by the
/// system clock), so a story dated a little ahead (a time zone, a
/// scheduled piece) is kept while junk like `2050` is not.
pub fn latest_plausible_year() -> i32 {
    static YEAR: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *YEAR.get_or_init(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        year_of_day((secs / 86_400) as i64) + 1
    })
}

/// The (proleptic Gregorian) year of a day counted from 1970-01-01.
fn year_of_day(days: i64) -> i32 {
    (day_ymd(days) / 10_000) as i32
}

/// How precise a date kept by nutgraf is: `day`, `month`, `year`, or
/// `undated` without one.
pub fn date_precision(published: Option<&str>) -> &'static str {
    match published.map(str::len) {
        Some(10) => "day",
        Some(7) => "month",
        Some(4) => "year",
        _ => "undated",
    }
}

/// The day a `YYYYMMDD` number names, counted from 1970-01-01 (for
/// date arithmetic: weeks, gaps between buckets).
pub fn day_number(ymd: u64) -> i64 {
    let (y, m, d) = (
        (ymd / 10_000) as i64,
        ((ymd / 100) % 100) as i64,
        (ymd % 100) as i64,
    );
    // Years counted from March, so the leap day ends a year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `YYYYMMDD` number of a day counted from 1970-01-01.
pub fn day_ymd(days: i64) -> u64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y * 10_000 + m * 100 + d) as u64
}

/// A date as nutgraf keeps it (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`), from the
/// forms collections use; None for junk (`0001`, empty, years before 1900
/// or after [`latest_plausible_year`]).
pub fn clean_date(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    // ISO date-times: the date part.
    let head = raw.split(['T', ' ']).next().unwrap_or(raw);
    let date = normalise_date(head).or_else(|| american_date(head))?;
    let year: i32 = date[..4].parse().ok()?;
    (1900..=latest_plausible_year())
        .contains(&year)
        .then_some(date)
}

/// `M/D/YY` or `M/D/YYYY`.
fn american_date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split('/').collect();
    let [m, d, y] = parts.as_slice() else {
        return None;
    };
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    let y: u32 = match y.len() {
        2 => 2000 + y.parse::<u32>().ok()?,
        4 => y.parse().ok()?,
        _ => return None,
    };
    normalise_date(&format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_validated_and_padded() {
        assert_eq!(normalise_date("2025").as_deref(), Some("2025"));
        assert_eq!(normalise_date("2025-3").as_deref(), Some("2025-03"));
        assert_eq!(normalise_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(normalise_date("2025-02-29"), None);
        assert_eq!(normalise_date("2025-13"), None);
        assert_eq!(normalise_date("March 2025"), None);
        assert_eq!(date_span("2025-03"), Some((20250301, 20250331)));
        assert_eq!(date_span("2025"), Some((20250101, 20251231)));
    }

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(day_number(19700101), 0);
        assert_eq!(day_number(20000301) - day_number(20000228), 2);
        assert_eq!(day_number(19691231), -1);
        for ymd in [19000101, 19700101, 20000229, 20191007, 20251231, 21000301] {
            assert_eq!(day_ymd(day_number(ymd)), ymd);
        }
        // 2019-10-07 was a Monday: (days + 3) mod 7 is 0 on Mondays.
        assert_eq!((day_number(20191007) + 3).rem_euclid(7), 0);
    }

    #[test]
    fn dates_are_cleaned_or_dropped() {
        assert_eq!(clean_date("2016-09-20").as_deref(), Some("2016-09-20"));
        assert_eq!(
            clean_date("2016-09-20T10:00:00Z").as_deref(),
            Some("2016-09-20")
        );
        assert_eq!(clean_date("9/20/16").as_deref(), Some("2016-09-20"));
        assert_eq!(clean_date("2016-09").as_deref(), Some("2016-09"));
        assert_eq!(clean_date("0001"), None);
        assert_eq!(clean_date("2050-01-01"), None);
        // Up to next year by the clock, not a fixed 2030.
        let next = latest_plausible_year();
        assert!(next >= 2026, "{next}");
        let ahead = format!("{next}-01-15");
        assert_eq!(clean_date(&ahead).as_deref(), Some(ahead.as_str()));
        assert_eq!(clean_date(&format!("{}-01-15", next + 1)), None);
        assert_eq!(clean_date("2016-13-01"), None);
        assert_eq!(clean_date("yesterday"), None);
    }

    #[test]
    fn years_of_days() {
        assert_eq!(year_of_day(0), 1970);
        assert_eq!(year_of_day(-1), 1969);
        // 2000-02-29 and 2000-12-31, 2001-01-01.
        assert_eq!(year_of_day(11_016), 2000);
        assert_eq!(year_of_day(11_322), 2000);
        assert_eq!(year_of_day(11_323), 2001);
        // 2031-01-01.
        assert_eq!(year_of_day(22_280), 2031);
        assert_eq!(year_of_day(22_279), 2030);
    }
}
