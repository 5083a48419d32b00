//! A bounded abuse test of `serve` on loopback: four clients send the
//! most expensive requests the server accepts for 30 seconds while a
//! normal client searches. The normal client must keep getting answers
//! (p99 under 100 ms), the server's memory must stay under 1 GB, and its
//! work must stop soon after the attack does.
//!
//!     cargo test --release --test abuse -- --include-ignored --nocapture

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

const ATTACK: Duration = Duration::from_secs(30);
const ATTACKERS: usize = 4;

fn start_server() -> (Server, String) {
    let server = start(&default_config(), seed_index(), Some("127.0.0.1:0"));
    let url = server.url.clone();
    (server, url)
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Repeats `unit` up to 1,000 characters, the longest query accepted.
fn up_to_limit(unit: &str) -> String {
    let n = nutgraf::server::MAX_QUERY_CHARS / unit.chars().count();
    unit.repeat(n).trim_end().to_string()
}

/// The most expensive requests the server accepts.
fn expensive() -> Vec<String> {
    let words: Vec<String> = {
        let mut w: Vec<String> = std::fs::read_dir(root().join("seeds"))
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .flat_map(|t| {
                t.split(|c: char| !c.is_alphabetic())
                    .filter(|w| w.len() > 3)
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
            })
            .collect();
        w.sort();
        w.dedup();
        w
    };
    let mut ors = String::new();
    for w in &words {
        if ors.len() + w.len() + 4 > nutgraf::server::MAX_QUERY_CHARS {
            break;
        }
        if !ors.is_empty() {
            ors.push_str(" OR ");
        }
        ors.push_str(w);
    }
    // Two-letter prefixes (the shortest accepted) over the alphabet.
    let prefixes: String = ('a'..='z')
        .flat_map(|a| "aeiorstnlh".chars().map(move |b| format!("{a}{b}* ")))
        .collect();
    let max = |q: &str| {
        query_string(&[
            ("q", q),
            ("limit", "100"),
            ("offset", "0"),
            ("facet_limit", "0"),
        ])
    };
    vec![
        max(&up_to_limit("th* ")),
        max(prefixes.chars().take(1000).collect::<String>().trim_end()),
        max(&ors),
        max(&up_to_limit("the ")),
        max(&up_to_limit("azerbaijan~2 ")),
        max(&format!(
            "\"{}\"",
            up_to_limit("the israel ")
                .chars()
                .take(990)
                .collect::<String>()
        )),
        query_string(&[
            ("q", "the"),
            ("limit", "100"),
            ("offset", "10000"),
            ("facet_limit", "0"),
        ]),
        query_string(&[
            ("q", ""),
            ("limit", "100"),
            ("offset", "9900"),
            ("facet_limit", "0"),
        ]),
    ]
}

/// The seed benchmark's queries as API requests.
fn normal() -> Vec<String> {
    std::fs::read_to_string(root().join("benches/queries/seeds.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split('\t');
            let q = parts.next().unwrap();
            let mut pairs = vec![("q".to_string(), q.to_string())];
            for f in parts {
                let (k, v) = f.split_once('=').unwrap();
                pairs.push((k.to_string(), v.to_string()));
            }
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                s.append_pair(k, v);
            }
            s.finish()
        })
        .collect()
}

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[test]
#[ignore = "takes about 40 s: run with --include-ignored"]
fn a_normal_client_is_served_while_four_clients_send_the_most_expensive_requests() {
    let (server, url) = start_server();
    let pid = server.child.id();
    let stop = Arc::new(AtomicBool::new(false));
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|i| {
            let (url, stop, requests) = (url.clone(), stop.clone(), expensive());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    let q = &requests[n % requests.len()];
                    n += 1;
                    let status = match client.get(format!("{url}/api/search?{q}")).send() {
                        Ok(r) => {
                            let s = r.status().as_u16().to_string();
                            let _ = r.bytes();
                            s
                        }
                        Err(e) => format!("client error: {e}"),
                    };
                    *statuses.entry(status).or_default() += 1;
                }
                statuses
            })
        })
        .collect();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let queries = normal();
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < ATTACK {
        let q = &queries[n % queries.len()];
        n += 1;
        let t = Instant::now();
        match client.get(format!("{url}/api/search?{q}")).send() {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes();
                latencies.push(t.elapsed());
            }
            Ok(r) => failures.push(format!("{}: {}", r.status(), r.text().unwrap_or_default())),
            Err(e) => failures.push(e.to_string()),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut attack: BTreeMap<String, usize> = BTreeMap::new();
    for a in attackers {
        for (status, count) in a.join().unwrap() {
            *attack.entry(status).or_default() += count;
        }
    }
    // Every client has its answer: whatever the server still computes now
    // outlives its request. Allow a second, then measure for two.
    std::thread::sleep(Duration::from_secs(1));
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let after_attack_cpu =
        Duration::from_secs_f64((cpu_ticks(pid) - before) as f64 / ticks_per_second() as f64);
    let peak = peak_rss_kib(pid);

    latencies.sort();
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        *latencies.last().unwrap(),
    );
    println!(
        "normal client: {} answers in {:.0} s, {} failures; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ATTACK.as_secs_f64(),
        failures.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!("attackers' answers by status: {attack:?}");
    println!(
        "server: peak RSS {:.0} MB; CPU in the 2 s after the attack (after 1 s of grace): {:.2} s",
        peak as f64 / 1024.0,
        after_attack_cpu.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "the normal client was refused: {:?}",
        &failures[..failures.len().min(5)]
    );
    assert!(latencies.len() > 100, "only {} answers", latencies.len());
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    assert!(peak < 1024 * 1024, "peak RSS {peak} KiB");
    assert!(
        after_attack_cpu < Duration::from_millis(200),
        "the server kept working {after_attack_cpu:?} after every request was answered"
    );
}
