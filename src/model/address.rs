//! Web addresses: an article's address is kept only when it is a web
//! address, so links never run script or open local files.

/// An article's address, if it is a web address: links on the web page
/// must never run script (`javascript:`) or open local files.
pub fn web_address(u: &str) -> Option<String> {
    let u = u.trim();
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    (!rest.is_empty() && !u.chars().any(char::is_whitespace)).then(|| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_links() {
        assert_eq!(
            web_address(" https://a.org/x "),
            Some("https://a.org/x".into())
        );
        assert!(web_address("HTTP://a.org").is_some());
        assert_eq!(web_address("javascript:alert(1)"), None);
        assert_eq!(web_address("file:///etc/passwd"), None);
        assert_eq!(web_address("https://"), None);
        assert_eq!(web_address("https://a.org/x y"), None);
    }
}
