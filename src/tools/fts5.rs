//! SQLite FTS5 as a yardstick for `nutgraf bench --sqlite`: the same units
//! in an FTS5 table (porter stemming, accents removed), the same queries
//! answered the way an application on SQLite would — top 10 by `bm25()`
//! with `snippet()`, then one `GROUP BY` per facet for the counts — so the
//! speed ratio is measured on one machine in one run, not claimed.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params_from_iter, Connection};
use tantivy::DocAddress;

use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::model::UnitKind;
use crate::query::{self, Node, Scope, Sign};
use crate::search::query_file::QueryLine;
use crate::search::Searcher;
use crate::tools::bench::Engine;

/// An FTS5 copy of an index's units.
pub struct Fts5 {
    path: std::path::PathBuf,
    /// Open connections, one per thread at a time.
    pool: Mutex<Vec<Connection>>,
}

fn sql(e: rusqlite::Error) -> Error {
    Error::Input(format!("SQLite: {e}"))
}

impl Fts5 {
    /// Copies every unit of the index into a new SQLite file at `path`.
    pub fn build(searcher: &Searcher, path: &Path) -> Result<(Fts5, usize)> {
        let _ = std::fs::remove_file(path);
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE VIRTUAL TABLE units USING fts5(
               text, title, outlet UNINDEXED, stance UNINDEXED, genre UNINDEXED,
               kind UNINDEXED, authors UNINDEXED, id UNINDEXED,
               tokenize = 'porter unicode61 remove_diacritics 2');",
        )
        .map_err(sql)?;
        let reader = searcher.tantivy_searcher();
        let mut units = searcher.unit_reader(&reader);
        let tx = conn.transaction().map_err(sql)?;
        let mut count = 0;
        {
            let mut insert = tx
                .prepare("INSERT INTO units VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .map_err(sql)?;
            for (ord, segment) in reader.segment_readers().iter().enumerate() {
                for doc in segment.doc_ids_alive() {
                    let unit = units.read(DocAddress::new(ord as u32, doc))?;
                    insert
                        .execute(rusqlite::params![
                            unit.text,
                            unit.title,
                            unit.outlet,
                            unit.stance,
                            unit.genre,
                            unit.kind,
                            unit.authors.join("\u{1f}"),
                            unit.id,
                        ])
                        .map_err(sql)?;
                    count += 1;
                }
            }
        }
        tx.commit().map_err(sql)?;
        conn.execute_batch("INSERT INTO units(units) VALUES ('optimize');")
            .map_err(sql)?;
        Ok((
            Fts5 {
                path: path.to_path_buf(),
                pool: Mutex::new(vec![conn]),
            },
            count,
        ))
    }

