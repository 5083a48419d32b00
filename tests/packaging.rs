//! The crate as people install it: version line, completions, man page,
//! and what a build without an optional feature says.

mod common;

use common::*;

fn stdout_of(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn version_names_the_index_schema() {
    let line = stdout_of(&["--version"]);
    let expected = format!(
        "nutgraf {} (index schema v{})",
        env!("CARGO_PKG_VERSION"),
        nutgraf::index::schema::SCHEMA_VERSION
    );
    assert_eq!(line.trim(), expected);
}

#[test]
fn completions_cover_every_command_and_flag() {
    let bash = stdout_of(&["completions", "bash"]);
    for word in [
        "search",
        "show",
        "similar",
        "facets",
        "serve",
        "--facet-limit",
        "--stance",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let fish = stdout_of(&["completions", "fish"]);
    assert!(fish.contains("complete -c nutgraf"), "{fish}");
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef nutgraf"), "{zsh}");
    let bad = run(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn man_page_is_roff_with_the_commands() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH nutgraf 1"), "{page}");
    for command in ["search", "facets", "serve", "completions"] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
}

#[cfg(not(feature = "yardsticks"))]
#[test]
fn a_yardstick_outside_this_build_says_how_to_get_it() {
    let queries = root().join("benches/queries/seeds.txt");
    let out = nutgraf(&default_config(), seed_index())
        .args(["bench", "--sqlite", "--runs", "1", "--queries"])
        .arg(&queries)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not in this build") && err.contains("--features yardsticks"),
        "{err}"
    );
}
