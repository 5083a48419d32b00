//! A request's filters resolved against the index: forgiving names
//! (case, accents, aliases, a surname alone) to the values the index
//! holds, kinds checked, dates turned into day bounds.

use super::collector::{FacetValues, ResolvedFilters};
use super::request::Filters;
use super::searcher::Searcher;
use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::model::date::{date_span, normalise_date};
use crate::model::UnitKind;
use crate::text::names::AuthorAliases;

impl Searcher {
    /// Resolves user filter values to indexed values, forgivingly; a value
    /// that selects nothing is an error that lists the closest values.
    pub(super) fn resolve_filters(
        &self,
        searcher: &tantivy::Searcher,
        filters: &Filters,
        any_kind: bool,
    ) -> Result<ResolvedFilters> {
        let mut resolved = ResolvedFilters::default();
        let needs_catalog = FacetField::ALL
            .iter()
            .any(|&f| f != FacetField::Kind && !filters.values(f).is_empty());
        let catalog = if needs_catalog {
            Some(self.catalog(searcher)?)
        } else {
            None
        };
        for field in FacetField::ALL {
            let wanted = filters.values(field);
            if field == FacetField::Kind {
                if !(any_kind && wanted.is_empty()) {
                    resolved.facets.push((field, resolve_kinds(wanted)?));
                }
                continue;
            }
            if wanted.is_empty() {
                continue;
            }
            let catalog = catalog
                .as_ref()
                .expect("catalog loaded when a filter is set");
            let mut values = Vec::new();
            for w in wanted {
                values.extend(
                    self.resolve_value(catalog, field, w)
                        .map_err(Error::Filter)?,
                );
            }
            values.sort();
            values.dedup();
            resolved.facets.push((field, values));
        }
        resolved.since = date_bound(filters.since.as_deref(), "since")?;
        resolved.until = date_bound(filters.until.as_deref(), "until")?;
        Ok(resolved)
    }

    /// The indexed values a user's value selects: forgiving for names
    /// (case, accents, aliases, a surname alone), exact for kinds; none is
    /// an error that lists the closest values.
    pub(super) fn resolve_value(
        &self,
        catalog: &FacetValues,
        field: FacetField,
        wanted: &str,
    ) -> std::result::Result<Vec<String>, String> {
        if field == FacetField::Kind {
            return resolve_kinds(&[wanted.to_string()]).map_err(|e| e.to_string());
        }
        let mut known: Vec<String> = catalog.values.get(&field).cloned().unwrap_or_default();
        let mut keys: Vec<String> = catalog.keys(field).to_vec();
        if field == FacetField::Stance {
            for (s, _) in &self.info().stances {
                if !known.contains(s) {
                    known.push(s.clone());
                    keys.push(crate::text::names::key(s));
                }
            }
        }
        let no_aliases = AuthorAliases::default();
        let aliases = if field == FacetField::Author {
            &self.info().authors
        } else {
            &no_aliases
        };
        resolve_among(&known, &keys, aliases, field, wanted)
    }
}

/// The values of `known` (with their name keys, `keys`) that a user's
/// value selects, forgivingly (case, accents, `aliases`, a surname alone);
/// none is an error that lists the closest values (also how a cluster's
/// values are resolved).
pub(crate) fn resolve_among(
    known: &[String],
    keys: &[String],
    aliases: &AuthorAliases,
    field: FacetField,
    wanted: &str,
) -> std::result::Result<Vec<String>, String> {
    let selected = aliases.select_keyed(known, keys, wanted);
    if selected.is_empty() {
        let closest = aliases.closest(known, wanted, 3);
        let hint = if closest.is_empty() {
            "the index holds none".to_string()
        } else {
            format!("closest: {}", closest.join(", "))
        };
        return Err(format!(
            "no {} matches \"{wanted}\" ({hint}); `nutgraf facets {}` lists them all",
            field.as_str(),
            field.as_str()
        ));
    }
    Ok(selected.into_iter().map(str::to_string).collect())
}

