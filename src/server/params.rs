//! A request's query string read into a search request: every parameter
//! checked, with the reason when one is refused.

use crate::search::histogram::DEFAULT_SPLIT_TOP;
use crate::search::{
    Filters, HistogramRequest, IntervalChoice, SearchRequest, DEFAULT_FACET_LIMIT,
};

use super::errors::ApiError;
use super::{MAX_FACET_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS};

/// Query-string pairs, decoded; keys may repeat (`outlet=A&outlet=B`).
pub(super) fn pairs(raw: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn number(
    pairs: &[(String, String)],
    key: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == key) else {
        return Ok(default);
    };
    let n: usize = v
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{key}={v:?} is not a whole number")))?;
    if n > max {
        return Err(ApiError::bad_request(format!(
            "{key}={n} is too large: at most {max}"
        )));
    }
    Ok(n)
}

/// Parses `/api/search`'s parameters into a request.
pub fn search_request(raw: Option<String>) -> Result<SearchRequest, ApiError> {
    let pairs = pairs(raw);
    let mut filters = Filters::default();
    let mut query = String::new();
    let mut explain = false;
    let mut collapse = false;
    let mut histogram: Option<HistogramRequest> = None;
    for (k, v) in &pairs {
        match k.as_str() {
            "q" => query = v.clone(),
            // An empty date field of the page's form means no date.
            "since" | "until" if v.is_empty() => {}
            "limit" | "offset" | "facet_limit" => {}
            "explain" => explain = switch(k, v)?,
            "collapse" => collapse = switch(k, v)?,
            "histogram" if v.is_empty() => {}
            "histogram" => {
                histogram
                    .get_or_insert_with(HistogramRequest::default)
                    .interval =
                    IntervalChoice::parse(v).map_err(|e| ApiError::bad_request(e.to_string()))?
            }
            "normalize" => {
                if switch(k, v)? {
                    histogram
                        .get_or_insert_with(HistogramRequest::default)
                        .normalize = true;
                }
            }
            "split" => {
                histogram
                    .get_or_insert_with(HistogramRequest::default)
                    .split = HistogramRequest::split_field(v)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?
            }
            "split_top" => {}
            key => {
                if !filters.set(key, v.clone()) {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter {key:?}: use q, {}, limit, offset, facet_limit, explain, collapse, histogram, normalize, split, split_top",
                        Filters::KEYS.join(", ")
                    )));
                }
            }
        }
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "the query is {} characters long: at most {MAX_QUERY_CHARS}",
            query.chars().count()
        )));
    }
    let limit = number(&pairs, "limit", 10, MAX_LIMIT)?;
    if limit == 0 {
        return Err(ApiError::bad_request("limit=0: ask for at least 1 hit"));
    }
    Ok(SearchRequest {
        query,
        filters,
        limit,
        offset: number(&pairs, "offset", 0, MAX_OFFSET)?,
        facet_limit: number(&pairs, "facet_limit", DEFAULT_FACET_LIMIT, MAX_FACET_LIMIT)?,
        deadline: None,
        explain,
        collapse,
        histogram: match histogram {
            Some(h) => Some(HistogramRequest {
                split_top: number(&pairs, "split_top", DEFAULT_SPLIT_TOP, MAX_FACET_LIMIT)?,
                ..h
            }),
            None => None,
        },
    })
}

/// A yes-or-no parameter: `true`/`1` or `false`/`0`/empty.
fn switch(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{key}={value:?}: use {key}=true or {key}=false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn req(q: &str) -> Result<SearchRequest, ApiError> {
        search_request(Some(q.to_string()))
    }

    #[test]
    fn repeated_filters_and_paging() {
        let r = req("q=Section+907&outlet=JNS&outlet=The%20New%20Arab&limit=5&offset=10").unwrap();
        assert_eq!(r.query, "Section 907");
        assert_eq!(r.filters.outlet, ["JNS", "The New Arab"]);
        assert_eq!((r.limit, r.offset), (5, 10));
    }

    #[test]
    fn bad_parameters_are_rejected_with_a_reason() {
        for (q, needle) in [
            ("q=x&limit=101", "at most 100"),
            ("q=x&limit=ten", "not a whole number"),
            ("q=x&limit=0", "at least 1"),
            ("q=x&facet_limit=10001", "at most 10000"),
            ("q=x&facet_limit=-1", "not a whole number"),
            ("q=x&colour=red", "unknown parameter"),
        ] {
            let e = req(q).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.message.contains(needle), "{q}: {}", e.message);
        }
        let long = format!("q={}", "a".repeat(MAX_QUERY_CHARS + 1));
        assert!(req(&long).unwrap_err().message.contains("at most 1000"));
    }
}
