//! The `Host` check: a request must name this server (against DNS
//! rebinding, where a page on another site points its own name at a
//! loopback server).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::HostPolicy;

/// The host policy applied to the address actually bound.
#[derive(Debug, Clone)]
pub(super) struct HostCheck {
    pub(super) policy: HostPolicy,
    pub(super) bound: SocketAddr,
}

impl HostCheck {
    fn allows(&self, host: &str) -> bool {
        let extra = match &self.policy {
            HostPolicy::Any => return true,
            HostPolicy::Bound(extra) => extra,
        };
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if extra
            .iter()
            .any(|e| e.trim_end_matches('.').eq_ignore_ascii_case(&name))
        {
            return true;
        }
        // A browser leaves the port out only for the scheme's default.
        let port_ok = port.unwrap_or(80) == self.bound.port();
        let name_ok = name == "localhost"
            || name.parse::<IpAddr>().is_ok_and(|ip| {
                // An IP address cannot be rebound; on a loopback bind only
                // loopback ones can reach the server at all.
                !self.bound.ip().is_loopback() || ip.is_loopback()
            });
        port_ok && name_ok
    }

    fn refusal(&self, host: &str) -> ApiError {
        let port = self.bound.port();
        let expected = if self.bound.ip().is_loopback() {
            format!("localhost:{port}, 127.0.0.1:{port} or [::1]:{port}")
        } else {
            format!("localhost:{port} or an IP address of this machine with port {port}")
        };
        ApiError {
            status: StatusCode::MISDIRECTED_REQUEST,
            message: format!(
                "this server answers requests for {expected}, not for Host {host:?} \
                 (a page on another site may be reaching it through its own domain name); \
                 to serve under that name, start it with `nutgraf serve --allow-host NAME`"
            ),
            retry_after: None,
        }
    }
}

/// `name[:port]` or `[v6]:port`, the name lowercased without a trailing dot.
fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim();
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        (inside, port)
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p.parse().ok()?)),
            None => (host, None),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some((name, port))
}

/// Refuses a request whose `Host` names another server (421).
pub(super) async fn check_host(
    State(hosts): State<Arc<HostCheck>>,
    request: Request,
    next: Next,
) -> Response {
    let verdict = {
        let mut given = request.headers().get_all(header::HOST).iter();
        match (given.next(), given.next()) {
            // No Host (HTTP/1.0): no browser sends that, so nothing to rebind.
            (None, _) => Ok(()),
            (Some(host), None) => match host.to_str() {
                Ok(h) if hosts.allows(h) => Ok(()),
                _ => Err(hosts.refusal(&String::from_utf8_lossy(host.as_bytes()))),
            },
            (Some(_), Some(_)) => Err(ApiError::bad_request("more than one Host header")),
        }
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: HostPolicy, bound: &str) -> HostCheck {
        HostCheck {
            policy,
            bound: bound.parse().unwrap(),
        }
    }

    #[test]
    fn a_loopback_server_answers_only_to_loopback_names_on_its_port() {
        let c = check(HostPolicy::default(), "127.0.0.1:7700");
        for ok in [
            "localhost:7700",
            "LOCALHOST:7700",
            "127.0.0.1:7700",
            "[::1]:7700",
            "localhost.:7700",
        ] {
            assert!(c.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:7700",
            "localhost:7701",
            "localhost",
            "127.0.0.1",
            "192.168.1.5:7700",
            "localhost.evil.example:7700",
            "",
            "[::1",
            "localhost:port",
        ] {
            assert!(!c.allows(bad), "{bad}");
        }
        let c = check(HostPolicy::default(), "127.0.0.1:80");
        assert!(c.allows("localhost"));
        let c = check(
            HostPolicy::Bound(vec!["News.Example".into()]),
            "127.0.0.1:7700",
        );
        assert!(c.allows("news.example") && c.allows("news.example:443"));
        assert!(!c.allows("other.example:7700"));
        assert!(check(HostPolicy::Any, "127.0.0.1:7700").allows("evil.example"));
        // A server bound to every address answers to any IP address, but
        // still to no unknown name.
        let c = check(HostPolicy::default(), "0.0.0.0:7700");
        assert!(c.allows("192.168.1.5:7700") && c.allows("[fe80::1]:7700"));
        assert!(!c.allows("evil.example:7700"));
    }
}
