//! Using nutgraf as a library: index the seed articles from code, run a
//! filtered search, and read the hits and facet counts.
//!
//! Run with `cargo run --example library`.

use nutgraf::index::{update, IndexOptions, Silent};
use nutgraf::search::{Filters, SearchRequest};
use nutgraf::{Config, Searcher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The config describes the documents; paths inside it are relative to it.
    let config = Config::load("index-config/nutgraf.toml".as_ref())?;
    let dir = tempfile::tempdir()?;
    let report = update(&config, dir.path(), &IndexOptions::default(), &Silent)?;
    println!("indexed {} units", report.units_added);

    let searcher = Searcher::open(dir.path(), false)?;
    let request = SearchRequest {
        filters: Filters {
            stance: vec!["critical".into()],
            ..Filters::default()
        },
        ..SearchRequest::new("Section 907")
    };
    let response = searcher.search(&request)?;
    for hit in &response.hits {
        println!(
            "{} ({}): {}",
            hit.unit.id, hit.unit.outlet, hit.snippet.text
        );
    }
    // Facet counts ignore their own filter: the stance facet still shows
    // how many supportive units mention Section 907.
    for (stance, n) in &response.facets.stance.0 {
        println!("{stance}: {n}");
    }
    Ok(())
}
