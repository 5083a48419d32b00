//! `nutgraf serve` against careless and hostile clients, through the real
//! binary on an ephemeral loopback port: every error is JSON, the `Host`
//! header is checked, half-sent requests and idle connections are closed,
//! connections are capped, signals stop or reload it as documented, and a
//! taken port says so.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A `serve` process on the seeds (an ephemeral loopback port) with
/// extra flags.
fn serve(flags: &[&str]) -> Served {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(flags);
    start_with(&default_config(), seed_index(), &all)
}

type Served = Server;

trait ServedExt {
    fn signal(&self, name: &str);
    fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus>;
    fn host(&self) -> String;
}

impl ServedExt for Served {
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status, if the server ends within `limit`.
    fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }
}

/// An answer read off the wire.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// Asserts a JSON error with this status and returns its message.
    fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.headers
                .get("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{status}: content-type {:?}",
            self.headers.get("content-type")
        );
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body))
            .to_string()
    }
}

/// Sends `head` (request line and headers, without the blank line), an
/// optional body, and reads the whole answer (the request asks the
/// server to close).
fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut request = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    s.write_all(&request).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status: status.parse().unwrap(),
        headers,
        body: body.to_string(),
    }
}

fn get(s: &Served, path: &str) -> Answer {
    send(
        s.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {}", s.host()),
        b"",
    )
}

#[test]
fn every_error_is_json_with_the_right_status() {
    let s = serve(&[]);
    let host = s.host();
    // The framework's own answers: wrong method, too large a body,
    // a malformed path, an unknown route.
    // Bodies are announced but not sent: the server answers from the
    // headers, and closing on unread bytes could reset the connection
    // before the answer is read.
    let e = send(
        s.addr,
        &format!("POST /api/search?q=oil HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0"),
        b"",
    );
    assert!(e.error(405).contains("GET"));
    let e = send(
        s.addr,
        &format!("DELETE /api/facets HTTP/1.1\r\nHost: {host}"),
        b"",
    );
    e.error(405);
    let e = send(
        s.addr,
        &format!(
            "POST /api/search HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}",
            20 * 1024
        ),
        b"",
    );
    assert!(e.error(413).contains("too large"));
    let e = get(&s, "/api/units/%FF%FE");
    assert!(!e.error(400).is_empty());
    assert!(get(&s, "/no/such/page").error(404).contains("no such page"));
    let e = send(
        s.addr,
        &format!("PUT /no/such/page HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0"),
        b"",
    );
    e.error(404);
    // Still answering, and a success is untouched.
    let ok = get(&s, "/api/search?q=oil");
    assert_eq!(ok.status, 200);
    assert!(ok.json()["total_hits"].as_u64().unwrap() > 0);
}

#[test]
fn a_request_for_another_host_is_refused() {
    let s = serve(&[]);
    let port = s.addr.port();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let a = send(
            s.addr,
            &format!("GET /api/search?q=oil HTTP/1.1\r\nHost: {host}"),
            b"",
        );
        assert_eq!(a.status, 200, "{host}: {}", a.body);
    }
    // A rebound name, or the right name on another port.
    for host in [
        format!("evil.example:{port}"),
        format!("localhost:{}", port + 1),
    ] {
        let a = send(
            s.addr,
            &format!("GET /api/search?q=oil HTTP/1.1\r\nHost: {host}"),
            b"",
        );
        let message = a.error(421);
        assert!(message.contains("--allow-host"), "{message}");
        assert!(!a.body.contains("total_hits"));
    }
    // The page itself is refused too.
    let a = send(
        s.addr,
        &format!("GET / HTTP/1.1\r\nHost: evil.example:{port}"),
        b"",
    );
    a.error(421);

    let s = serve(&["--allow-host", "news.example"]);
    let a = send(
        s.addr,
        "GET /api/search?q=oil HTTP/1.1\r\nHost: news.example",
        b"",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = send(
        s.addr,
        "GET /api/search?q=oil HTTP/1.1\r\nHost: evil.example",
        b"",
    );
    a.error(421);

    let s = serve(&["--any-host"]);
    let a = send(
        s.addr,
        "GET /api/search?q=oil HTTP/1.1\r\nHost: evil.example",
        b"",
    );
    assert_eq!(a.status, 200, "{}", a.body);
}

/// Reads until the server closes the connection; None if it is still open
/// after `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
            Err(_) => return None,
        }
    }
}

#[test]
fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let s = serve(&["--header-timeout", "1"]);
    let mut half = TcpStream::connect(s.addr).unwrap();
    write!(
        half,
        "GET /api/search?q=oil HTTP/1.1\r\nHost: {}\r\n",
        s.host()
    )
    .unwrap();
    let started = Instant::now();
    // A generous bound: one second is asked for.
    assert!(
        closed_within(&mut half, Duration::from_secs(15)).is_some(),
        "the half-sent request was still open after 15 s"
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
    // A connection that sends nothing at all is closed the same way.
    let mut silent = TcpStream::connect(s.addr).unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(15)).is_some());
    // The server still answers.
    assert_eq!(get(&s, "/api/search?q=oil").status, 200);
}

