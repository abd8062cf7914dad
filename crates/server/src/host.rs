//! Which registry (account, region) a request addresses, from its host name:
//! `<account>.dkr.ecr.<region>.<domain>`, or the default account and region for any
//! other name (such as `127.0.0.1:5000`), so local use needs no DNS.

use crate::config::Config;

#[derive(Debug, Clone)]
pub struct Hosts {
    default_account: String,
    regions: Vec<String>,
    domain: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HostError {
    /// A registry host name for a region this deployment does not serve.
    RegionNotServed(String),
}

impl Hosts {
    pub fn new(config: &Config) -> Hosts {
        Hosts {
            default_account: config.account_id.clone(),
            regions: config.regions.clone(),
            domain: config.domain.clone(),
        }
    }

    pub fn default_region(&self) -> &str {
        &self.regions[0]
    }

    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The registry URL `GetAuthorizationToken` hands out for `account`: the host the
    /// caller used (such as `127.0.0.1:5000`) when that host serves the account's registry
    /// (the default account's, on a host other than the API host), else the account's
    /// registry host `<account>.dkr.ecr.<region>.<domain>` on the caller's port.
    pub fn proxy_endpoint(&self, host: Option<&str>, account: &str, region: &str, tls: bool) -> String {
        let scheme = if tls { "https" } else { "http" };
        let host = host.unwrap_or("");
        let name = strip_port(host);
        let serves_account = !name.is_empty()
            && !name.starts_with("api.ecr.")
            && self.registry(Some(host)).is_ok_and(|(a, r)| a == account && r == region);
        if serves_account {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{}", self.registry_host(Some(host), account, region))
        }
    }

    /// `<account>.dkr.ecr.<region>.<domain>`, with the port of `host` (the caller's).
    pub fn registry_host(&self, host: Option<&str>, account: &str, region: &str) -> String {
        let host = host.unwrap_or("");
        let port = host.strip_prefix(strip_port(host)).unwrap_or("");
        format!("{account}.dkr.ecr.{region}.{}{port}", self.domain)
    }

    /// `(account, region)` for a `Host` header value.
    pub fn registry<'a>(&'a self, host: Option<&'a str>) -> Result<(&'a str, &'a str), HostError> {
        let fallback = Ok((self.default_account.as_str(), self.default_region()));
        let Some(host) = host else { return fallback };
        let name = strip_port(host);
        let Some((account, rest)) = name.split_once(".dkr.ecr.") else { return fallback };
        let Some(region) = rest.strip_suffix(self.domain.as_str()).and_then(|r| r.strip_suffix('.')) else {
            return fallback;
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return fallback;
        }
        match self.regions.iter().find(|r| *r == region) {
            Some(region) => Ok((account, region)),
            None => Err(HostError::RegionNotServed(region.to_owned())),
        }
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn maps_hosts() {
        let mut config = Settings::default().resolve().unwrap();
        config.regions = vec!["us-east-1".into(), "eu-west-1".into()];
        config.domain = "example.com".into();
        let hosts = Hosts::new(&config);
        let default = Ok(("000000000000", "us-east-1"));
        assert_eq!(hosts.registry(None), default);
        assert_eq!(hosts.registry(Some("127.0.0.1:5000")), default);
        assert_eq!(hosts.registry(Some("[::1]:5000")), default);
        assert_eq!(
            hosts.registry(Some("111111111111.dkr.ecr.eu-west-1.example.com:5000")),
            Ok(("111111111111", "eu-west-1"))
        );
        assert_eq!(
            hosts.registry(Some("111111111111.dkr.ecr.us-east-1.example.com")),
            Ok(("111111111111", "us-east-1"))
        );
        assert_eq!(
            hosts.registry(Some("111111111111.dkr.ecr.ap-south-1.example.com")),
            Err(HostError::RegionNotServed("ap-south-1".into()))
        );
        assert_eq!(hosts.registry(Some("1111.dkr.ecr.us-east-1.example.com")), default);
        assert_eq!(hosts.registry(Some("111111111111.dkr.ecr.us-east-1.other.org")), default);
    }

    #[test]
    fn proxy_endpoints() {
        let mut config = Settings::default().resolve().unwrap();
        config.regions = vec!["us-east-1".into(), "eu-west-1".into()];
        let hosts = Hosts::new(&config);
        let d = "000000000000";
        assert_eq!(hosts.proxy_endpoint(Some("127.0.0.1:5000"), d, "us-east-1", false), "http://127.0.0.1:5000");
        assert_eq!(
            hosts.proxy_endpoint(Some("127.0.0.1:5000"), "111111111111", "us-east-1", false),
            "http://111111111111.dkr.ecr.us-east-1.localhost:5000"
        );
        assert_eq!(
            hosts.proxy_endpoint(Some("127.0.0.1:5000"), d, "eu-west-1", true),
            "https://000000000000.dkr.ecr.eu-west-1.localhost:5000"
        );
        assert_eq!(
            hosts.proxy_endpoint(Some("api.ecr.us-east-1.localhost:5000"), d, "us-east-1", false),
            "http://000000000000.dkr.ecr.us-east-1.localhost:5000"
        );
        assert_eq!(
            hosts.proxy_endpoint(None, d, "us-east-1", false),
            "http://000000000000.dkr.ecr.us-east-1.localhost"
        );
    }
}
