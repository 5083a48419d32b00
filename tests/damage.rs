//! A damaged index: every read either answers exactly as the intact index
//! does or says the index is damaged (exit 2, "run `nutgraf index
//! --rebuild`"); never a panic. Random byte flips and truncations over
//! every kind of file of a seed index, most cases in-process through the
//! library, a sample through the real binary; and the behaviours around
//! damage: `check`, `serve`, a lost `meta.json`, a read-only index, lock
//! messages and the clean-up of what a killed run leaves.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{build_index, json_on, nutgraf, project_copy};
use nutgraf::index::integrity;
use nutgraf::search::similar::similar;
use nutgraf::search::{Filters, SearchRequest};
use nutgraf::Searcher;
use serde_json::Value;

const QUERY: &str = "azerbaijan israel";
const OUTLET: &str = "BESA Center";
const SHOWN: &str = "besa-engage-azerbaijan#4";
const SIMILAR_TO: &str = "newarab-azerbaijan-abraham-accords#4";

/// The kinds of file a seed index has, by how their names end.
const KINDS: [&str; 9] = [
    ".fast",
    ".term",
    ".idx",
    ".pos",
    ".fieldnorm",
    ".store",
    ".del",
    "meta.json",
    ".managed.json",
];

/// A project copy with a seed index that has deletions (a document
/// changed after the first build), so every kind of file exists. Its
/// imports leave up to eight segments: merged, the changed document's
/// segment would lose its deletions.
fn seed_project() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let project = project_copy();
    let config = project.path().join("index-config/nutgraf.toml");
    let settings = std::fs::read_to_string(&config).unwrap();
    assert!(settings.contains("\nsegments = 0\n"));
    std::fs::write(
        &config,
        settings.replace("\nsegments = 0\n", "\nsegments = 8\n"),
    )
    .unwrap();
    let index = project.path().join("idx");
    build_index(&config, &index);
    let seed = project.path().join("seeds/004_695256bb226bb410.txt");
    let mut text = std::fs::read_to_string(&seed).unwrap();
    text.push_str("\nA closing paragraph about pomegranates.\n");
    std::fs::write(&seed, text).unwrap();
    build_index(&config, &index);
    (project, config, index)
}

/// The index's files of one kind.
fn files_of(index: &Path, kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            match kind {
                "meta.json" | ".managed.json" => name == kind,
                _ => name.ends_with(kind) && !name.starts_with('.'),
            }
        })
        .collect();
    files.sort();
    files
}

/// A small deterministic generator (xorshift64*): the same cases on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One way of damaging a file.
#[derive(Debug, Clone)]
enum Harm {
    /// XOR `len` bytes from `at` with `mask` (never 0).
    Flip {
        at: usize,
        len: usize,
        mask: u8,
    },
    Truncate {
        to: usize,
    },
    Delete,
}

impl Harm {
    fn pick(rng: &mut Rng, size: usize) -> Harm {
        let mask = (rng.below(255) + 1) as u8;
        match rng.below(20) {
            // The middle of the file, 16 bytes (the case that panicked).
            0..=1 => Harm::Flip {
                at: size / 2,
                len: 16,
                mask,
            },
            2..=12 => Harm::Flip {
                at: rng.below(size),
                len: 1 + rng.below(16),
                mask,
            },
            13..=18 => Harm::Truncate {
                to: rng.below(size),
            },
            _ => Harm::Delete,
        }
    }

    fn apply(&self, file: &Path, original: &[u8]) {
        match *self {
            Harm::Flip { at, len, mask } => {
                let mut bytes = original.to_vec();
                for b in bytes.iter_mut().skip(at).take(len) {
                    *b ^= mask;
                }
                std::fs::write(file, bytes).unwrap();
            }
            Harm::Truncate { to } => std::fs::write(file, &original[..to]).unwrap(),
            Harm::Delete => std::fs::remove_file(file).unwrap(),
        }
    }
}

/// A JSON answer without its timings.
fn untimed(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("took_us");
        o.remove("took_ms");
    }
    v
}

