//! Terminal output through the real binary: article text, names and
//! echoed input cannot drive the terminal (no escape sequence, bell or
//! bidi override reaches it), JSON stays exact, and a closed pipe ends a
//! command quietly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// Window title, clear screen, cursor up and erase line, a C1 CSI, a
/// right-to-left override.
const TITLE: &str = "\x1b]0;pwned\x07";
const HOSTILE_TEXT: &str = "SOCAR pipeline \x1b]0;pwned\x07 news \x1b[2J and \x1b[1A\x1b[2K erased lines, \u{9b}31m red, \u{202e}reversed\u{202c} end.\n\nA second paragraph on the SOCAR pipeline \x1b[2J deal with Baku.\n";

struct Fixture {
    _dir: tempfile::TempDir,
    config: PathBuf,
    index: PathBuf,
}

fn fixture() -> Fixture {
    let dir = project_copy();
    let root = dir.path();
    add_document(
        root,
        "control.txt",
        HOSTILE_TEXT,
        r#"
id = "control-chars"
file = "../seeds/control.txt"
title = "Title \u001b]0;pwned\u0007 here"
authors = ["Eve \u001b[2J Mallory"]
outlet = "Outlet \u001b[31m Red"
stance = "neutral"
genre = "opinion"
"#,
    );
    let config = root.join("index-config/nutgraf.toml");
    let index = root.join("idx");
    build_index(&config, &index);
    Fixture {
        _dir: dir,
        config,
        index,
    }
}

/// Control characters a terminal acts on.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn run_on(f: &Fixture, args: &[&str]) -> (String, String) {
    let out = nutgraf(&f.config, &f.index).args(args).output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_inert(what: &str, text: &str) {
    let bad: Vec<char> = text.chars().filter(|&c| acts_on_terminal(c)).collect();
    assert!(bad.is_empty(), "{what} prints {bad:?}:\n{text}");
}

#[test]
fn article_text_and_names_cannot_drive_the_terminal() {
    let f = fixture();
    let (out, _) = run_on(&f, &["search", "SOCAR pipeline"]);
    assert!(out.contains("Eve"), "the hostile document is found:\n{out}");
    assert_inert("search", &out);
    // Made visible, not dropped.
    assert!(out.contains("␛]0;pwned␇"), "{out}");
    assert!(out.contains("␛[2J"), "{out}");
    assert!(out.contains("Outlet ␛[31m Red"), "{out}");

    let (out, _) = run_on(&f, &["show", "control-chars#1", "--context", "1"]);
    assert_inert("show", &out);
    assert!(out.contains("Title ␛]0;pwned␇ here"), "{out}");

    let (out, _) = run_on(&f, &["similar", "control-chars#2"]);
    assert_inert("similar", &out);
    assert!(out.contains("Eve ␛[2J Mallory"), "{out}");

    for field in ["author", "outlet"] {
        let (out, _) = run_on(&f, &["facets", field]);
        assert_inert("facets", &out);
        assert!(out.contains('␛'), "{out}");
    }
    let (out, _) = run_on(&f, &["facets"]);
    assert_inert("facets", &out);

    // Errors that quote their input, on stderr.
    let (_, err) = run_on(&f, &["show", &format!("no-such{TITLE}#1")]);
    assert!(err.contains("no unit"), "{err}");
    assert_inert("an error", &err);
    assert!(err.contains("␛]0;pwned␇"), "{err}");
    let (_, err) = run_on(&f, &["search", "oil", "--author", "\x1b[2Jnobody"]);
    assert_inert("an error", &err);
    let (_, err) = run_on(&f, &["search", "Baku author:\x1b[2J"]);
    assert_inert("a query error", &err);
}

#[test]
fn json_keeps_the_text_exact() {
    let f = fixture();
    let out = nutgraf(&f.config, &f.index)
        .args(["search", "SOCAR pipeline", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hit = page(&v)
        .iter()
        .find(|h| h["id"] == "control-chars#1")
        .expect("the hostile paragraph is found");
    assert_eq!(hit["text"], HOSTILE_TEXT.split("\n\n").next().unwrap());
    assert_eq!(hit["title"], "Title \x1b]0;pwned\x07 here");
    assert_eq!(hit["authors"][0], "Eve \x1b[2J Mallory");
    // The raw bytes are escaped by JSON itself.
    assert!(!out.stdout.contains(&0x1b));
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("nutgraf")
}

fn closed_pipe_run(config: &Path, index: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(config)
        .arg("--index")
        .arg(index)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the command writes (`| head -0`).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    for args in [
        &["search", "Azerbaijan", "--limit", "100"][..],
        &["search", "Azerbaijan", "--json"],
        &["facets"],
    ] {
        let (code, err) = closed_pipe_run(&default_config(), seed_index(), args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}
