//! The web page in headless Chromium (playwright-core from npm driving
//! Debian's chromium): the journalist's path through the page, and markup
//! in article text rendered inert. They are ignored by a plain
//! `cargo test` (they need a browser); `.ci/run` installs what they need
//! and runs them, and run without it they fail saying what is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Node, Chromium and playwright-core, or why not.
fn browser() -> Result<PathBuf, String> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if !chromium.is_file() {
        return Err(format!("no Chromium at {}", chromium.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("no node".into());
    }
    if !root()
        .join("tests/e2e/node_modules/playwright-core")
        .is_dir()
    {
        return Err("no tests/e2e/node_modules (cd tests/e2e && npm install)".into());
    }
    Ok(chromium)
}

/// The browser; a test asked to run without one fails and says why.
fn chromium() -> PathBuf {
    browser().unwrap_or_else(|why| panic!("{why}: `.ci/run` installs what the browser tests need"))
}

fn node(script: &str, server: &Server, chromium: &Path) {
    node_with(script, server, chromium, &[]);
}

/// As [`node`], with more variables for the script (other servers).
fn node_with(script: &str, server: &Server, chromium: &Path, vars: &[(&str, &str)]) {
    let out = Command::new("node")
        .arg(root().join("tests/e2e").join(script))
        .current_dir(root())
        .envs(vars.iter().copied())
        .env("NUTGRAF_URL", &server.url)
        .env("CHROMIUM", chromium)
        .env("SCREENSHOT_DIR", root().join("target/e2e"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("not ok"), "{stdout}");
}

#[test]
#[ignore = "needs Chromium, node and tests/e2e/node_modules: run by .ci/run"]
fn a_journalist_searches_filters_expands_and_pages() {
    let chromium = chromium();
    // A screenshot left by an earlier run must not pass for this one.
    let screenshot = root().join("target/e2e/results.png");
    let _ = std::fs::remove_file(&screenshot);
    let server = start(&default_config(), seed_index(), Some("127.0.0.1:0"));
    // A wire story reprinted by three outlets, for the trace view.
    let wire_config = root().join("tests/fixtures/wire/wire.toml");
    let wire_index = tempfile::tempdir().unwrap();
    build_index(&wire_config, wire_index.path());
    let wire = start(&wire_config, wire_index.path(), Some("127.0.0.1:0"));
    node_with(
        "page.test.mjs",
        &server,
        &chromium,
        &[("NUTGRAF_WIRE_URL", wire.url.as_str())],
    );
    assert!(screenshot.is_file(), "the page test took no screenshot");
}

#[test]
#[ignore = "needs Chromium, node and tests/e2e/node_modules: run by .ci/run"]
fn markup_in_articles_renders_as_text() {
    let chromium = chromium();
    let project = project_copy();
    let dir = project.path();
    add_document(
        dir,
        "hostile.txt",
        "<script>window.__xss=1</script> \"><img src=x onerror=window.__xss=1> SOCAR\n\nSOCAR <b>bold</b> & more.\n\nA third paragraph.\n",
        r#"
id = "hostile"
file = "../seeds/hostile.txt"
title = "<script>window.__xss=1</script>"
authors = ["\"><img src=x onerror=window.__xss=1>"]
outlet = "<img src=x onerror=alert(2)>"
stance = "neutral"
genre = "opinion"
url = "https://example.org/\"><script>window.__xss=1</script>"
"#,
    );
    let config = dir.join("index-config/nutgraf.toml");
    let index = dir.join("idx");
    build_index(&config, &index);
    let server = start(&config, &index, Some("127.0.0.1:0"));
    node("hostile.test.mjs", &server, &chromium);
}