/// Each read in-process, as the commands run it: the answer, or the
/// error's message.
fn reads(index: &Path) -> Vec<(&'static str, Result<Value, String>)> {
    let dir = || Some(index.to_path_buf());
    let run = |work: &dyn Fn() -> nutgraf::Result<Value>| {
        integrity::guard(dir, work).map_err(|e| e.to_string())
    };
    let open = || Searcher::open(index, false);
    vec![
        (
            "search",
            run(&|| {
                let mut request = SearchRequest::new(QUERY);
                request.filters = Filters {
                    outlet: vec![OUTLET.into()],
                    ..Filters::default()
                };
                Ok(untimed(
                    serde_json::to_value(open()?.search(&request)?).unwrap(),
                ))
            }),
        ),
        (
            "search (ranking)",
            run(&|| {
                let mut request = SearchRequest::new("abraham accords");
                request.limit = 50;
                Ok(untimed(
                    serde_json::to_value(open()?.search(&request)?).unwrap(),
                ))
            }),
        ),
        (
            "show",
            run(&|| Ok(serde_json::to_value(open()?.show(SHOWN, 2)?).unwrap())),
        ),
        (
            "similar",
            run(&|| {
                Ok(untimed(
                    serde_json::to_value(similar(&open()?, SIMILAR_TO, 10)?).unwrap(),
                ))
            }),
        ),
        (
            "facets",
            run(&|| Ok(serde_json::to_value(open()?.facets()?).unwrap())),
        ),
        (
            "check",
            run(&|| {
                let report = integrity::check(index)?;
                match report.error(index) {
                    Some(e) => Err(e),
                    None => Ok(serde_json::json!({
                        "units": report.units, "segments": report.segments,
                        "files": report.files, "bytes": report.bytes,
                    })),
                }
            }),
        ),
    ]
}

fn is_damage_message(message: &str) -> bool {
    message.contains("is damaged") && message.contains("nutgraf index --rebuild")
}

/// Panics raised outside this file (inside tantivy or nutgraf) are
/// counted and kept off stderr; the test's own assertions still print.
static LIBRARY_PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_library_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = info.location().is_some_and(|l| l.file().contains("tests"));
            if ours {
                default(info);
            } else {
                LIBRARY_PANICS.fetch_add(1, Ordering::Relaxed);
            }
        }));
    });
}

#[test]
fn a_damaged_index_answers_as_before_or_says_it_is_damaged() {
    count_library_panics();
    let (_project, _config, index) = seed_project();
    let baseline = reads(&index);
    for (name, answer) in &baseline {
        assert!(answer.is_ok(), "{name} on the intact index: {answer:?}");
    }
    for kind in KINDS {
        assert!(!files_of(&index, kind).is_empty(), "no {kind} file");
    }

    const CASES: usize = 1_100;
    let mut rng = Rng(0x5eed_da4a_6e00_0001);
    let mut outcomes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in 0..CASES {
        let kind = KINDS[case % KINDS.len()];
        let candidates = files_of(&index, kind);
        let file = &candidates[rng.below(candidates.len())];
        let original = std::fs::read(file).unwrap();
        let harm = Harm::pick(&mut rng, original.len());
        harm.apply(file, &original);
        let answers = reads(&index);
        std::fs::write(file, &original).unwrap();

        let (same, damaged) = outcomes.entry(kind).or_default();
        for ((name, got), (_, want)) in answers.iter().zip(&baseline) {
            match got {
                Ok(v) => {
                    assert_eq!(
                        Ok(v),
                        want.as_ref(),
                        "case {case}: {name} answered differently after {harm:?} on {}",
                        file.display()
                    );
                    *same += 1;
                }
                Err(message) => {
                    assert!(
                        is_damage_message(message),
                        "case {case}: {name} after {harm:?} on {}: {message}",
                        file.display()
                    );
                    *damaged += 1;
                }
            }
        }
    }
    // The restored index is intact again.
    assert_eq!(
        reads(&index)
            .into_iter()
            .map(|(_, a)| a)
            .collect::<Vec<_>>(),
        baseline.into_iter().map(|(_, a)| a).collect::<Vec<_>>()
    );
    eprintln!(
        "{CASES} cases (reads as before, reads saying damaged) by file kind: {outcomes:?}; \
         panics caught inside the library: {}",
        LIBRARY_PANICS.load(Ordering::Relaxed)
    );
}