#[test]
fn connections_past_the_cap_get_503_until_one_closes() {
    let s = serve(&["--max-connections", "2", "--header-timeout", "60"]);
    // Two connections that send nothing hold both places.
    let first = TcpStream::connect(s.addr).unwrap();
    let _second = TcpStream::connect(s.addr).unwrap();
    let refused = get(&s, "/api/search?q=oil");
    let message = refused.error(503);
    assert!(message.contains("connections"), "{message}");
    assert_eq!(
        refused.headers.get("retry-after").map(String::as_str),
        Some("1")
    );
    // Once one closes, requests are answered again.
    drop(first);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let a = get(&s, "/api/search?q=oil");
        if a.status == 200 {
            break;
        }
        assert!(Instant::now() < until, "still refused: {}", a.body);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_stops_promptly_even_with_a_half_sent_request_open() {
    let mut s = serve(&["--header-timeout", "120"]);
    let mut half = TcpStream::connect(s.addr).unwrap();
    write!(
        half,
        "GET /api/search?q=oil HTTP/1.1\r\nHost: {}\r\n",
        s.host()
    )
    .unwrap();
    // The request is in the server's hands before the signal.
    std::thread::sleep(Duration::from_millis(300));
    s.signal("INT");
    let status = s
        .exit_within(Duration::from_secs(30))
        .expect("the server was still running 30 s after Ctrl-C");
    assert!(status.success(), "{status:?}");
    assert!(closed_within(&mut half, Duration::from_secs(5)).is_some());
    std::thread::sleep(Duration::from_millis(100));
    assert!(s.said("stopping"), "{:?}", s.log.lock().unwrap());
    assert!(s.said("stopped"));
}

#[test]
fn sigterm_stops_gracefully_and_sighup_reopens_the_index() {
    let mut s = serve(&[]);
    s.signal("HUP");
    let until = Instant::now() + Duration::from_secs(20);
    while !s.said("SIGHUP: reopened the index") {
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "SIGHUP stopped the server: {:?}",
            s.log.lock().unwrap()
        );
        assert!(Instant::now() < until, "{:?}", s.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    let a = get(&s, "/api/search?q=oil");
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.json()["total_hits"].as_u64().unwrap() > 0);
    s.signal("TERM");
    let status = s
        .exit_within(Duration::from_secs(30))
        .expect("the server was still running 30 s after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_taken_port_is_named_with_what_to_do() {
    let s = serve(&[]);
    let out = nutgraf(&default_config(), seed_index())
        .args(["serve", "--addr", &s.addr.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen on {}: the port is taken (another nutgraf serve?); choose another with --addr",
            s.addr
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Address already in use"), "{stderr}");
}

#[test]
fn searches_report_character_offsets_beside_byte_offsets() {
    let s = serve(&[]);
    let v = get(&s, "/api/search?q=Azerbaijan&limit=20").json();
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    for h in hits {
        let snippet = &h["snippet"];
        let text = snippet["text"].as_str().unwrap();
        let chars: Vec<char> = text.chars().collect();
        let bytes = snippet["highlights"].as_array().unwrap();
        let in_chars = snippet["highlights_chars"].as_array().unwrap();
        assert_eq!(bytes.len(), in_chars.len());
        for (b, c) in bytes.iter().zip(in_chars) {
            let (b0, b1) = (
                b[0].as_u64().unwrap() as usize,
                b[1].as_u64().unwrap() as usize,
            );
            let (c0, c1) = (
                c[0].as_u64().unwrap() as usize,
                c[1].as_u64().unwrap() as usize,
            );
            assert_eq!(text[b0..b1], chars[c0..c1].iter().collect::<String>());
        }
    }
}

#[test]
fn the_page_pages_no_further_than_the_server_answers() {
    let js = std::fs::read_to_string(root().join("web/app.js")).unwrap();
    assert!(
        js.contains(&format!(
            "const MAX_OFFSET = {};",
            nutgraf::server::MAX_OFFSET
        )),
        "web/app.js and src/server/mod.rs disagree on the deepest page"
    );
    let s = serve(&[]);
    let deepest = format!("/api/search?q=oil&offset={}", nutgraf::server::MAX_OFFSET);
    assert_eq!(get(&s, &deepest).status, 200);
    let past = format!(
        "/api/search?q=oil&offset={}",
        nutgraf::server::MAX_OFFSET + 1
    );
    assert!(get(&s, &past).error(400).contains("at most"));
}
