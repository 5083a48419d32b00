//! Ranking quality on a public test collection in BEIR's format
//! (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`): nDCG@10,
//! Recall@100 and MRR@10, computed as trec_eval does (linear gains).
//!
//! Each corpus document becomes one unit whose text is its title and
//! abstract (one field, as the published flat BM25 baselines index them);
//! the title is also indexed on its own and can weigh extra. A query is
//! its words, any of which may match, ranked by BM25 — the same analysis
//! and scoring as `search`, without the query syntax (claims are prose).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use crate::error::{Error, Result};
use crate::index::schema::SCHEMA_VERSION;
use crate::index::{stored_str, IndexInfo, UnitIndex, UnitWriter};
use crate::model::document::Document;
use crate::model::unit::Unit;
use crate::model::UnitKind;
use crate::query::{Bm25Params, TunedTerm};
use crate::search::Searcher;
use crate::text::analysis;

/// How deep each query's ranking is read (Recall@100).
const DEPTH: usize = 100;

/// How an evaluation runs.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The qrels split: `test`, `train`, `dev`.
    pub split: String,
    /// Extra weight of a title match (0 = the title only counts as part
    /// of the text). Chosen on SciFact's train split; see README.
    pub title_boost: f32,
    /// Weight of each pair of the query's neighbouring words found side
    /// by side (search's closeness; 0: none). Chosen on SciFact's train
    /// split.
    pub pair_weight: f32,
    /// BM25's k1 and b.
    pub bm25: Bm25Params,
    /// Indexing memory budget in MiB.
    pub memory_budget_mb: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            split: "test".into(),
            title_boost: DEFAULT_TITLE_BOOST,
            pair_weight: DEFAULT_PAIR_WEIGHT,
            bm25: Bm25Params::default(),
            memory_budget_mb: 256,
        }
    }
}

/// The title boost that did best on SciFact's train split.
pub const DEFAULT_TITLE_BOOST: f32 = 0.15;
/// The pair weight that did best on SciFact's train split.
pub const DEFAULT_PAIR_WEIGHT: f32 = 0.1;

/// Scores of one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryScores {
    pub query_id: String,
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
}

/// `eval --json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
    pub queries: usize,
    pub split: String,
    pub documents: usize,
    pub title_boost: f32,
    pub pair_weight: f32,
    pub k1: f32,
    pub b: f32,
    pub per_query: Vec<QueryScores>,
}

#[derive(Deserialize)]
struct CorpusLine {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct QueryLine {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

fn open(path: &Path, what: &str) -> Result<BufReader<File>> {
    File::open(path).map(BufReader::new).map_err(|e| Error::Io {
        context: format!(
            "{}: cannot read the {what} (a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv)",
            path.display()
        ),
        source: e,
    })
}

fn lines_of<T: for<'de> Deserialize<'de>>(path: &Path, what: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for (i, line) in open(path, what)?.lines().enumerate() {
        let line = line.map_err(|e| Error::Io {
            context: format!("{}:{}", path.display(), i + 1),
            source: e,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| {
            Error::Input(format!(
                "{}:{}: not a {what} line: {e}",
                path.display(),
                i + 1
            ))
        })?);
    }
    Ok(out)
}

/// Relevance judgments: query id -> document id -> grade.
pub type Qrels = BTreeMap<String, HashMap<String, u32>>;

/// Reads `qrels/<split>.tsv` (a header line, tab-separated, CRLF or LF).
pub fn read_qrels(path: &Path) -> Result<Qrels> {
    let mut qrels = Qrels::new();
    for (i, line) in open(path, "relevance judgments")?.lines().enumerate() {
        let line = line.map_err(|e| Error::Io {
            context: format!("{}:{}", path.display(), i + 1),
            source: e,
        })?;
        let cols: Vec<&str> = line.trim_end().split('\t').collect();
        if cols.len() < 3 || (i == 0 && cols[2].parse::<i64>().is_err()) {
            continue;
        }
        let grade: i64 = cols[2].parse().map_err(|_| {
            Error::Input(format!(
                "{}:{}: the score {:?} is not a number",
                path.display(),
                i + 1,
                cols[2]
            ))
        })?;
        if grade > 0 {
            qrels
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[1].to_string(), grade as u32);
        }
    }
    Ok(qrels)
}

/// nDCG@k with linear gains (trec_eval's `ndcg_cut`).
pub fn ndcg(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| f64::from(relevant.get(d).copied().unwrap_or(0)) * discount(i))
        .sum();
    let mut ideal: Vec<u32> = relevant.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| f64::from(*g) * discount(i))
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Share of the relevant documents found in the first k.
pub fn recall(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| relevant.contains_key(*d))
        .count();
    found as f64 / relevant.len() as f64
}