/// The read commands through the real binary: their exit code and
/// output (without timings) or the damage message.
fn commands(config: &Path, index: &Path) -> Vec<(String, Option<i32>, String, String)> {
    let runs: [&[&str]; 5] = [
        &["search", QUERY, "--outlet", OUTLET, "--json"],
        &["show", SHOWN, "--json"],
        &["similar", SIMILAR_TO, "--json"],
        &["facets", "--json"],
        &["check", "--json"],
    ];
    runs.iter()
        .map(|args| {
            let out = nutgraf(config, index).args(*args).output().unwrap();
            let stdout = serde_json::from_slice::<Value>(&out.stdout)
                .map(|v| untimed(v).to_string())
                .unwrap_or_else(|_| String::from_utf8_lossy(&out.stdout).into_owned());
            (
                args[0].to_string(),
                out.status.code(),
                stdout,
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

#[test]
fn the_commands_on_a_damaged_index_exit_2_with_the_damage_message_never_a_panic() {
    let (_project, config, index) = seed_project();
    let baseline = commands(&config, &index);
    for (name, code, _, err) in &baseline {
        assert_eq!(*code, Some(0), "{name}: {err}");
    }
    let mut rng = Rng(0x0b1a_5eed_0000_0002);
    for case in 0..KINDS.len() * 5 {
        let kind = KINDS[case % KINDS.len()];
        let candidates = files_of(&index, kind);
        let file = &candidates[rng.below(candidates.len())];
        let original = std::fs::read(file).unwrap();
        let harm = Harm::pick(&mut rng, original.len());
        harm.apply(file, &original);
        let got = commands(&config, &index);
        std::fs::write(file, &original).unwrap();
        for ((name, code, stdout, err), (_, _, want, _)) in got.iter().zip(&baseline) {
            let what = format!("case {case}: {name} after {harm:?} on {}", file.display());
            assert!(!err.contains("panicked"), "{what}: {err}");
            match code {
                Some(0) if name == "check" => {
                    assert!(stdout.contains("\"healthy\":true"), "{what}: {stdout}")
                }
                Some(0) => assert_eq!(stdout, want, "{what}"),
                Some(2) => assert!(is_damage_message(err), "{what}: {err}"),
                other => panic!("{what}: exit {other:?}: {err}"),
            }
        }
    }
}

/// The defect as found: 16 bytes flipped in the middle of a `.fast` file
/// made every read command panic.
#[test]
fn sixteen_bytes_flipped_in_a_fast_file_are_damage_for_every_read_command() {
    let (_project, config, index) = seed_project();
    let file = files_of(&index, ".fast").pop().unwrap();
    let original = std::fs::read(&file).unwrap();
    Harm::Flip {
        at: original.len() / 2,
        len: 16,
        mask: 0xff,
    }
    .apply(&file, &original);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    for (command, code, _, err) in commands(&config, &index) {
        assert_eq!(code, Some(2), "{command}: {err}");
        assert!(is_damage_message(&err), "{command}: {err}");
        assert!(err.contains(&name), "{command} names the file: {err}");
        assert!(!err.contains("panicked"), "{command}: {err}");
    }
}

/// A cut file is damage, not "an old tantivy version".
#[test]
fn a_truncated_file_is_damage() {
    let (_project, config, index) = seed_project();
    let file = files_of(&index, ".store").pop().unwrap();
    let original = std::fs::read(&file).unwrap();
    std::fs::write(&file, &original[..original.len() / 3]).unwrap();
    let out = nutgraf(&config, &index)
        .args(["search", QUERY])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(is_damage_message(&err), "{err}");
    assert!(!err.contains("version"), "{err}");
}

/// Changed bytes in the field norms changed the ranking silently: the
/// checksum catches them, though no read would fail.
#[test]
fn changed_field_norms_are_caught_by_their_checksum() {
    let (_project, config, index) = seed_project();
    for file in files_of(&index, ".fieldnorm") {
        let original = std::fs::read(&file).unwrap();
        Harm::Flip {
            at: original.len() / 4,
            len: 8,
            mask: 0x11,
        }
        .apply(&file, &original);
    }
    let out = nutgraf(&config, &index)
        .args(["search", "abraham accords", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(".fieldnorm") && err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn check_reports_an_intact_index_and_lists_what_is_damaged() {
    let (_project, config, index) = seed_project();
    let healthy = json_on(&config, &index, &["check", "--json"]);
    assert_eq!(healthy["healthy"], true, "{healthy}");
    assert!(healthy["units"].as_u64().unwrap() > 100, "{healthy}");
    assert!(healthy["files"].as_u64().unwrap() >= 7, "{healthy}");
    let out = nutgraf(&config, &index).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));

    let term = files_of(&index, ".term").pop().unwrap();
    let pos = files_of(&index, ".pos").pop().unwrap();
    let original = std::fs::read(&term).unwrap();
    Harm::Flip {
        at: 10,
        len: 1,
        mask: 1,
    }
    .apply(&term, &original);
    std::fs::remove_file(&pos).unwrap();
    let out = nutgraf(&config, &index)
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    let problems: Vec<String> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}: {}", p["file"], p["problem"]))
        .collect();
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&name(&term)) && p.contains("checksum")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&name(&pos)) && p.contains("missing")),
        "{problems:?}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        is_damage_message(&err) && err.contains("1 more problem"),
        "{err}"
    );
}

