//! `GET /api/export`: every unit a search counts, best first, as CSV or
//! JSON Lines, streamed as it is read (the rows of `search --all`).
//!
//! The export runs on a blocking thread holding one of the gate's
//! expensive slots for as long as it streams; its rows go to the body
//! through a channel of a few chunks, so a client that reads slowly
//! slows the export instead of filling memory, and one that goes away
//! ends it. The search's own work (finding the matches) ends at the
//! request timeout; reading the rows has no time limit, only the
//! connection's idle timeout.

use std::io::{self, Write};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::search::{SearchRequest, SearchService};
use crate::table::citation::{CitationRow, COLUMNS};
use crate::table::{file_name, TableFormat, TableWriter};

use super::app::Shared;
use super::errors::ApiError;
use super::params::search_request;
use super::REQUEST_TIMEOUT;

/// Chunks waiting for the client at most (each about 64 KiB).
const CHUNKS_IN_FLIGHT: usize = 4;

/// What the export thread sends the body.
enum Piece {
    Bytes(Vec<u8>),
    /// The export failed: before its first byte, the answer is this
    /// error; after, the body is cut off so that the client sees an
    /// incomplete transfer, never a short file that looks whole.
    Failed(ApiError),
}

/// Parses `/api/export`'s parameters: those of `/api/search` but for
/// paging, plus `format=csv|jsonl` (default csv).
pub fn export_request(raw: Option<String>) -> Result<(SearchRequest, TableFormat), ApiError> {
    let mut format = TableFormat::Csv;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "format" => {
                format = TableFormat::parse(&v).ok_or_else(|| {
                    ApiError::bad_request(format!("format={v:?}: use format=csv or format=jsonl"))
                })?
            }
            "limit" | "offset" | "facet_limit" | "explain" => {
                return Err(ApiError::bad_request(format!(
                    "{k} does not apply to an export, which writes every match: leave it out"
                )))
            }
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    Ok((search_request(Some(rest.finish()))?, format))
}

pub(super) async fn export(
    State(s): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (mut request, format) = export_request(raw)?;
    request.deadline = Some(Instant::now() + REQUEST_TIMEOUT);
    let admitted = s.gate.enter(true).await?;
    let service = s.service();
    let (tx, mut rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let name = file_name(&request.query, format);
    tokio::task::spawn_blocking(move || {
        let _admitted = admitted;
        write_rows(service.as_ref(), &request, format, tx);
    });
    // The first piece says whether the search worked.
    let first = match rx.recv().await {
        Some(Piece::Bytes(bytes)) => bytes,
        Some(Piece::Failed(e)) => return Err(e),
        None => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the export stopped before it began",
            ))
        }
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await? {
            Piece::Bytes(bytes) => Some((Ok(bytes), rx)),
            Piece::Failed(e) => Some((Err(io::Error::other(e.message)), rx)),
        }
    });
    let body = futures_util::stream::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, io::Error>(first) }),
        rest,
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Runs the export, writing its rows into the channel; its failure is
/// the last piece sent.
fn write_rows(
    service: &dyn SearchService,
    request: &SearchRequest,
    format: TableFormat,
    tx: mpsc::Sender<Piece>,
) {
    let out = Chunks { tx: tx.clone() };
    // The table starts with the first row, so that a search that fails
    // has written nothing and its error can be the answer.
    let mut table: Option<TableWriter<Chunks>> = None;
    let result = service
        .export(request, &mut |unit| {
            let table = match &mut table {
                Some(t) => t,
                None => table.insert(start(format, out.clone())?),
            };
            table.write(&CitationRow::new(&unit)).map_err(gone)
        })
        .map(|_| ())
        .and_then(|()| {
            let table = match table.take() {
                Some(t) => t,
                None => start(format, out.clone())?,
            };
            table.finish().map(drop).map_err(gone)
        });
    if let Err(e) = result {
        // A client that went away hears nothing more.
        let _ = tx.blocking_send(Piece::Failed(ApiError::from(e)));
    }
}

fn start(format: TableFormat, out: Chunks) -> crate::Result<TableWriter<Chunks>> {
    TableWriter::new(format, out, &COLUMNS).map_err(gone)
}

fn gone(e: io::Error) -> crate::Error {
    crate::Error::Io {
        context: "cannot send the export".into(),
        source: e,
    }
}

/// Sends each write on to the body as one chunk (the table writer
/// buffers about 64 KiB between writes); waits while the channel is
/// full, and fails once the client has gone.
#[derive(Clone)]
struct Chunks {
    tx: mpsc::Sender<Piece>,
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.tx
                .blocking_send(Piece::Bytes(buf.to_vec()))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_parameters_are_a_search_s_with_a_format_and_no_paging() {
        let (r, f) =
            export_request(Some("q=Section+907&outlet=JNS&format=jsonl&since=".into())).unwrap();
        assert_eq!(r.query, "Section 907");
        assert_eq!(r.filters.outlet, ["JNS"]);
        assert_eq!(f, TableFormat::Jsonl);
        let (_, f) = export_request(Some("q=x".into())).unwrap();
        assert_eq!(f, TableFormat::Csv);
        for (q, needle) in [
            ("q=x&format=xlsx", "format=csv"),
            ("q=x&limit=5", "does not apply"),
            ("q=x&offset=5", "does not apply"),
            ("q=x&colour=red", "unknown parameter"),
        ] {
            let e = export_request(Some(q.into())).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.message.contains(needle), "{q}: {}", e.message);
        }
    }
}
