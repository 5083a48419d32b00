//! An export's memory does not grow with its rows: each unit is read and
//! handed on, never all of them kept. Measured with an allocator of its
//! own that follows the bytes in use and their peak, so this test has a
//! binary of its own.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use nutgraf::search::SearchRequest;
use nutgraf::table::citation::{CitationRow, COLUMNS};
use nutgraf::table::{TableFormat, TableWriter};
use nutgraf::{SearchService, Searcher};

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = IN_USE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Counts the bytes written, keeps none.
struct Sink(usize);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn exporting_thousands_of_units_keeps_memory_flat() {
    // 3,000 stories of 16 paragraphs of about 600 bytes: 48,000 units,
    // about 33 MB of rows.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("many.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&data).unwrap());
    for d in 0..3000 {
        let paragraphs: Vec<String> = (0..16)
            .map(|p| {
                let filler = format!("word{} ", (d * 16 + p) % 997).repeat(60);
                format!("Paragraph {p} of story {d} on the ledger: {filler}")
            })
            .collect();
        let stance = ["left", "center", "right"][d % 3];
        let line = serde_json::json!({
            "ID": format!("m{d}"), "title": format!("Story {d}"), "authors": "Jane Doe",
            "source": "Daily Planet", "bias_text": stance,
            "date": "2019-01-01", "url": "", "content_original": paragraphs.join("\n\n"),
        });
        writeln!(f, "{line}").unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let config = dir.path().join("many.toml");
    let text = std::fs::read_to_string(common::root().join("tests/fixtures/collection/news.toml"))
        .unwrap()
        .replace("news.jsonl", data.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let index = dir.path().join("idx");
    common::build_index(&config, &index);

    let searcher = Searcher::open(&index, false).unwrap();
    let request = SearchRequest::new("ledger");
    let total = searcher.search(&request).unwrap().total_hits;
    assert_eq!(total, 48_000);

    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut table = TableWriter::new(TableFormat::Csv, Sink(0), &COLUMNS).unwrap();
    let exported = SearchService::export(&searcher, &request, &mut |unit| {
        table
            .write(&CitationRow::new(&unit))
            .map_err(|e| nutgraf::Error::Io {
                context: "test".into(),
                source: e,
            })
    })
    .unwrap();
    let written = table.finish().unwrap().0;
    let peak = PEAK.load(Ordering::Relaxed) - before;

    assert_eq!(exported.rows, total, "a row per counted unit");
    assert!(written > 30_000_000, "{written} bytes written");
    eprintln!("peak {peak} bytes in use for {written} bytes of rows");
    // The matches as addresses (16 bytes each, 0.8 MB), a few chunks of
    // units in flight and the store's block caches: a few MB, whatever
    // the rows come to. Kept rows would be over 30 MB.
    assert!(
        peak < written / 3,
        "the export held {peak} bytes at its peak for {written} bytes of rows"
    );
}
