//! `nutgraf search`: ranked, highlighted paragraphs with facet counts.

use clap::builder::RangedU64ValueParser;
use nutgraf::index::schema::FacetField;
use nutgraf::render;
use nutgraf::search::histogram::DEFAULT_SPLIT_TOP;
use nutgraf::search::{
    Filters, HistogramRequest, IntervalChoice, SearchRequest, DEFAULT_FACET_LIMIT,
    MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET,
};

use super::{open_service, print, style, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The query: words (all required), "quoted phrases", OR, -exclusion,
    /// field scopes (author:grinberg, outlet:, stance:, title:, kind:),
    /// prefix (normali*), fuzzy (Khanin~1). May start with `-`.
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Only units by this author (any case; a surname alone selects every
    /// author it names). Repeat to allow several.
    #[arg(long, value_name = "A")]
    pub author: Vec<String>,
    /// Only units from this outlet. Repeatable.
    #[arg(long, value_name = "O")]
    pub outlet: Vec<String>,
    /// Only units with this stance (supportive, critical, neutral...). Repeatable.
    #[arg(long, value_name = "S")]
    pub stance: Vec<String>,
    /// Only units of this genre (opinion, analysis...). Repeatable.
    #[arg(long, value_name = "G")]
    pub genre: Vec<String>,
    /// Only units of this kind (body, heading, list-item, caption, byline,
    /// bio, disclaimer). Default: all but caption and disclaimer.
    #[arg(long, value_name = "K")]
    pub kind: Vec<String>,
    /// Only units published on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only units published on or before DATE.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// How many hits to show (at most 100000); 0 shows only the counts
    /// (total and facets).
    #[arg(long, default_value_t = 10, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_SEARCH_LIMIT as u64))]
    pub limit: usize,
    /// Skip this many hits (for paging; at most 1000000).
    #[arg(long, default_value_t = 0, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_SEARCH_OFFSET as u64))]
    pub offset: usize,
    /// Write every match instead of a page: all the units `total_hits`
    /// counts, best first, streamed as CSV or JSON Lines (--format) with
    /// citation columns: id, doc_id, paragraph, paragraphs_in_doc,
    /// outlet, authors, stance, genre, kind, published, url, title, text,
    /// citation, cluster (the copy cluster). Not with --limit, --offset, --facet-limit, --json or
    /// --explain.
    #[arg(long, conflicts_with_all = ["limit", "offset", "facet_limit", "json", "explain", "histogram", "normalize", "split"])]
    pub all: bool,
    /// The format of --all (only with it): csv (the default; UTF-8 with a
    /// byte-order mark, authors joined by "; ", a cell starting with =, +,
    /// -, @, ', a tab or CR gets a ' in front so that no spreadsheet runs
    /// it as a formula) or jsonl (one JSON object a line, text exact).
    #[arg(long, value_name = "FORMAT", requires = "all",
          value_parser = clap::builder::PossibleValuesParser::new(nutgraf::table::TableFormat::NAMES))]
    pub format: Option<String>,
    /// Values listed per facet, most frequent first (0: all of them;
    /// default 100 in JSON, 6 in text). Values a filter selects are
    /// always listed.
    #[arg(long, value_name = "N")]
    pub facet_limit: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Say why each hit ranks where it does: BM25 per word in the
    /// paragraph and in the title (times the title weight), and what the
    /// words' closeness added.
    #[arg(long)]
    pub explain: bool,
    /// Fold copies: one hit per copy cluster (a paragraph reprinted by
    /// several outlets, verbatim or nearly), the best-ranked copy, with
    /// "+N copies in OUTLET, …"; and count independent sources: distinct
    /// paragraphs per outlet and stance. The total and the facets still
    /// count every unit.
    #[arg(long, conflicts_with = "all")]
    pub collapse: bool,
    /// Count the hits by date: auto (a readable number of buckets), day,
    /// week, month or year. Write `--histogram` alone for auto, or
    /// `--histogram=month`. Units dated more coarsely than the interval
    /// are counted as imprecise, units without a date as undated.
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, require_equals = true,
          default_missing_value = "auto", value_parser = IntervalChoice::NAMES)]
    pub histogram: Option<String>,
    /// With the histogram: each bucket's count also as a share of every
    /// unit published in it (same filters, no query).
    #[arg(long)]
    pub normalize: bool,
    /// Split the histogram's buckets by this facet: stance (default),
    /// outlet, genre or kind.
    #[arg(long, value_name = "FACET")]
    pub split: Option<String>,
    /// Values of the split listed; the rest are summed as "other".
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SPLIT_TOP)]
    pub split_top: usize,
}

impl Args {
    pub fn request(&self) -> Result<SearchRequest, nutgraf::Error> {
        let asked = self.histogram.is_some() || self.normalize || self.split.is_some();
        let histogram = if asked {
            Some(HistogramRequest {
                interval: IntervalChoice::parse(self.histogram.as_deref().unwrap_or("auto"))?,
                split: match &self.split {
                    Some(s) => HistogramRequest::split_field(s)?,
                    None => FacetField::Stance,
                },
                split_top: self.split_top,
                normalize: self.normalize,
            })
        } else {
            None
        };
        Ok(SearchRequest {
            query: self.query.clone(),
            filters: Filters {
                author: self.author.clone(),
                outlet: self.outlet.clone(),
                stance: self.stance.clone(),
                genre: self.genre.clone(),
                kind: self.kind.clone(),
                since: self.since.clone(),
                until: self.until.clone(),
            },
            limit: self.limit,
            offset: self.offset,
            facet_limit: self.facet_limit.unwrap_or(DEFAULT_FACET_LIMIT),
            deadline: None,
            explain: self.explain,
            histogram,
            collapse: self.collapse,
        })
    }
}

/// A page of hits (`search --all` is [`super::search_all`]'s).
pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let service = open_service(cli, false)?;
    let response = service.search(&args.request()?)?;
    if args.json {
        print(&render::json(&response))?;
    } else {
        // Text shows a few values per facet unless asked for more.
        let shown = match args.facet_limit.unwrap_or(render::TEXT_FACET_VALUES) {
            0 => usize::MAX,
            n => n,
        };
        print(&render::search_text_with_facets(&response, style(), shown))?;
    }
    Ok(if response.total_hits > 0 {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}
