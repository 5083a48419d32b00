//! People's names: author aliases and the forgiving author filter.
//!
//! Names are compared by a *key*: the name analyzer's words joined by a
//! space, so case, accents, apostrophes and punctuation do not matter
//! ("Ze’ev Khanin", "zeev khanin" and "ZE'EV KHANIN" share one key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::analysis;

/// The comparison key of a name.
pub fn key(name: &str) -> String {
    analysis::name_key(name)
}

/// Canonical author names and their aliases, as configured in
/// `[authors]` of index-config (`"Alex Grinberg" = ["Alexander Grinberg"]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorAliases {
    /// canonical name -> aliases
    pub canonical: BTreeMap<String, Vec<String>>,
}

impl AuthorAliases {
    /// The canonical form of an author name: the configured canonical name
    /// when the name (by key) is one of its aliases, else the name as given.
    pub fn resolve(&self, name: &str) -> String {
        let k = key(name);
        for (canonical, aliases) in &self.canonical {
            if key(canonical) == k || aliases.iter().any(|a| key(a) == k) {
                return canonical.clone();
            }
        }
        name.trim().to_string()
    }

    /// Every key under which a canonical name is known (itself and aliases).
    fn keys_of<'a>(&'a self, canonical: &'a str) -> impl Iterator<Item = String> + 'a {
        std::iter::once(key(canonical)).chain(
            self.canonical
                .get(canonical)
                .into_iter()
                .flatten()
                .map(|a| key(a)),
        )
    }

    /// The known authors that a filter value selects: an exact name or
    /// alias (by key), or a part of a name made of whole words — a surname
    /// alone ("grinberg") selects every author it names. Empty when none.
    pub fn select<'a>(&self, known: &'a [String], wanted: &str) -> Vec<&'a str> {
        let keys: Vec<String> = known.iter().map(|k| key(k)).collect();
        self.select_keyed(known, &keys, wanted)
    }

    /// As [`select`](Self::select), with the keys of `known` computed
    /// beforehand (a corpus has thousands of authors; keys cost an
    /// analyzer run each).
    pub fn select_keyed<'a>(
        &self,
        known: &'a [String],
        known_keys: &[String],
        wanted: &str,
    ) -> Vec<&'a str> {
        let want = key(wanted);
        if want.is_empty() {
            return Vec::new();
        }
        let aliases_of = |name: &String| -> Vec<String> {
            self.canonical
                .get(name)
                .into_iter()
                .flatten()
                .map(|a| key(a))
                .collect()
        };
        let exact: Vec<&str> = known
            .iter()
            .zip(known_keys)
            .filter(|(k, own)| **own == want || aliases_of(k).contains(&want))
            .map(|(k, _)| k.as_str())
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        let want_words: Vec<&str> = want.split(' ').collect();
        let has_run = |alias: &str| {
            let words: Vec<&str> = alias.split(' ').collect();
            contains_run(&words, &want_words)
        };
        known
            .iter()
            .zip(known_keys)
            .filter(|(k, own)| has_run(own) || aliases_of(k).iter().any(|a| has_run(a)))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// Known names closest to an unmatched filter value, best first.
    pub fn closest<'a>(&self, known: &'a [String], wanted: &str, n: usize) -> Vec<&'a str> {
        let want = key(wanted);
        let mut scored: Vec<(f64, &str)> = known
            .iter()
            .map(|k| {
                let best = self
                    .keys_of(k)
                    .flat_map(|alias| {
                        let whole = strsim::jaro_winkler(&alias, &want);
                        let word = alias
                            .split(' ')
                            .map(|w| strsim::jaro_winkler(w, &want))
                            .fold(0.0, f64::max);
                        [whole, word]
                    })
                    .fold(0.0, f64::max);
                (best, k.as_str())
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored.into_iter().take(n).map(|(_, k)| k).collect()
    }
}

/// Whether `needle` occurs as a contiguous run of whole words in `hay`.
fn contains_run(hay: &[&str], needle: &[&str]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases() -> AuthorAliases {
        let mut canonical = BTreeMap::new();
        canonical.insert(
            "Alex Grinberg".to_string(),
            vec![
                "Alexander Grinberg".to_string(),
                "Capt. (res.) Alexander Grinberg".to_string(),
            ],
        );
        canonical.insert(
            "Zeev (Vladimir) Khanin".to_string(),
            vec!["Ze’ev Khanin".to_string(), "Zeev Khanin".to_string()],
        );
        AuthorAliases { canonical }
    }

    #[test]
    fn keys_ignore_case_accents_and_apostrophes() {
        assert_eq!(key("Ze’ev Khanin"), key("ZEEV khanin"));
        assert_eq!(key("Ze'ev Khanin"), "zeev khanin");
        assert_eq!(key("Recep Erdoğan"), "recep erdogan");
    }

    #[test]
    fn aliases_resolve_to_the_canonical_name() {
        let a = aliases();
        assert_eq!(
            a.resolve("Capt. (res.) Alexander Grinberg"),
            "Alex Grinberg"
        );
        assert_eq!(a.resolve("ze'ev khanin"), "Zeev (Vladimir) Khanin");
        assert_eq!(a.resolve("Ayoob Kara"), "Ayoob Kara");
    }

    #[test]
    fn filter_accepts_surname_alias_and_any_case() {
        let a = aliases();
        let known = vec![
            "Alex Grinberg".to_string(),
            "Joseph Epstein".to_string(),
            "Zeev (Vladimir) Khanin".to_string(),
        ];
        assert_eq!(a.select(&known, "grinberg"), vec!["Alex Grinberg"]);
        assert_eq!(a.select(&known, "Khanin"), vec!["Zeev (Vladimir) Khanin"]);
        assert_eq!(
            a.select(&known, "Ze’ev Khanin"),
            vec!["Zeev (Vladimir) Khanin"]
        );
        assert_eq!(
            a.select(&known, "Alexander Grinberg"),
            vec!["Alex Grinberg"]
        );
        assert!(a.select(&known, "Grinber").is_empty());
        assert_eq!(a.closest(&known, "Grinbreg", 1), vec!["Alex Grinberg"]);
    }
}