/// 1 / rank of the first relevant document within the first k.
pub fn reciprocal_rank(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| relevant.contains_key(d))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// Indexes a BEIR corpus into `index_dir` (one unit per document).
pub fn index_corpus(beir: &Path, index_dir: &Path, memory_budget_mb: usize) -> Result<usize> {
    let corpus: Vec<CorpusLine> = lines_of(&beir.join("corpus.jsonl"), "corpus")?;
    let index = UnitIndex::open_or_create(index_dir)?;
    let mut writer = UnitWriter::new(&index, memory_budget_mb, 0)?;
    writer.delete_all()?;
    for line in &corpus {
        let document = Document {
            id: line.id.clone(),
            title: line.title.clone(),
            authors: Vec::new(),
            outlet: "BEIR".into(),
            stance: "neutral".into(),
            genre: "abstract".into(),
            published: None,
            url: None,
            stance_overrides: BTreeMap::new(),
            text: String::new(),
        };
        let text = if line.title.is_empty() {
            line.text.clone()
        } else {
            format!("{}\n{}", line.title, line.text)
        };
        let unit = Unit {
            document: &document,
            paragraph: 1,
            paragraphs_in_doc: 1,
            kind: UnitKind::Body,
            text,
            stance: "neutral",
        };
        writer.put_document(&document, "", std::slice::from_ref(&unit), &[])?;
    }
    let info = IndexInfo {
        schema_version: SCHEMA_VERSION,
        topic: format!("BEIR collection {}", beir.display()),
        stances: vec![("neutral".into(), "a test collection document".into())],
        ..IndexInfo::default()
    };
    writer.commit(&info)?;
    writer.finish()?;
    Ok(corpus.len())
}

/// The ranked document ids for a query in prose: any of its words, BM25,
/// and neighbouring words side by side in the text.
pub fn rank(
    searcher: &Searcher,
    text: &str,
    opts: &EvalOptions,
    depth: usize,
) -> Result<Vec<String>> {
    let fields = searcher.fields();
    let mut counts: BTreeMap<String, f32> = BTreeMap::new();
    for t in analysis::terms(&mut analysis::text_analyzer(), text) {
        *counts.entry(t).or_default() += 1.0;
    }
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    let in_order = analysis::terms_with_positions(&mut analysis::text_analyzer(), text);
    let reader = searcher.tantivy_searcher();
    let top = top_of(
        searcher,
        &bag_query(searcher, &counts, &in_order, opts),
        depth,
    )?;
    let mut ids = Vec::with_capacity(top.len());
    for (_, addr) in top {
        let doc: tantivy::TantivyDocument = reader
            .doc(addr)
            .map_err(|e| Error::tantivy(&searcher.index.dir, e))?;
        ids.push(
            stored_str(&doc, fields.doc_id)
                .unwrap_or_default()
                .to_string(),
        );
    }
    Ok(ids)
}

fn top_of(
    searcher: &Searcher,
    query: &dyn Query,
    depth: usize,
) -> Result<Vec<(f32, tantivy::DocAddress)>> {
    searcher
        .tantivy_searcher()
        .search(query, &TopDocs::with_limit(depth).order_by_score())
        .map_err(|e| Error::tantivy(&searcher.index.dir, e))
}

/// Each word weighed by `weights` in the text (and the title), and the
/// query's neighbouring words side by side.
fn bag_query(
    searcher: &Searcher,
    weights: &BTreeMap<String, f32>,
    in_order: &[(usize, String)],
    opts: &EvalOptions,
) -> BooleanQuery {
    let fields = searcher.fields();
    let title_boost = opts.title_boost;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (term, n) in weights {
        let mut push = |field, weight: f32| {
            let term = Term::from_field_text(field, term);
            let q: Box<dyn Query> = if opts.bm25.is_tantivy() {
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
            } else {
                Box::new(TunedTerm::new(term, opts.bm25))
            };
            clauses.push((Occur::Should, Box::new(BoostQuery::new(q, weight))));
        };
        // A word said twice in a query counts twice, as in a bag of words.
        push(fields.text, *n);
        if title_boost > 0.0 {
            push(fields.title, title_boost * *n);
        }
    }
    if opts.pair_weight > 0.0 {
        let mut pairs = HashSet::new();
        for pair in in_order.windows(2) {
            let [(_, a), (_, b)] = pair else { continue };
            if !pairs.insert((a.clone(), b.clone())) {
                continue;
            }
            let phrase = PhraseQuery::new(vec![
                Term::from_field_text(fields.text, a),
                Term::from_field_text(fields.text, b),
            ]);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(phrase), opts.pair_weight)),
            ));
        }
    }
    BooleanQuery::new(clauses)
}