#[test]
fn serve_checks_the_index_before_serving() {
    let (_project, config, index) = seed_project();
    let file = files_of(&index, ".idx").pop().unwrap();
    let original = std::fs::read(&file).unwrap();
    Harm::Flip {
        at: original.len() / 2,
        len: 4,
        mask: 0x40,
    }
    .apply(&file, &original);
    let out = nutgraf(&config, &index)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(is_damage_message(&err), "{err}");
    assert!(!err.contains("serving"), "{err}");
}

/// A lost `meta.json` beside intact segments is damage: not "no index
/// yet", and a search does not build a new index over it; `index
/// --rebuild` replaces it.
#[test]
fn a_lost_meta_json_is_damage_and_rebuild_repairs_it() {
    let (_project, config, index) = seed_project();
    std::fs::remove_file(index.join("meta.json")).unwrap();
    for args in [&["search", QUERY][..], &["facets"], &["check"], &["index"]] {
        let out = nutgraf(&config, &index).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            is_damage_message(&err) && err.contains("meta.json"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("building"), "{args:?}: {err}");
    }
    assert!(
        !index.join("meta.json").exists(),
        "nothing was built over it"
    );

    let report = json_on(&config, &index, &["index", "--rebuild", "--json"]);
    assert_eq!(report["documents_added"], 5, "{report}");
    let v = json_on(&config, &index, &["search", "pomegranates", "--json"]);
    assert_eq!(v["total_hits"], 1);
    let healthy = json_on(&config, &index, &["check", "--json"]);
    assert_eq!(healthy["healthy"], true);
    // Nothing is left beside the index.
    let beside: Vec<String> = std::fs::read_dir(index.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("idx"))
        .collect();
    assert_eq!(beside, vec!["idx".to_string()]);
}

/// A damaged index asks for `--rebuild`, and `--rebuild` works.
#[test]
fn rebuild_replaces_a_damaged_index() {
    let (_project, config, index) = seed_project();
    let file = files_of(&index, ".store").pop().unwrap();
    std::fs::write(&file, b"not a store").unwrap();
    let out = nutgraf(&config, &index).arg("index").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(is_damage_message(&err), "{err}");
    let report = json_on(&config, &index, &["index", "--rebuild", "--json"]);
    assert_eq!(report["documents_added"], 5, "{report}");
    assert_eq!(
        json_on(&config, &index, &["check", "--json"])["healthy"],
        true
    );
}

