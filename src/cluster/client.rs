//! Talking to a cluster over HTTP: the URL read into a base and an index
//! name, credentials from the environment (never the command line, where
//! other users of the machine can read them), TLS verified, and requests
//! retried with exponential back-off when the cluster is busy (429), fails
//! (5xx) or drops the connection.

use std::time::Duration;

use reqwest::blocking::{Client as Http, RequestBuilder};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;

use super::answer::reason;
use super::mapping::check_index_name;
use crate::error::{Error, Result};

/// The environment variable holding an API key (`Authorization: ApiKey
/// KEY`, the key as the cluster gives it, base64).
pub const ENV_API_KEY: &str = "NUTGRAF_BACKEND_API_KEY";
/// The environment variables of basic authentication.
pub const ENV_USER: &str = "NUTGRAF_BACKEND_USER";
pub const ENV_PASSWORD: &str = "NUTGRAF_BACKEND_PASSWORD";

/// A cluster index named by a URL: `http://127.0.0.1:9200/nutgraf` is
/// the index `nutgraf` of the cluster at `http://127.0.0.1:9200`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Scheme, host, port and any path before the index (a cluster
    /// behind a proxy prefix), without a trailing `/`.
    pub base: String,
    pub index: String,
}

impl Target {
    /// Reads a URL; the last segment of its path is the index name.
    pub fn parse(url: &str) -> Result<Target> {
        let hint = "write it as http(s)://HOST:PORT/INDEX, e.g. http://127.0.0.1:9200/nutgraf";
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| Error::Input(format!("{url:?} is not a URL ({e}); {hint}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Input(format!(
                "{url:?}: a cluster is reached over http or https; {hint}"
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::Input(format!(
                "{}: credentials do not go in the URL (other users can read command lines); set {ENV_API_KEY}, or {ENV_USER} and {ENV_PASSWORD}",
                redact(&parsed)
            )));
        }
        let path = parsed.path().trim_end_matches('/');
        let (prefix, index) = path.rsplit_once('/').unwrap_or(("", path));
        check_index_name(index).map_err(|why| Error::Input(format!("{url:?}: {why}; {hint}")))?;
        let mut base = parsed.clone();
        base.set_path(prefix);
        base.set_query(None);
        base.set_fragment(None);
        Ok(Target {
            base: base.as_str().trim_end_matches('/').to_string(),
            index: index.to_string(),
        })
    }

    /// The URL as a user wrote it (for messages and the resume state).
    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.index)
    }
}

fn redact(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; it doubles after each one.
    pub first_wait: Duration,
    /// The longest wait.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 6,
            first_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// The body of a request.
pub enum Body<'a> {
    None,
    Json(&'a Value),
    /// `_bulk` lines.
    Ndjson(&'a str),
}

/// An answer with its status; the body parsed as JSON (null when it is
/// not JSON) and as text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A cluster's HTTP client.
#[derive(Clone)]
pub struct Client {
    http: Http,
    pub target: Target,
    auth: Option<HeaderValue>,
    pub retry: Retry,
}

impl Client {
    /// A client of the index a URL names, with credentials from the
    /// environment.
    pub fn new(url: &str) -> Result<Client> {
        let target = Target::parse(url)?;
        let auth = auth_from_env()?;
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("nutgraf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Input(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            target,
            auth,
            retry: Retry::default(),
        })
    }

    /// `PATH` under the index (`_search`, `_doc/ID`), or the index itself
    /// for an empty path.
    pub fn index_path(&self, path: &str) -> String {
        if path.is_empty() {
            format!("{}/{}", self.target.base, self.target.index)
        } else {
            format!("{}/{}/{path}", self.target.base, self.target.index)
        }
    }

    fn build(&self, method: &Method, url: &str, body: &Body) -> RequestBuilder {
        let mut r = self.http.request(method.clone(), url);
        if let Some(a) = &self.auth {
            r = r.header(AUTHORIZATION, a.clone());
        }
        match body {
            Body::None => r,
            Body::Json(v) => r
                .header(CONTENT_TYPE, "application/json")
                .body(v.to_string()),
            Body::Ndjson(s) => r
                .header(CONTENT_TYPE, "application/x-ndjson")
                .body(s.to_string()),
        }
    }

    /// Sends a request to `url`, retrying 429, 5xx and failed connections
    /// with back-off; `what` names it in errors ("creating the index").
    /// Any other answer (2xx, 4xx) is returned as it is.
    pub fn send(&self, method: Method, url: &str, body: Body, what: &str) -> Result<Answer> {
        let mut wait = self.retry.first_wait;
        let attempts = self.retry.attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            let outcome = self.build(&method, url, &body).send().and_then(|r| {
                let status = r.status().as_u16();
                r.text().map(|text| (status, text))
            });
            match outcome {
                Ok((status, text)) if status != 429 && status < 500 => {
                    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
                    return Ok(Answer { status, json, text });
                }
                Ok((status, text)) => {
                    last = format!("the cluster answered {status}: {}", reason(&text));
                }
                Err(e) => {
                    last = connection_failure(&e);
                    // A request the cluster never got: no point in retrying
                    // a URL that cannot be reached at all the first time
                    // it is tried, unless the cluster is just starting.
                    if e.is_builder() {
                        break;
                    }
                }
            }
            if attempt < attempts {
                std::thread::sleep(wait);
                wait = (wait * 2).min(self.retry.max_wait);
            }
        }
        Err(Error::Cluster(format!(
            "{what} at {}: {last} (tried {attempts} times). {}",
            self.target.url(),
            fix_hint(&last, what)
        )))
    }

    /// A request to the index; an answer that is not 2xx is an error
    /// quoting the engine's reason.
    pub fn expect_ok(&self, method: Method, path: &str, body: Body, what: &str) -> Result<Value> {
        let url = self.index_path(path);
        let answer = self.send(method, &url, body, what)?;
        if answer.ok() {
            return Ok(answer.json);
        }
        Err(refused(&self.target, what, &answer))
    }
}