/// `--since` (the first day a date covers) or `--until` (the last) as a
/// `YYYYMMDD` number.
fn date_bound(date: Option<&str>, flag: &str) -> Result<Option<u64>> {
    let Some(d) = date else {
        return Ok(None);
    };
    let (first, last) = normalise_date(d)
        .and_then(|n| date_span(&n))
        .ok_or_else(|| {
            Error::Filter(format!(
                "--{flag} {d}: not a date; write YYYY, YYYY-MM or YYYY-MM-DD"
            ))
        })?;
    Ok(Some(if flag == "until" { last } else { first }))
}

/// The kinds a search covers: those asked for, or by default the kinds
/// searched by default; an unknown kind is an error that lists them.
fn resolve_kinds(wanted: &[String]) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(UnitKind::ALL
            .iter()
            .filter(|k| k.searched_by_default())
            .map(|k| k.as_str().to_string())
            .collect());
    }
    wanted
        .iter()
        .map(|w| {
            UnitKind::parse(w)
                .map(|k| k.as_str().to_string())
                .ok_or_else(|| {
                    let all: Vec<&str> = UnitKind::ALL.iter().map(|k| k.as_str()).collect();
                    Error::Filter(format!("no kind \"{w}\"; kinds are: {}", all.join(", ")))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::text::names::key;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn among(known: &[&str], aliases: &AuthorAliases, wanted: &str) -> Result<Vec<String>, String> {
        let known = strings(known);
        let keys: Vec<String> = known.iter().map(|k| key(k)).collect();
        resolve_among(&known, &keys, aliases, FacetField::Author, wanted)
    }

    #[test]
    fn a_value_selects_by_name_key_surname_or_alias() {
        let known = ["Alex Grinberg", "Ze’ev Khanin", "Anna Grinberg", "Fox News"];
        let none = AuthorAliases::default();
        assert_eq!(
            among(&known, &none, "zeev KHANIN").unwrap(),
            ["Ze’ev Khanin"]
        );
        let mut both = among(&known, &none, "grinberg").unwrap();
        both.sort();
        assert_eq!(both, ["Alex Grinberg", "Anna Grinberg"]);
        // A part of a word is not a name.
        assert!(among(&known, &none, "grin").is_err());
        let aliases = AuthorAliases {
            canonical: BTreeMap::from([(
                "Alex Grinberg".to_string(),
                vec!["Alexander Grinberg".to_string()],
            )]),
        };
        assert_eq!(
            among(&known, &aliases, "alexander grinberg").unwrap(),
            ["Alex Grinberg"]
        );
    }

    #[test]
    fn a_value_that_selects_nothing_names_the_closest() {
        let said = among(
            &["Alex Grinberg", "Anna Smith"],
            &AuthorAliases::default(),
            "Grinburg",
        )
        .unwrap_err();
        assert!(said.starts_with("no author matches \"Grinburg\""), "{said}");
        assert!(said.contains("closest: Alex Grinberg"), "{said}");
        assert!(said.contains("`nutgraf facets author`"), "{said}");
        let empty = among(&[], &AuthorAliases::default(), "anyone").unwrap_err();
        assert!(empty.contains("the index holds none"), "{empty}");
    }

    #[test]
    fn kinds_default_to_those_searched_by_default() {
        let default = resolve_kinds(&[]).unwrap();
        assert!(default.contains(&"body".to_string()));
        assert!(!default.contains(&"caption".to_string()));
        assert!(!default.contains(&"disclaimer".to_string()));
        assert_eq!(resolve_kinds(&strings(&["Caption"])).unwrap(), ["caption"]);
        let unknown = resolve_kinds(&strings(&["footnote"]))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("no kind \"footnote\"") && unknown.contains("body"),
            "{unknown}"
        );
    }

    #[test]
    fn dates_bound_from_their_first_or_to_their_last_day() {
        assert_eq!(date_bound(None, "since").unwrap(), None);
        assert_eq!(
            date_bound(Some("2025-03"), "since").unwrap(),
            Some(20250301)
        );
        assert_eq!(
            date_bound(Some("2025-03"), "until").unwrap(),
            Some(20250331)
        );
        assert_eq!(
            date_bound(Some("2024-02"), "until").unwrap(),
            Some(20240229)
        );
        assert_eq!(date_bound(Some("2025"), "until").unwrap(), Some(20251231));
        let bad = date_bound(Some("March"), "since").unwrap_err().to_string();
        assert!(bad.contains("--since March: not a date"), "{bad}");
    }
}