/// Searching takes no lock file: an index folder where none can be
/// created (here the lock's name is taken by a folder) is searchable.
#[test]
fn search_needs_no_lock_file() {
    let (_project, config, index) = seed_project();
    let lock = index.join(".tantivy-meta.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();
    let v = json_on(&config, &index, &["search", QUERY, "--json"]);
    assert!(v["total_hits"].as_u64().unwrap() > 0);
}

/// A read-only index is searchable. Made read-only by permissions or,
/// for a user whom permissions do not stop (root), by a read-only bind
/// mount where the system allows one; else the test says it was skipped.
#[cfg(unix)]
#[test]
fn a_read_only_index_is_searchable() {
    use std::os::unix::fs::PermissionsExt;
    let (project, config, index) = seed_project();
    let baseline = json_on(&config, &index, &["search", QUERY, "--json"]);
    let set = |mode: u32| {
        for entry in std::fs::read_dir(&index).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o444))
                    .unwrap();
            }
        }
        std::fs::set_permissions(&index, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    // No record of checked files yet: the search checks and would record.
    let _ = std::fs::remove_file(index.join(integrity::RECORD_FILE));
    set(0o555);
    let mut folder = index.clone();
    let mut mounted = None;
    if std::fs::write(index.join("probe"), b"").is_ok() {
        let _ = std::fs::remove_file(index.join("probe"));
        mounted = ReadOnlyMount::new(&index, &project.path().join("ro"));
        match &mounted {
            Some(m) => folder = m.at.clone(),
            None => {
                set(0o755);
                eprintln!("skipped: this user writes to read-only folders and cannot mount");
                return;
            }
        }
    }
    assert!(
        std::fs::write(folder.join("probe"), b"").is_err(),
        "not read-only"
    );
    let search = nutgraf(&config, &folder)
        .args(["search", QUERY, "--json"])
        .output()
        .unwrap();
    let check = nutgraf(&config, &folder).arg("check").output().unwrap();
    let index_run = nutgraf(&config, &folder).arg("index").output().unwrap();
    drop(mounted);
    set(0o755);
    let err = String::from_utf8_lossy(&search.stderr);
    assert_eq!(search.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_slice(&search.stdout).unwrap();
    assert_eq!(untimed(v), untimed(baseline));
    assert_eq!(check.status.code(), Some(0));
    // Indexing needs to write, and says why it cannot.
    let err = String::from_utf8_lossy(&index_run.stderr);
    assert_eq!(index_run.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("another `nutgraf index`")
            && (err.contains("read-only") || err.contains("permission denied")),
        "{err}"
    );
}

/// A read-only bind mount of a folder, undone when dropped.
#[cfg(unix)]
struct ReadOnlyMount {
    at: PathBuf,
}

#[cfg(unix)]
impl ReadOnlyMount {
    fn new(folder: &Path, at: &Path) -> Option<ReadOnlyMount> {
        let run = |args: &[&std::ffi::OsStr]| {
            std::process::Command::new("mount")
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        std::fs::create_dir_all(at).ok()?;
        if !run(&["--bind".as_ref(), folder.as_os_str(), at.as_os_str()]) {
            return None;
        }
        let mount = ReadOnlyMount {
            at: at.to_path_buf(),
        };
        run(&["-o".as_ref(), "remount,ro,bind".as_ref(), at.as_os_str()]).then_some(mount)
    }
}

#[cfg(unix)]
impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.at).status();
    }
}

/// A lock that cannot be taken for a reason other than another indexer
/// says that reason.
#[test]
fn a_lock_failure_says_its_real_cause() {
    let (_project, config, index) = seed_project();
    let lock = index.join(".tantivy-writer.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();
    let out = nutgraf(&config, &index).arg("index").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("another `nutgraf index`"), "{err}");
    assert!(
        err.contains("lock file") && err.contains(&index.display().to_string()),
        "{err}"
    );
}

/// Segment files a killed run wrote but never committed are removed by
/// the next run, even one with nothing to commit; so is the staging
/// folder of a killed rebuild.
#[test]
fn what_a_killed_run_leaves_is_cleaned_by_the_next() {
    let (_project, config, index) = seed_project();
    let before = files_of(&index, ".store").len();
    // An uncommitted segment: written and flushed, never committed.
    {
        let tantivy_index = tantivy::Index::open_in_dir(&index).unwrap();
        nutgraf::text::analysis::register(&tantivy_index);
        let fields = nutgraf::index::schema::Fields::new();
        let mut writer: tantivy::IndexWriter = tantivy_index
            .writer_with_num_threads(1, 20_000_000)
            .unwrap();
        for i in 0..50 {
            writer
                .add_document(tantivy::doc!(fields.text => format!("orphan {i}")))
                .unwrap();
        }
        let prepared = writer.prepare_commit().unwrap();
        drop(prepared);
        drop(writer);
    }
    assert_eq!(
        files_of(&index, ".store").len(),
        before + 1,
        "an orphan was written"
    );
    let staging = index.with_file_name("idx.rebuilding");
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("meta.json"), b"{}").unwrap();

    let report = json_on(&config, &index, &["index", "--json"]);
    assert_eq!(report["committed"], false, "{report}");
    assert_eq!(
        files_of(&index, ".store").len(),
        before,
        "the orphan is gone"
    );
    assert!(!staging.exists(), "the stale staging folder is gone");
    assert_eq!(
        json_on(&config, &index, &["check", "--json"])["healthy"],
        true
    );
}

