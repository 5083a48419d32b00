//! `nutgraf export`: the index copied to an OpenSearch or Elasticsearch
//! cluster (`--to URL`), or its settings and mapping and every unit as
//! `_bulk` NDJSON files that `curl` can send (`--to-dir DIR`).

use std::path::PathBuf;

use nutgraf::cluster::bulk::{BulkFiles, DEFAULT_BATCH_BYTES};
use nutgraf::cluster::mapping;
use nutgraf::search::{Filters, SearchRequest};

use super::{open_service, print, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to", "to_dir"])))]
pub struct Args {
    /// The cluster index to copy every unit to, e.g.
    /// http://127.0.0.1:9200/nutgraf (the path's last part names the
    /// index): made with nutgraf's mapping if missing, then filled by
    /// `_bulk` requests. An interrupted export, run again, resumes.
    /// Credentials come from NUTGRAF_BACKEND_API_KEY, or
    /// NUTGRAF_BACKEND_USER and NUTGRAF_BACKEND_PASSWORD.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// The folder to write `mapping.json` and `bulk-00001.ndjson`, … to
    /// (made if missing; bulk files of an earlier export are replaced).
    #[arg(long, value_name = "DIR")]
    pub to_dir: Option<PathBuf>,
    /// The cluster index the bulk lines name (with --to-dir).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "nutgraf",
        conflicts_with = "to"
    )]
    pub name: String,
    /// Largest bulk request (or file), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_BATCH_BYTES)]
    pub batch_bytes: usize,
    /// With --to: send every batch again, even those an interrupted
    /// export sent already.
    #[arg(long, requires = "to")]
    pub restart: bool,
    /// With --to: tries per request; busy (429) and failing (5xx)
    /// answers and dropped connections are tried again after waits that
    /// double from half a second.
    #[arg(long, value_name = "N", default_value_t = 6, requires = "to",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub tries: u32,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    match (&args.to, &args.to_dir) {
        (Some(url), _) => to_cluster(cli, url, args),
        (None, Some(dir)) => to_dir(cli, dir, args),
        (None, None) => Err(nutgraf::Error::Input(
            "say where to: --to URL or --to-dir DIR".into(),
        )),
    }
}

#[cfg(feature = "cluster")]
fn to_cluster(cli: &Cli, url: &str, args: &Args) -> CommandResult {
    use nutgraf::cluster::{client::Client, upload};
    let mut client = Client::new(url)?;
    client.retry.attempts = args.tries;
    let service = open_service(cli, false)?;
    let dir = super::index_dir(cli)?;
    let url = client.target.url();
    let generation = upload::generation(&dir)?;
    let state = upload::checkpoint_path(&dir, &url);
    let checkpoint = match upload::Checkpoint::load(&state, &url, &generation, args.batch_bytes) {
        Some(c) if !args.restart => c,
        _ => upload::fresh(&url, &generation, args.batch_bytes),
    };
    let bar = super::Bar::new();
    let summary = upload::upload(&client, service.as_ref(), checkpoint, &state, &bar)?;
    print(&upload::summary_text(&summary))?;
    if !summary.rejected.is_empty() {
        return Err(nutgraf::Error::Input(format!(
            "the cluster refused {} of the units (listed above); fix what it says and run the export again: it resends from the first batch with a refused unit",
            summary.rejected.len()
        )));
    }
    Ok(Outcome::Found)
}

#[cfg(not(feature = "cluster"))]
fn to_cluster(_: &Cli, _: &str, _: &Args) -> CommandResult {
    Err(super::not_in_this_build("export --to", "cluster"))
}

fn to_dir(cli: &Cli, dir: &std::path::Path, args: &Args) -> CommandResult {
    mapping::check_index_name(&args.name)
        .map_err(|why| nutgraf::Error::Input(format!("--name: {why}")))?;
    let io = |context: String| move |e| nutgraf::Error::Io { context, source: e };
    std::fs::create_dir_all(dir).map_err(io(format!("making {}", dir.display())))?;
    // Bulk files of an earlier export would be sent again with these.
    for entry in std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))? {
        let path = entry
            .map_err(io(format!("reading {}", dir.display())))?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("bulk-") && name.ends_with(".ndjson") {
            std::fs::remove_file(&path).map_err(io(format!("removing {}", path.display())))?;
        }
    }
    let body = serde_json::to_string_pretty(&mapping::index_body()).unwrap_or_default() + "\n";
    let mapping_path = dir.join("mapping.json");
    std::fs::write(&mapping_path, body)
        .map_err(io(format!("writing {}", mapping_path.display())))?;

    let service = open_service(cli, false)?;
    // Every unit of the index, every kind, in the index's order of rank
    // for an empty query (all units).
    let request = SearchRequest {
        filters: Filters::every_kind(),
        ..SearchRequest::new("")
    };
    let mut files = BulkFiles::new(dir, &args.name, args.batch_bytes);
    service.export(&request, &mut |unit| files.write(&unit))?;
    let (written, units) = files.finish()?;
    print(&format!(
        "{units} units in {} bulk files and mapping.json in {}. To load them:\n  curl -XPUT URL/{name} -H 'Content-Type: application/json' --data-binary @{}/mapping.json\n  for f in {}/bulk-*.ndjson; do curl -XPOST URL/_bulk -H 'Content-Type: application/x-ndjson' --data-binary @\"$f\"; done\n",
        written.len(),
        dir.display(),
        dir.display(),
        dir.display(),
        name = args.name,
    ))?;
    Ok(if units > 0 {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}
