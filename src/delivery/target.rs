//! Where webhooks may go. A portal's URL must be `https`, and must not reach the
//! hub's own network: private, loopback, link-local, shared and other non-public
//! addresses are refused, both as literals and after DNS resolution (the resolver
//! used for sending refuses them too, so a name that changes its answer between
//! the check and the request is caught). Hosts an operator lists in
//! `delivery.allow_hosts` are exempt from both rules. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The form of an endpoint URL (hosts in `delivery.allow_hosts` excepted): https, a
/// host name whose last label starts with a letter (no address literals), a port
/// below 10000, a path and a query of plain characters. The OpenAPI document states
/// the same expression.
pub const URL_PATTERN: &str = r"^https://([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?(\?[A-Za-z0-9._~=&-]*)?$";

static URL_FORM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(URL_PATTERN).unwrap_or_else(|e| unreachable!("{e}"))
});

/// How long a name may take to resolve when the hub connects.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an API call registering a URL waits for its name: a name that does
/// not answer in time is taken like one that does not resolve yet (every
/// connection checks again), so a slow DNS server does not hold the request up.
const REGISTER_RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The operator's exemptions.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow_hosts: Arc<Vec<String>>,
}

impl Policy {
    pub fn new(allow_hosts: &[String]) -> Self {
        Self {
            allow_hosts: Arc::new(allow_hosts.iter().map(|h| h.to_ascii_lowercase()).collect()),
        }
    }

    fn allowed(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.allow_hosts.contains(&host)
    }

