//! `--explain`: each hit's score taken apart, BM25 per word in the
//! paragraph and in the title, and what closeness added.

use std::time::Instant;

use tantivy::query::Query;
use tantivy::DocAddress;

use super::request::timeout;
use super::response::{Explanation, Hit, WordScore};
use super::searcher::Searcher;
use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::query::{self, Node};

impl Searcher {
    /// Takes each hit's score apart: BM25 per word in the paragraph and in
    /// the title, and what closeness added.
    pub(super) fn explain(
        &self,
        searcher: &tantivy::Searcher,
        text: &str,
        node: &Node,
        page: &[(f32, DocAddress, Option<usize>)],
        hits: &mut [Hit],
        started: Instant,
    ) -> Result<()> {
        let catalog = self.catalog(searcher)?;
        let resolve = |field: FacetField, value: &str| self.resolve_value(&catalog, field, value);
        let title_weight = self.title_boost();
        let cx = query::Context {
            searcher,
            fields: self.fields(),
            title_boost: title_weight,
            words: query::Words::All,
            resolve: &resolve,
            deadline: None,
        };
        let (parts, closeness) = query::explained_parts(node, text, &cx).map_err(|e| match e {
            query::CompileError::Invalid(e) => Error::Query(e.pointing_into(text)),
            query::CompileError::Timeout => timeout(started),
        })?;
        // A unit a part does not match scores nothing for it.
        let bm25 =
            |q: &dyn Query, addr: DocAddress| q.explain(searcher, addr).map_or(0.0, |e| e.value());
        for (hit, &(score, addr, _)) in hits.iter_mut().zip(page) {
            let words: Vec<WordScore> = parts
                .iter()
                .map(|p| {
                    let (text, title) = (
                        bm25(&*p.in_text, addr),
                        bm25(&*p.in_title, addr) * title_weight,
                    );
                    WordScore {
                        word: p.typed.clone(),
                        matched: text > 0.0 || title > 0.0,
                        text,
                        title,
                    }
                })
                .collect();
            hit.explain = Some(Explanation {
                score,
                words,
                title_weight,
                closeness: closeness.iter().map(|q| bm25(&**q, addr)).sum(),
            });
        }
        Ok(())
    }
}
