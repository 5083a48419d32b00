//! `export --to URL`: the index created with nutgraf's mapping, then every
//! unit sent as `_bulk` batches (the same [`Batches`] as the bulk files),
//! each unit's outcome read from the answer, and the place reached kept
//! in a checkpoint so that an interrupted export resumes.
//!
//! The checkpoint names the local index generation (a hash of its
//! `meta.json`), the target and the batch size: with any of them changed
//! the batches are not the same units, and the export starts over (the
//! unit id is the `_id`, so units sent twice are overwritten, not
//! doubled).

use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bulk::{Batch, Batches};
use super::client::{refused, Answer, Body, Client};
use super::mapping;
use crate::error::{Error, Result};
use crate::index::Progress;
use crate::search::{Filters, SearchRequest, SearchService};

/// A unit the cluster would not take, and its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub reason: String,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UploadSummary {
    pub url: String,
    /// Whether the index was made by this export (else it existed).
    pub created: bool,
    /// Batches and units sent by this run.
    pub batches_sent: u64,
    pub units_sent: u64,
    /// Batches and units an earlier, interrupted run had sent already.
    pub batches_resumed: u64,
    pub units_resumed: u64,
    pub bytes_sent: u64,
    /// Units the cluster refused (nothing is dropped silently).
    pub rejected: Vec<Rejected>,
    /// Units the cluster counts once the export is done.
    pub cluster_units: Option<u64>,
    pub seconds: f64,
}

/// The place an export reached, kept between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub url: String,
    /// The local index generation exported (a hash of its `meta.json`).
    pub generation: String,
    pub batch_bytes: usize,
    /// Batches 1 to this one are in the cluster, every unit accepted.
    pub acknowledged: u64,
}

impl Checkpoint {
    /// The checkpoint of an earlier export of the same units to the same
    /// place, if there is one.
    pub fn load(
        path: &Path,
        url: &str,
        generation: &str,
        batch_bytes: usize,
    ) -> Option<Checkpoint> {
        let text = std::fs::read_to_string(path).ok()?;
        let c: Checkpoint = serde_json::from_str(&text).ok()?;
        (c.url == url && c.generation == generation && c.batch_bytes == batch_bytes).then_some(c)
    }

    /// Written whole or not at all (a kill mid-write keeps the last one).
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e| Error::Io {
            context: format!("writing the export checkpoint {}", path.display()),
            source: e,
        };
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(&partial, path).map_err(io)
    }
}

/// The checkpoint file of exports of an index to a URL: in the index
/// folder (a rebuilt index starts afresh), one file per target.
pub fn checkpoint_path(index_dir: &Path, url: &str) -> PathBuf {
    let hash = blake3::hash(url.as_bytes()).to_hex();
    index_dir.join(format!("cluster-export-{}.json", &hash[..16]))
}

/// The generation of a local index: a hash of its `meta.json`.
pub fn generation(index_dir: &Path) -> Result<String> {
    let meta = index_dir.join("meta.json");
    let bytes = std::fs::read(&meta).map_err(|e| Error::Io {
        context: format!("reading {}", meta.display()),
        source: e,
    })?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// Makes the index with nutgraf's settings and mapping; an index that
/// exists already is used when its mapping is nutgraf's. Returns whether
/// it was made.
pub fn create_index(client: &Client) -> Result<bool> {
    let body = mapping::index_body();
    let what = "creating the index";
    let answer = client.send(Method::PUT, &client.index_path(""), Body::Json(&body), what)?;
    if answer.ok() {
        return Ok(true);
    }
    let kind = answer.json["error"]["type"].as_str().unwrap_or_default();
    if kind == "resource_already_exists_exception" {
        let theirs = client.expect_ok(
            Method::GET,
            "_mapping",
            Body::None,
            "reading the index's mapping",
        )?;
        check_mapping(client, &body["mappings"], &theirs)?;
        return Ok(false);
    }
    let target = &client.target;
    Err(Error::Input(format!(
        "the cluster at {} refused nutgraf's index settings and mapping for {} ({}: {}). nutgraf needs the standard tokenizer and the stemmer, snowball, lowercase and asciifolding filters; see `nutgraf export --to-dir` for the mapping it sends.",
        target.base,
        target.index,
        answer.status,
        super::answer::reason(&answer.text)
    )))
}

/// Whether an existing index can take the units: every field of nutgraf's
/// mapping there with the same type, and the same schema version.
fn check_mapping(client: &Client, ours: &Value, answer: &Value) -> Result<()> {
    // The answer is keyed by the index's real name (the URL may name an
    // alias).
    let theirs = answer
        .as_object()
        .and_then(|m| m.values().next())
        .map(|v| &v["mappings"])
        .unwrap_or(&Value::Null);
    let mut differences = Vec::new();
    if let Some(props) = ours["properties"].as_object() {
        for (name, field) in props {
            let want = field["type"].as_str().unwrap_or_default();
            let have = theirs["properties"][name]["type"]
                .as_str()
                .unwrap_or("missing");
            if want != have {
                differences.push(format!("{name} is {have}, not {want}"));
            }
        }
    }
    let schema = &theirs["_meta"]["nutgraf_schema"];
    if *schema != ours["_meta"]["nutgraf_schema"] {
        differences.push(format!(
            "it was made for index schema {schema}, not {}",
            ours["_meta"]["nutgraf_schema"]
        ));
    }
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "the index {} exists with another mapping ({}); delete it (`curl -X DELETE {}`) or export to another index name",
        client.target.url(),
        differences.join("; "),
        client.target.url()
    )))
}

