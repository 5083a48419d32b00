//! `nutgraf export --to-dir DIR`: the index settings and mapping for an
//! OpenSearch or Elasticsearch cluster, and every unit as `_bulk` NDJSON
//! files that `curl` can send.

use std::path::PathBuf;

use nutgraf::cluster::bulk::{BulkFiles, DEFAULT_BATCH_BYTES};
use nutgraf::cluster::mapping;
use nutgraf::search::{Filters, SearchRequest};

use super::{open_service, print, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The folder to write `mapping.json` and `bulk-00001.ndjson`, … to
    /// (made if missing; bulk files of an earlier export are replaced).
    #[arg(long, value_name = "DIR")]
    pub to_dir: PathBuf,
    /// The cluster index the bulk lines name.
    #[arg(long, value_name = "NAME", default_value = "nutgraf")]
    pub name: String,
    /// Largest bulk file, in bytes (one `_bulk` request each).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_BATCH_BYTES)]
    pub batch_bytes: usize,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let name_ok = !args.name.is_empty()
        && args
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && !args.name.starts_with(['-', '_', '.']);
    if !name_ok {
        return Err(nutgraf::Error::Input(format!(
            "--name {:?}: a cluster index name is lower case letters, digits, -, _ or . (not first)",
            args.name
        )));
    }
    let dir = &args.to_dir;
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
