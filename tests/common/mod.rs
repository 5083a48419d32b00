//! Shared helpers for the integration tests: run the real `nutgraf` binary
//! on the real seeds, each test with its own index folder.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `nutgraf` command on the given config and index.
pub fn nutgraf(config: &Path, index: &Path) -> Command {
    let mut c = Command::cargo_bin("nutgraf").expect("the nutgraf binary is built");
    c.arg("--config").arg(config).arg("--index").arg(index);
    c.env("NO_COLOR", "1");
    c
}

/// A seed index built once and shared (read-only) by the tests of one
/// test binary.
pub fn seed_index() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = nutgraf(&default_config(), dir.path())
            .arg("index")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

/// An index of a fixture collection (`config`), built once per test
/// binary into `cell` and shared read-only by its tests.
pub fn fixture_index(cell: &'static OnceLock<tempfile::TempDir>, config: &Path) -> &'static Path {
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        build_index(config, dir.path());
        dir
    })
    .path()
}

/// `--kind` for every kind: a search of everything, captions and
/// disclaimers included.
pub const ALL_KINDS: [&str; 14] = [
    "--kind",
    "body",
    "--kind",
    "heading",
    "--kind",
    "caption",
    "--kind",
    "disclaimer",
    "--kind",
    "bio",
    "--kind",
    "byline",
    "--kind",
    "list-item",
];

pub fn default_config() -> PathBuf {
    root().join("index-config/nutgraf.toml")
}

/// Runs a command on the shared seed index and returns its output.
pub fn run(args: &[&str]) -> Output {
    nutgraf(&default_config(), seed_index())
        .args(args)
        .output()
        .unwrap()
}

/// Runs a `--json` command on the seed index, asserting success.
pub fn json(args: &[&str]) -> Value {
    json_on(&default_config(), seed_index(), args)
}

/// A copy of a fixture folder (`tests/fixtures/NAME`) to change: the
/// folder, its config `NAME.toml` and where its index goes.
pub fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("tests/fixtures").join(name)).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, dir.path().join(from.file_name().unwrap())).unwrap();
    }
    let config = dir.path().join(format!("{name}.toml"));
    let index = dir.path().join("idx");
    (dir, config, index)
}

/// Builds or updates an index, asserting success.
pub fn build_index(config: &Path, index: &Path) {
    let out = nutgraf(config, index).arg("index").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Adds a document to a project copy: its text as `seeds/<file>` and its
/// `[[document]]` table (the lines after the header) to
/// `index-config/seeds.toml`.
pub fn add_document(project: &Path, file: &str, text: &str, table: &str) {
    std::fs::write(project.join("seeds").join(file), text).unwrap();
    let toml = project.join("index-config/seeds.toml");
    let mut seeds = std::fs::read_to_string(&toml).unwrap();
    seeds.push_str("\n[[document]]\n");
    seeds.push_str(table.trim_start());
    std::fs::write(&toml, seeds).unwrap();
}

/// Runs a `--json` command with a config and an index, asserting success
/// (exit 0, or 1 when nothing matched), and returns its JSON.
pub fn json_on(config: &Path, index: &Path, args: &[&str]) -> Value {
    let out = nutgraf(config, index).args(args).output().unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON on stdout")
}

/// `search QUERY --json` plus extra flags.
pub fn search(query: &str, extra: &[&str]) -> Value {
    let mut args = vec!["search", query, "--json", "--limit", "100"];
    args.extend_from_slice(extra);
    json(&args)
}

/// The hits `total_hits` counts: those that match the whole query (or,
/// in a relaxed search, every hit). A page that full matches do not fill
/// goes on with partial matches (marked with `matched_words`), which
/// [`page`] includes.
pub fn hits(v: &Value) -> Vec<&Value> {
    let relaxed = v["relaxed"] == true;
    page(v)
        .iter()
        .filter(|h| relaxed || h.get("matched_words").is_none())
        .collect()
}

/// Every hit on the page, partial matches included.
pub fn page(v: &Value) -> &Vec<Value> {
    v["hits"].as_array().expect("hits array")
}

pub fn field<'a>(hit: &'a Value, name: &str) -> &'a str {
    hit[name].as_str().unwrap_or_default()
}

/// Copies the config and seeds into a fresh folder, so a test may edit them.
pub fn project_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["index-config", "seeds"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(root().join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    dir
}

/// A running server, stopped when dropped; what it said on stderr is kept.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Whether the server said this on stderr so far.
    #[allow(dead_code)] // not every test file asks
    pub fn said(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }
}

pub fn start(config: &Path, index: &Path, addr: Option<&str>) -> Server {
    match addr {
        Some(a) => start_with(config, index, &["--addr", a]),
        None => start_with(config, index, &[]),
    }
}

/// `nutgraf serve` with these flags, once it says where it listens.
pub fn start_with(config: &Path, index: &Path, flags: &[&str]) -> Server {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("nutgraf"))
        .arg("--config")
        .arg(config)
        .arg("--index")
        .arg(index)
        .arg("serve")
        .args(flags)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("nutgraf serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let url = loop {
        let line = lines
            .next()
            .expect("the server says where it listens")
            .unwrap();
        log.lock().unwrap().push(line.clone());
        if let Some(i) = line.find("http://") {
            break line[i..]
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
        }
    };
    let addr = url["http://".len()..].parse().expect("host:port");
    // Keep draining stderr so the server never blocks on a full pipe.
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    Server {
        child,
        url,
        addr,
        log,
    }
}

/// The JSON objects of a JSON Lines output, a line each.
pub fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object a line"))
        .collect()
}

/// The `id` of each JSON Lines object.
pub fn jsonl_ids(out: &[u8]) -> Vec<String> {
    json_lines(out)
        .iter()
        .map(|v| v["id"].as_str().expect("an id").to_string())
        .collect()
}