/// Sends every unit of `units` in batches of `batch_bytes`, skipping the
/// batches `checkpoint` says are in the cluster, and saving it after
/// each batch to `checkpoint_file`.
pub fn upload(
    client: &Client,
    units: &dyn SearchService,
    mut checkpoint: Checkpoint,
    checkpoint_file: &Path,
    progress: &dyn Progress,
) -> Result<UploadSummary> {
    let started = Instant::now();
    let mut summary = UploadSummary {
        url: client.target.url(),
        created: create_index(client)?,
        ..UploadSummary::default()
    };
    let resume_after = checkpoint.acknowledged;
    let mut batches = Batches::new(&client.target.index, checkpoint.batch_bytes);
    let mut number = 0u64;
    // Once a batch has a refused unit the checkpoint stays before it, so
    // the next run sends it again (after the cause is fixed).
    let mut clean = true;
    progress.start(units.units(), "exporting");
    let mut each = |batch: Batch| -> Result<()> {
        number += 1;
        let n = batch.ids.len() as u64;
        if number <= resume_after {
            summary.batches_resumed += 1;
            summary.units_resumed += n;
        } else {
            summary.bytes_sent += batch.body.len() as u64;
            let refused = send_batch(client, &batch)?;
            summary.batches_sent += 1;
            summary.units_sent += n;
            clean &= refused.is_empty();
            summary.rejected.extend(refused);
            if clean {
                checkpoint.acknowledged = number;
                checkpoint.save(checkpoint_file)?;
            }
        }
        progress.advance(n);
        Ok(())
    };
    let request = SearchRequest {
        filters: Filters::every_kind(),
        ..SearchRequest::new("")
    };
    units.export(&request, &mut |unit| match batches.push(&unit) {
        Some(batch) => each(batch),
        None => Ok(()),
    })?;
    if let Some(last) = std::mem::replace(&mut batches, Batches::new("", 1)).finish() {
        each(last)?;
    }
    progress.finish();
    // Searches see the units at once, not after the refresh interval.
    client.expect_ok(Method::POST, "_refresh", Body::None, "refreshing the index")?;
    summary.cluster_units = client
        .expect_ok(Method::GET, "_count", Body::None, "counting the units")
        .ok()
        .and_then(|v| v["count"].as_u64());
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Sends one batch; units the cluster answers 429 for are sent again
/// with back-off; the others it refused are returned.
fn send_batch(client: &Client, batch: &Batch) -> Result<Vec<Rejected>> {
    let url = client.index_path("_bulk");
    let pairs: Vec<&str> = pair_lines(&batch.body);
    let mut pending: Vec<usize> = (0..batch.ids.len()).collect();
    let mut wait = client.retry.first_wait;
    let mut refused_units = Vec::new();
    for attempt in 1..=client.retry.attempts.max(1) {
        let body: String = pending.iter().map(|&i| pairs[i]).collect();
        let what = format!(
            "sending units {} to {}",
            batch.ids[pending[0]],
            batch.ids[*pending.last().unwrap_or(&0)]
        );
        let answer = client.send(Method::POST, &url, Body::Ndjson(&body), &what)?;
        if !answer.ok() {
            return Err(refused(&client.target, &what, &answer));
        }
        let (busy, refused) = read_items(&answer, &pending, &batch.ids)?;
        refused_units.extend(refused);
        if busy.is_empty() {
            return Ok(refused_units);
        }
        if attempt < client.retry.attempts {
            std::thread::sleep(wait);
            wait = (wait * 2).min(client.retry.max_wait);
        }
        pending = busy;
    }
    refused_units.extend(pending.iter().map(|&i| Rejected {
        id: batch.ids[i].clone(),
        reason: format!(
            "the cluster was too busy to take it (429) after {} tries",
            client.retry.attempts
        ),
    }));
    Ok(refused_units)
}

/// A batch body cut into its units' line pairs (each with its newlines).
fn pair_lines(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut newlines = 0;
    for (i, b) in body.bytes().enumerate() {
        if b == b'\n' {
            newlines += 1;
            if newlines % 2 == 0 {
                out.push(&body[start..=i]);
                start = i + 1;
            }
        }
    }
    out
}

/// The items of a `_bulk` answer: which of `pending` to send again (429)
/// and which the cluster refused, and why.
fn read_items(
    answer: &Answer,
    pending: &[usize],
    ids: &[String],
) -> Result<(Vec<usize>, Vec<Rejected>)> {
    let items = answer.json["items"].as_array().ok_or_else(|| {
        Error::Input(format!(
            "the cluster's answer to _bulk has no items: {}",
            answer.text.chars().take(200).collect::<String>()
        ))
    })?;
    if items.len() != pending.len() {
        return Err(Error::Input(format!(
            "the cluster answered for {} units of a _bulk request of {}; nothing can be said of the others",
            items.len(),
            pending.len()
        )));
    }
    let mut busy = Vec::new();
    let mut refused = Vec::new();
    for (item, &i) in items.iter().zip(pending) {
        // Each item is keyed by its action: `{"index": {...}}`.
        let result = item
            .as_object()
            .and_then(|m| m.values().next())
            .unwrap_or(&Value::Null);
        let status = result["status"].as_u64().unwrap_or(0);
        if (200..300).contains(&status) {
            continue;
        }
        if status == 429 {
            busy.push(i);
            continue;
        }
        let e = &result["error"];
        let reason = match (e["type"].as_str(), e["reason"].as_str()) {
            (Some(t), Some(r)) => format!("{t}: {r}"),
            _ if e.is_null() => format!("status {status}"),
            _ => e.to_string(),
        };
        let id = result["_id"].as_str().unwrap_or(&ids[i]).to_string();
        refused.push(Rejected { id, reason });
    }
    Ok((busy, refused))
}

/// The summary as a user reads it.
pub fn summary_text(s: &UploadSummary) -> String {
    let mut out = format!(
        "{} {} units in {} batches to {} ({:.1} MB in {:.1} s)",
        if s.created {
            "Created the index and sent"
        } else {
            "Sent"
        },
        s.units_sent,
        s.batches_sent,
        s.url,
        s.bytes_sent as f64 / 1e6,
        s.seconds
    );
    if s.batches_resumed > 0 {
        out.push_str(&format!(
            "; {} units in {} batches were sent by an earlier run",
            s.units_resumed, s.batches_resumed
        ));
    }
    out.push_str(".\n");
    if let Some(n) = s.cluster_units {
        out.push_str(&format!("The index holds {n} units.\n"));
    }
    if !s.rejected.is_empty() {
        out.push_str(&format!(
            "The cluster refused {} units; they are not in the index:\n",
            s.rejected.len()
        ));
        for r in s.rejected.iter().take(50) {
            out.push_str(&format!("  {}: {}\n", r.id, r.reason));
        }
        if s.rejected.len() > 50 {
            out.push_str(&format!("  … and {} more\n", s.rejected.len() - 50));
        }
    }
    out
}

/// An empty checkpoint: nothing sent yet.
pub fn fresh(url: &str, generation: &str, batch_bytes: usize) -> Checkpoint {
    Checkpoint {
        url: url.to_string(),
        generation: generation.to_string(),
        batch_bytes,
        acknowledged: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_splits_into_unit_pairs() {
        let body = "{\"index\":{}}\n{\"a\":1}\n{\"index\":{}}\n{\"a\":2}\n";
        assert_eq!(
            pair_lines(body),
            ["{\"index\":{}}\n{\"a\":1}\n", "{\"index\":{}}\n{\"a\":2}\n"]
        );
    }

    #[test]
    fn items_say_which_units_to_resend_and_which_were_refused() {
        // The shape of the engines' documented `_bulk` answer.
        let json = json!({"took": 3, "errors": true, "items": [
            {"index": {"_index": "n", "_id": "a#1", "status": 201}},
            {"index": {"_index": "n", "_id": "a#2", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
            {"index": {"_index": "n", "_id": "a#3", "status": 400, "error": {"type": "document_parsing_exception", "reason": "failed to parse field [paragraph]"}}}
        ]});
        let answer = Answer {
            status: 200,
            text: json.to_string(),
            json,
        };
        let ids: Vec<String> = ["a#1", "a#2", "a#3"].map(String::from).to_vec();
        let (busy, refused) = read_items(&answer, &[0, 1, 2], &ids).unwrap();
        assert_eq!(busy, [1]);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].id, "a#3");
        assert!(refused[0].reason.contains("failed to parse field"));
    }
}