/// Runs every judged query of a split against an index of the corpus.
pub fn evaluate(
    beir: &Path,
    searcher: &Searcher,
    opts: &EvalOptions,
    documents: usize,
) -> Result<EvalReport> {
    let queries: Vec<QueryLine> = lines_of(&beir.join("queries.jsonl"), "queries")?;
    let qrels = read_qrels(&beir.join("qrels").join(format!("{}.tsv", opts.split)))?;
    let by_id: HashMap<&str, &str> = queries
        .iter()
        .map(|q| (q.id.as_str(), q.text.as_str()))
        .collect();
    let mut per_query = Vec::new();
    let mut unknown: HashSet<&str> = HashSet::new();
    for (query_id, relevant) in &qrels {
        let Some(text) = by_id.get(query_id.as_str()) else {
            unknown.insert(query_id);
            continue;
        };
        let ranked = rank(searcher, text, opts, DEPTH)?;
        per_query.push(QueryScores {
            query_id: query_id.clone(),
            ndcg_at_10: ndcg(&ranked, relevant, 10),
            recall_at_100: recall(&ranked, relevant, DEPTH),
            mrr_at_10: reciprocal_rank(&ranked, relevant, 10),
        });
    }
    if !unknown.is_empty() {
        return Err(Error::Input(format!(
            "{} judged queries are missing from queries.jsonl (e.g. {:?})",
            unknown.len(),
            unknown.iter().next()
        )));
    }
    let n = per_query.len().max(1) as f64;
    let mean = |f: fn(&QueryScores) -> f64| per_query.iter().map(f).sum::<f64>() / n;
    Ok(EvalReport {
        ndcg_at_10: mean(|q| q.ndcg_at_10),
        recall_at_100: mean(|q| q.recall_at_100),
        mrr_at_10: mean(|q| q.mrr_at_10),
        queries: per_query.len(),
        split: opts.split.clone(),
        documents,
        title_boost: opts.title_boost,
        pair_weight: opts.pair_weight,
        k1: opts.bm25.k1,
        b: opts.bm25.b,
        per_query,
    })
}

/// Indexes the collection into `index_dir` and evaluates a split.
pub fn run(beir: &Path, index_dir: &Path, opts: &EvalOptions) -> Result<EvalReport> {
    if !beir.join("corpus.jsonl").is_file() {
        return Err(Error::Input(format!(
            "{}: no corpus.jsonl here; pass a BEIR collection folder (e.g. ../shared/data/beir/scifact, from https://github.com/beir-cellar/beir)",
            beir.display()
        )));
    }
    let documents = index_corpus(beir, index_dir, opts.memory_budget_mb)?;
    let searcher = Searcher::open(index_dir, false)?;
    evaluate(beir, &searcher, opts, documents)
}

/// A fresh, private folder under the system's temporary folder for an
/// index that lives only as long as one evaluation (removed when dropped).
pub fn scratch_dir() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("nutgraf-eval-")
        .tempdir()
        .map_err(|source| Error::Io {
            context: "cannot make a scratch folder for the evaluation index".into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn ranked(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_by_hand() {
        // Relevant a (grade 1) at rank 2, b (grade 1) at rank 4:
        // DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
        // IDCG = 1/log2(2) + 1/log2(3) = 1.63093; nDCG = 0.65092
        let r = ranked(&["x", "a", "y", "b"]);
        let v = ndcg(&r, &rel(&[("a", 1), ("b", 1)]), 10);
        assert!((v - 0.650_92).abs() < 1e-4, "{v}");
        // Graded: the better document first is ideal.
        let v = ndcg(&ranked(&["a", "b"]), &rel(&[("a", 2), ("b", 1)]), 10);
        assert!((v - 1.0).abs() < 1e-12);
        // Cut at k: a relevant document at rank 3 does not count for k = 2.
        assert_eq!(ndcg(&ranked(&["x", "y", "a"]), &rel(&[("a", 1)]), 2), 0.0);
    }

    #[test]
    fn recall_and_reciprocal_rank_by_hand() {
        let r = ranked(&["x", "a", "y", "b"]);
        let relevant = rel(&[("a", 1), ("b", 1), ("c", 1)]);
        assert!((recall(&r, &relevant, 100) - 2.0 / 3.0).abs() < 1e-12);
        assert!((recall(&r, &relevant, 2) - 1.0 / 3.0).abs() < 1e-12);
        assert!((reciprocal_rank(&r, &relevant, 10) - 0.5).abs() < 1e-12);
        assert_eq!(reciprocal_rank(&r, &relevant, 1), 0.0);
    }
}