    fn connection(&self) -> Result<Connection> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => Connection::open(&self.path).map_err(sql),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

/// A query in nutgraf's syntax as an FTS5 MATCH expression, for the
/// syntax both share (words, phrases, OR, exclusion, groups, prefixes,
/// title:/text:). Facet scopes and fuzzy words have no FTS5 form.
pub fn match_expression(query: &str) -> Result<String> {
    let node = query::parse(query)
        .map_err(|e| Error::Query(e.pointing_into(query)))?
        .ok_or_else(|| Error::Query("FTS5 cannot match an empty query".into()))?;
    expression(&node)
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn expression(node: &Node) -> Result<String> {
    Ok(match node {
        Node::Word {
            text,
            prefix,
            fuzzy: None,
            ..
        } => {
            if *prefix {
                format!("{}*", quoted(text))
            } else {
                quoted(text)
            }
        }
        Node::Phrase { text, slop: 0, .. } => quoted(text),
        Node::Phrase { text, slop, .. } => {
            let words: Vec<String> = text.split_whitespace().map(quoted).collect();
            format!("NEAR({}, {slop})", words.join(" "))
        }
        Node::Scoped {
            scope: scope @ (Scope::Title | Scope::Text),
            node,
        } => {
            let column = if *scope == Scope::Title {
                "title"
            } else {
                "text"
            };
            format!("{column} : ({})", expression(node)?)
        }
        Node::All(clauses) => {
            let mut positive = Vec::new();
            let mut negative = Vec::new();
            for (sign, n) in clauses {
                let e = expression(n)?;
                if *sign == Sign::Excluded {
                    negative.push(e);
                } else {
                    positive.push(e);
                }
            }
            if positive.is_empty() {
                return Err(Error::Query("FTS5 cannot match only exclusions".into()));
            }
            let mut e = format!("({})", positive.join(" AND "));
            for n in negative {
                e = format!("{e} NOT ({n})");
            }
            e
        }
        Node::Any(branches) => {
            let parts: Result<Vec<String>> = branches.iter().map(expression).collect();
            format!("({})", parts?.join(" OR "))
        }
        _ => {
            return Err(Error::Query(
                "this query uses syntax FTS5 does not have (fuzzy or a facet scope)".into(),
            ))
        }
    })
}

impl Engine for Fts5 {
    fn name(&self) -> String {
        "sqlite-fts5".into()
    }

    fn answer(&self, q: &QueryLine) -> Result<u64> {
        let expr = match_expression(&q.request.query)
            .map_err(|e| Error::Input(format!("{}: {e}", q.source)))?;
        // The filters of the request, as SQL; the kinds a search covers
        // by default unless it names some.
        let mut clauses = vec!["units MATCH ?".to_string()];
        let mut params: Vec<String> = vec![expr];
        let f = &q.request.filters;
        let kinds: Vec<String> = if f.kind.is_empty() {
            UnitKind::ALL
                .iter()
                .filter(|k| k.searched_by_default())
                .map(|k| k.as_str().to_string())
                .collect()
        } else {
            f.kind.clone()
        };
        for (column, values) in [
            ("outlet", &f.outlet),
            ("stance", &f.stance),
            ("genre", &f.genre),
            ("kind", &kinds),
        ] {
            if !values.is_empty() {
                clauses.push(format!(
                    "{column} IN ({})",
                    vec!["?"; values.len()].join(", ")
                ));
                params.extend(values.iter().cloned());
            }
        }
        for a in &f.author {
            clauses.push("instr(lower(authors), lower(?)) > 0".into());
            params.push(a.clone());
        }
        let filter = clauses.join(" AND ");
        let conn = self.connection()?;
        let result = (|| -> Result<u64> {
            let mut top = conn
                .prepare_cached(&format!(
                    "SELECT id, snippet(units, 0, '<mark>', '</mark>', '…', 40), bm25(units, 1.0, 2.0) AS rank
                     FROM units WHERE {filter} ORDER BY rank LIMIT 10"
                ))
                .map_err(sql)?;
            let mut rows = top.query(params_from_iter(params.iter())).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let _id: String = row.get(0).map_err(sql)?;
                let _snippet: String = row.get(1).map_err(sql)?;
            }
            let mut total = 0;
            for facet in [
                FacetField::Outlet,
                FacetField::Stance,
                FacetField::Genre,
                FacetField::Kind,
            ] {
                let column = facet.as_str();
                let mut counts = conn
                    .prepare_cached(&format!(
                        "SELECT {column}, count(*) FROM units WHERE {filter} GROUP BY {column}"
                    ))
                    .map_err(sql)?;
                let mut rows = counts.query(params_from_iter(params.iter())).map_err(sql)?;
                let mut sum = 0u64;
                while let Some(row) = rows.next().map_err(sql)? {
                    let n: i64 = row.get(1).map_err(sql)?;
                    sum += n as u64;
                }
                total = sum;
            }
            Ok(total)
        })();
        self.give_back(conn);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_syntax_translates() {
        assert_eq!(match_expression("oil").unwrap(), "\"oil\"");
        assert_eq!(
            match_expression("Section 907").unwrap(),
            "(\"Section\" AND \"907\")"
        );
        assert_eq!(
            match_expression("\"oil needs\" -Iran").unwrap(),
            "(\"oil needs\") NOT (\"Iran\")"
        );
        assert_eq!(
            match_expression("normali* OR title:Baku").unwrap(),
            "(\"normali\"* OR title : (\"Baku\"))"
        );
        assert!(match_expression("Khanin~1").is_err());
        assert!(match_expression("author:grinberg").is_err());
    }
}