/// `show` of a paragraph past a document's end says how many it has.
#[test]
fn show_past_the_end_says_how_many_paragraphs_the_document_has() {
    let (_project, config, index) = seed_project();
    let shown = json_on(
        &config,
        &index,
        &["show", "besa-engage-azerbaijan#1", "--json"],
    );
    let n = shown["units"][0]["paragraphs_in_doc"].as_u64().unwrap();
    for command in ["show", "similar"] {
        let out = nutgraf(&config, &index)
            .args([command, "besa-engage-azerbaijan#999"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("has {n} paragraphs"))
                && err.contains(&format!("besa-engage-azerbaijan#{n}")),
            "{command}: {err}"
        );
    }
}

/// Sets a file's modification time.
fn set_modified(file: &Path, at: std::time::SystemTime) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

/// Damage that keeps a file's length, inode and modification time (bit
/// rot) passes the remembered check of one-shot commands; the reads that
/// then fail or panic inside tantivy are caught, confirmed by a full
/// check and reported as damage.
#[test]
fn damage_behind_an_unchanged_stamp_is_caught_when_a_read_fails() {
    use std::io::{Seek, SeekFrom, Write};
    let (_project, config, index) = seed_project();
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            set_modified(&path, long_ago);
        }
    }
    // Checked once and remembered.
    json_on(&config, &index, &["facets", "--json"]);
    assert!(index.join(integrity::RECORD_FILE).exists());

    let fast = files_of(&index, ".fast");
    let file = fast
        .iter()
        .max_by_key(|f| f.metadata().unwrap().len())
        .unwrap();
    let len = file.metadata().unwrap().len();
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    // Most of the file, its footer (length and checksum) kept: a few
    // bytes in the middle may lie in a column no command reads.
    let (from, to) = (len / 8, len.saturating_sub(64));
    f.seek(SeekFrom::Start(from)).unwrap();
    f.write_all(&vec![0xa5; (to - from) as usize]).unwrap();
    drop(f);
    set_modified(file, long_ago);

    for (command, code, _, err) in commands(&config, &index) {
        assert!(!err.contains("panicked"), "{command}: {err}");
        assert_eq!(code, Some(2), "{command} answered: {err}");
        assert!(is_damage_message(&err), "{command}: {err}");
    }
}

/// A deletion file newer than the last commit is an indexer's work not
/// yet committed (one running now, or one killed before its commit): not
/// damage. The same file at a committed opstamp is (a lost `deletes`
/// entry would bring deleted units back).
#[test]
fn an_uncommitted_deletion_file_is_not_damage() {
    let (_project, config, index) = seed_project();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(index.join("meta.json")).unwrap()).unwrap();
    let committed = meta["opstamp"].as_u64().unwrap();
    let deletions = files_of(&index, ".del");
    let bytes = std::fs::read(&deletions[0]).unwrap();
    let stem_of = |p: &PathBuf| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        name.split('.').next().unwrap().to_string()
    };
    let with: Vec<String> = deletions.iter().map(stem_of).collect();
    let without = files_of(&index, ".store")
        .iter()
        .map(stem_of)
        .find(|s| !with.contains(s))
        .expect("a segment without deletions");
    let check = |config: &Path| nutgraf(config, &index).args(["check"]).output().unwrap();
    let pending = index.join(format!("{without}.{}.del", committed + 1));
    std::fs::write(&pending, &bytes).unwrap();
    let out = check(&config);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&pending).unwrap();
    std::fs::write(index.join(format!("{without}.{committed}.del")), &bytes).unwrap();
    let out = check(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
}