/// An error for an answer the cluster refused.
pub fn refused(target: &Target, what: &str, answer: &Answer) -> Error {
    let hint = match answer.status {
        401 => format!(
            " Set {ENV_API_KEY}, or {ENV_USER} and {ENV_PASSWORD}, to credentials the cluster accepts."
        ),
        403 => " The credentials lack a privilege for this index.".to_string(),
        413 => " The request is larger than the cluster takes (its http.max_content_length): export with a smaller --batch-bytes.".to_string(),
        404 => format!(
            " Is {} the right index? `nutgraf export --to {}` creates it.",
            target.index,
            target.url()
        ),
        _ => String::new(),
    };
    Error::Cluster(format!(
        "{what} at {}: the cluster answered {}: {}.{hint}",
        target.url(),
        answer.status,
        reason(&answer.text)
    ))
}

/// What failed, in words, for a request that got no answer.
fn connection_failure(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let kind = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the connection dropped while reading the answer"
    } else {
        "the request failed"
    };
    match causes.last() {
        Some(c) => format!("{kind} ({c})"),
        None => kind.to_string(),
    }
}

fn fix_hint(what: &str, doing: &str) -> &'static str {
    if what.starts_with("cannot connect") {
        "Check that the cluster is running and the URL (scheme, host, port) is right."
    } else if what.contains("certificate") {
        "The cluster's TLS certificate is not trusted: use a certificate from a public authority (TLS verification stays on)."
    } else if what.contains("429") {
        "The cluster is overloaded: try again later, or with a smaller --batch-bytes."
    } else if doing.starts_with("sending") {
        "Check the cluster's health; the export, run again, resumes after the last batch the cluster took."
    } else {
        "Check the cluster's health (GET /_cluster/health)."
    }
}

/// `Authorization` from the environment: an API key, or a user and a
/// password; nothing when none is set.
fn auth_from_env() -> Result<Option<HeaderValue>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let header = |value: String, name: &str| {
        let mut h = HeaderValue::from_str(&value)
            .map_err(|_| Error::Input(format!("{name} holds characters a header cannot carry")))?;
        h.set_sensitive(true);
        Ok(Some(h))
    };
    if let Some(key) = var(ENV_API_KEY) {
        return header(format!("ApiKey {key}"), ENV_API_KEY);
    }
    match (var(ENV_USER), var(ENV_PASSWORD)) {
        (Some(user), Some(password)) => header(
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
            ENV_USER,
        ),
        (Some(_), None) => Err(Error::Input(format!(
            "{ENV_USER} is set but {ENV_PASSWORD} is not; set both (or {ENV_API_KEY})"
        ))),
        (None, Some(_)) => Err(Error::Input(format!(
            "{ENV_PASSWORD} is set but {ENV_USER} is not; set both (or {ENV_API_KEY})"
        ))),
        (None, None) => Ok(None),
    }
}

/// Standard base64 with padding (basic authentication's encoding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_the_cluster_and_the_index() {
        let t = Target::parse("http://127.0.0.1:9200/nutgraf").unwrap();
        assert_eq!(t.base, "http://127.0.0.1:9200");
        assert_eq!(t.index, "nutgraf");
        let t = Target::parse("https://search.example.org/es/news-2025/").unwrap();
        assert_eq!(t.base, "https://search.example.org/es");
        assert_eq!(t.index, "news-2025");
        assert!(Target::parse("http://127.0.0.1:9200/").is_err());
        assert!(Target::parse("http://127.0.0.1:9200/News").is_err());
        assert!(Target::parse("ftp://h/n").is_err());
        let e = Target::parse("http://u:secret@h:9200/n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret") && e.contains(ENV_API_KEY), "{e}");
    }

    #[test]
    fn basic_authentication_is_base64() {
        // RFC 7617's example.
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
