//! Fuzz suites, run by `cargo test`: the splitter, the config loader and
//! the collection readers (JSONL, CSV, gzip) take random and mangled
//! input. None may panic, and none may hang: every case runs on a thread
//! of its own under a generous time limit, and inputs are kept small so
//! thousands of cases take seconds.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use nutgraf::config::SplitRules;
use nutgraf::ingest::collection::{self, ProblemKind, Record};
use nutgraf::ingest::split::Splitter;
use nutgraf::Config;
use proptest::prelude::*;

/// Far beyond what one small case needs: reaching it means a hang.
const CASE_LIMIT: Duration = Duration::from_secs(20);

/// Runs `f` on a thread of its own; a panic or a hang fails the case.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no answer within {CASE_LIMIT:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/collection")
}

fn fixture_config(name: &str) -> Config {
    Config::load(&fixtures().join(name)).expect("the fixture config loads")
}

/// Reads a whole collection file with a fixture config's mapping.
fn read_all(config: &Config, file: &Path) -> Vec<Record> {
    let stances: Vec<String> = config
        .corpus
        .stances
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    match collection::open(
        &config.collections[0],
        Some(file),
        &config.authors,
        &stances,
    ) {
        Ok(reader) => reader.collect(),
        Err(_) => Vec::new(),
    }
}

/// Reads `bytes` as a collection file (under a time limit).
fn read_bytes(config_name: &'static str, file_name: &'static str, bytes: Vec<u8>) -> Vec<Record> {
    within(file_name, move || {
        let config = fixture_config(config_name);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(file_name);
        std::fs::write(&file, &bytes).unwrap();
        read_all(&config, &file)
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A byte string with random edits: bytes replaced, removed, inserted.
fn mangled(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    proptest::collection::vec((0..len, 0u8..3, any::<u8>()), 1..12).prop_map(move |edits| {
        let mut out = base.clone();
        for (at, how, byte) in edits {
            let at = at.min(out.len());
            match how {
                0 if at < out.len() => out[at] = byte,
                1 if at < out.len() => {
                    out.remove(at);
                }
                _ => out.insert(at, byte),
            }
        }
        out
    })
}

/// Bytes that look like collection text: mostly JSON and CSV punctuation.
fn collection_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = prop_oneof![
        Just(b'"'),
        Just(b','),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'{'),
        Just(b'}'),
        Just(b':'),
        Just(b'\\'),
        Just(b'#'),
        Just(b' '),
        b'a'..=b'z',
        any::<u8>(),
    ];
    proptest::collection::vec(alphabet, 0..600)
}

fn jsonl_fixture() -> Vec<u8> {
    std::fs::read(fixtures().join("news.jsonl")).unwrap()
}

fn csv_fixture() -> Vec<u8> {
    std::fs::read(fixtures().join("news.csv")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_splitter_takes_any_text(text in "(?s).{0,400}", authors in proptest::collection::vec("[A-Za-z .'’-]{0,20}", 0..3)) {
        let splitter = Splitter::new(&SplitRules::default()).unwrap();
        let paragraphs = within("split", move || splitter.split(&text, &authors));
        for p in &paragraphs {
            prop_assert!(!p.text.trim().is_empty(), "an empty paragraph: {paragraphs:?}");
        }
    }

    #[test]
    fn the_splitter_takes_paragraph_soup(parts in proptest::collection::vec(prop_oneof![
        Just("\n".to_string()), Just("\n\n".to_string()), Just("\r\n".to_string()),
        Just("By Jane Doe".to_string()), Just("Photo: AP".to_string()), Just("  ".to_string()),
        Just("Advertisement".to_string()), Just("\u{a0}".to_string()), Just("—".to_string()),
        "[A-Za-z ,.]{1,40}",
    ], 0..40)) {
        let text = parts.concat();
        let splitter = Splitter::new(&SplitRules::default()).unwrap();
        within("split", move || splitter.split(&text, &["Jane Doe".to_string()]));
    }

    #[test]
    fn the_config_loader_names_the_file_on_mangled_toml(bytes in mangled(std::fs::read(fixtures().join("news.toml")).unwrap())) {
        let outcome = within("config", move || {
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(fixtures().join("news.jsonl"), dir.path().join("news.jsonl")).unwrap();
            let path = dir.path().join("fuzzed.toml");
            std::fs::write(&path, &bytes).unwrap();
            Config::load(&path).map(|_| ()).map_err(|e| e.to_string())
        });
        if let Err(message) = outcome {
            prop_assert!(message.contains("fuzzed.toml"), "{message}");
        }
    }

    #[test]
    fn the_config_loader_names_the_file_on_random_toml(text in "(?s)[\\[\\]=\"'a-z0-9_. \n{},#-]{0,300}") {
        let outcome = within("config", move || {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("random.toml");
            std::fs::write(&path, text).unwrap();
            Config::load(&path).map(|_| ()).map_err(|e| e.to_string())
        });
        if let Err(message) = outcome {
            prop_assert!(message.contains("random.toml"), "{message}");
        }
    }

    #[test]
    fn jsonl_takes_random_bytes(bytes in collection_bytes()) {
        read_bytes("news.toml", "random.jsonl", bytes);
    }

    #[test]
    fn jsonl_takes_mangled_records(bytes in mangled(jsonl_fixture())) {
        read_bytes("news.toml", "mangled.jsonl", bytes);
    }

    #[test]
    fn csv_takes_random_bytes(bytes in collection_bytes()) {
        read_bytes("news-csv.toml", "random.csv", bytes);
    }

    #[test]
    fn csv_takes_mangled_records(bytes in mangled(csv_fixture())) {
        read_bytes("news-csv.toml", "mangled.csv", bytes);
    }

    #[test]
    fn gzip_takes_random_bytes_after_its_magic(bytes in collection_bytes()) {
        let mut gz = vec![0x1f, 0x8b];
        gz.extend(bytes);
        read_bytes("news.toml", "random.jsonl.gz", gz.clone());
        read_bytes("news-csv.toml", "random.csv.gz", gz);
    }

    #[test]
    fn gzip_takes_mangled_streams(bytes in mangled(gzip(&jsonl_fixture()))) {
        read_bytes("news.toml", "mangled.jsonl.gz", bytes);
    }

    /// A gzip file cut anywhere past its magic ends in an unreadable-file
    /// problem: never a complete-looking read, never a hang.
    #[test]
    fn a_cut_gzip_ends_unreadable(csv in any::<bool>(), cut in 2usize..10_000) {
        let (config, name, text) = if csv {
            ("news-csv.toml", "cut.csv.gz", csv_fixture())
        } else {
            ("news.toml", "cut.jsonl.gz", jsonl_fixture())
        };
        let whole = gzip(&text);
        let cut = cut % (whole.len() - 2) + 2;
        let records = read_bytes(config, name, whole[..cut].to_vec());
        let last = records.last().map(|r| r.as_ref().map_err(|p| p.kind));
        prop_assert_eq!(last, Some(Err(ProblemKind::Unreadable)), "cut at {} of {}", cut, whole.len());
    }
}