    /// Check a URL's form: `https` (or `http` to an allowed host), a host, no
    /// credentials, and no non-public address literal. The message names the rule.
    pub fn check_url(&self, text: &str) -> Result<url::Url, String> {
        if text.len() > 2048 {
            return Err("url: at most 2048 characters".into());
        }
        let url = url::Url::parse(text).map_err(|e| format!("url: not a URL ({e})"))?;
        let host = url.host_str().ok_or("url: a host is required")?.to_owned();
        let allowed = self.allowed(&host);
        match url.scheme() {
            "https" => {}
            "http" if allowed => {}
            "http" => return Err(
                "url: must be https (plain http only to hosts in the hub's delivery.allow_hosts)"
                    .into(),
            ),
            _ => return Err("url: must be https".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("url: must not carry credentials".into());
        }
        if url.fragment().is_some() {
            return Err("url: must not have a fragment".into());
        }
        if !allowed {
            if let Some(ip) = literal(&url) {
                if !is_public(ip) {
                    return Err(format!(
                        "url: {ip} is not a public address (allowed only for hosts in the hub's delivery.allow_hosts)"
                    ));
                }
            }
            if !URL_FORM.is_match(text) {
                return Err("url: must be https://HOST[:PORT][/PATH][?QUERY] with a host name (letters, digits, dots and hyphens; not an address), a port below 10000, and a path and query of letters, digits and ._~/-=& (the document states the pattern)".into());
            }
        }
        Ok(url)
    }

    /// Resolve the URL's host and refuse it if any address is not public (unless
    /// the host is allowed).
    pub async fn check_resolved(&self, url: &url::Url) -> Result<(), String> {
        self.check_resolved_within(url, RESOLVE_TIMEOUT).await
    }

    async fn check_resolved_within(&self, url: &url::Url, limit: Duration) -> Result<(), String> {
        let Some(host) = url.host_str() else {
            return Err("url: a host is required".into());
        };
        if self.allowed(host) || literal(url).is_some() {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        self.resolve_within(host, port, limit).await.map(|_| ())
    }

    /// As [`Policy::check_resolved`], but a name that does not resolve (yet) passes:
    /// for registering an endpoint, whose DNS may be set up later. Each delivery
    /// checks again when it connects.
    pub async fn refuse_private(&self, url: &url::Url) -> Result<(), String> {
        match self
            .check_resolved_within(url, REGISTER_RESOLVE_TIMEOUT)
            .await
        {
            Err(e) if e.contains("not public") => Err(e),
            _ => Ok(()),
        }
    }

    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        self.resolve_within(host, port, RESOLVE_TIMEOUT).await
    }

    async fn resolve_within(
        &self,
        host: &str,
        port: u16,
        limit: Duration,
    ) -> Result<Vec<SocketAddr>, String> {
        let found = tokio::time::timeout(limit, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("url: {host} did not resolve in time"))?
            .map_err(|_| format!("url: {host} does not resolve"))?
            .collect::<Vec<_>>();
        if found.is_empty() {
            return Err(format!("url: {host} does not resolve"));
        }
        if !self.allowed(host) {
            if let Some(bad) = found.iter().find(|a| !is_public(a.ip())) {
                // The address itself stays in the hub's log: it maps the hub's network.
                tracing::info!(host, address = %bad.ip(), "webhook host resolves to a non-public address");
                return Err(format!(
                    "url: {host} resolves to an address that is not public (allowed only for hosts in the hub's delivery.allow_hosts)"
                ));
            }
        }
        Ok(found)
    }
}

/// The resolver of the sending client: the same rule at connection time.
impl reqwest::dns::Resolve for Policy {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.clone();
        Box::pin(async move {
            let addrs = Policy::resolve(&policy, name.as_str(), 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn literal(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Whether an address is on the public Internet (not private, loopback, link-local,
/// shared, multicast, documentation, benchmarking or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                Ipv4Addr::new(a, b, c, d)
            };
            // Forms that reach an IPv4 address: NAT64 (64:ff9b::/96) and 6to4
            // (2002::/16) are judged by it; IPv4-compatible (::/96) is deprecated.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public_v4(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0) // Teredo
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || s[..4] == [0x100, 0, 0, 0]) // discard-only
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || a >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_named() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_before_any_request() {
        let p = Policy::default();
        for (url, why) in [
            ("http://example.com/hook", "must be https"),
            ("ftp://example.com/hook", "must be https"),
            (
                "https://127.0.0.1/hook",
                "127.0.0.1 is not a public address",
            ),
            ("https://10.0.0.1/hook", "10.0.0.1 is not a public address"),
            (
                "https://169.254.169.254/latest/meta-data",
                "169.254.169.254 is not a public",
            ),
            ("https://[::1]:8443/hook", "::1 is not a public address"),
            ("https://user:pw@example.com/", "credentials"),
            ("not a url", "not a URL"),
        ] {
            let err = p.check_url(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
        assert!(p.check_url("https://example.com/hook").is_ok());
        assert!(p
            .check_url("https://hooks.example.com:8443/a/b?x=1")
            .is_ok());
        // A public address is still not a host name.
        assert!(p
            .check_url("https://93.184.216.34/hook")
            .unwrap_err()
            .contains("host name"));
        let allowed = Policy::new(&["127.0.0.1".into(), "localhost".into()]);
        assert!(allowed.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(allowed.check_url("http://LOCALHOST:9000/hook").is_ok());
        assert!(allowed.check_url("http://10.0.0.1/hook").is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_private_address_is_refused() {
        let p = Policy::default();
        let url = url::Url::parse("https://localhost:9/hook").unwrap();
        let err = p.check_resolved(&url).await.unwrap_err();
        assert!(
            err.contains("resolves to an address that is not public"),
            "{err}"
        );
        assert!(
            !err.contains("127.0.0.1"),
            "the internal address is not told: {err}"
        );
        assert!(p.refuse_private(&url).await.is_err());
        let allowed = Policy::new(&["localhost".into()]);
        assert!(allowed.check_resolved(&url).await.is_ok());
        // A name that does not resolve may be registered; delivery checks again.
        let unknown = url::Url::parse("https://no-such-host.invalid/hook").unwrap();
        assert!(p.check_resolved(&unknown).await.is_err());
        assert!(p.refuse_private(&unknown).await.is_ok());
    }
}
