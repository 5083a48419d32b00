//! `nutgraf eval`: ranking quality on a BEIR-format test collection.

use std::path::PathBuf;

use nutgraf::query::Bm25Params;
use nutgraf::render;
use nutgraf::tools::eval::{self, EvalOptions, DEFAULT_PAIR_WEIGHT, DEFAULT_TITLE_BOOST};

use super::{print, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A BEIR collection folder: corpus.jsonl, queries.jsonl,
    /// qrels/<split>.tsv (e.g. ../shared/data/beir/scifact).
    #[arg(long, value_name = "DIR")]
    pub beir: PathBuf,
    /// Which judgments to score: test, train or dev.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Extra weight of a title match (tune it on train, report on test).
    #[arg(long, default_value_t = DEFAULT_TITLE_BOOST, value_name = "X")]
    pub title_boost: f32,
    /// Weight of neighbouring query words found side by side (0: none;
    /// tune it on train, report on test).
    #[arg(long, default_value_t = DEFAULT_PAIR_WEIGHT, value_name = "X")]
    pub pair_weight: f32,
    /// BM25's term-frequency saturation (tantivy's default 1.2).
    #[arg(long, default_value_t = 1.2, value_name = "X")]
    pub k1: f32,
    /// BM25's length normalisation, 0 to 1 (tantivy's default 0.75).
    #[arg(long, default_value_t = 0.75, value_name = "X")]
    pub b: f32,
    /// Print JSON (with per-query scores) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    // The collection gets its own scratch index, never --index: an
    // evaluation must not overwrite an index someone searches.
    let _ = cli;
    let scratch = eval::scratch_dir()?;
    let opts = EvalOptions {
        split: args.split.clone(),
        title_boost: args.title_boost,
        pair_weight: args.pair_weight,
        bm25: Bm25Params::checked(args.k1, args.b).map_err(nutgraf::Error::Input)?,
        ..EvalOptions::default()
    };
    let report = eval::run(&args.beir, scratch.path(), &opts)?;
    if args.json {
        print(&render::json(&report))?;
    } else {
        print(&format!(
            "nDCG@10 {:.4}   Recall@100 {:.4}   MRR@10 {:.4}\n{} queries ({} split), {} documents, title boost {}, pair weight {}, BM25 k1 {} b {}\n",
            report.ndcg_at_10,
            report.recall_at_100,
            report.mrr_at_10,
            report.queries,
            report.split,
            report.documents,
            report.title_boost,
            report.pair_weight,
            report.k1,
            report.b
        ))?;
    }
    Ok(Outcome::Found)
}
