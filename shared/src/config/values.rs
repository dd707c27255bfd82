//! Checked values that forms, lookups and the kintone settings share, each kept as the type it
//! was parsed into, and the one check of what every form and lookup has (its [`Access`]).

use std::fmt;

use super::raw::RawAccess;

/// Lambda refuses synchronous payloads over 6 MB, so a larger limit could never be reached.
const MAX_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// A problem at a dotted key path such as `forms.seminar.fields.session.options`.
#[derive(Debug)]
pub struct KeyError {
    key: String,
    message: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

pub fn key_error(key: impl Into<String>, message: impl Into<String>) -> KeyError {
    KeyError {
        key: key.into(),
        message: message.into(),
    }
}

/// kintone app ids start at 1; kintone answers 0 with "must be greater than or equal to 1".
pub fn check_app_id(key: String, app: u64) -> Result<(), KeyError> {
    if app == 0 {
        return Err(key_error(key, "must be a kintone app id (1 or more)"));
    }
    Ok(())
}

/// A Secrets Manager secret name or ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretId(String);

impl SecretId {
    pub fn parse(id: &str) -> Result<Self, String> {
        let ok = !id.is_empty()
            && id.len() <= 2048
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c));
        if ok {
            Ok(SecretId(id.to_owned()))
        } else {
            Err(format!(
                "\"{id}\" is not a Secrets Manager secret name or ARN"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `scheme://host[:port]`, exactly as browsers send it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(origin: &str) -> Result<Self, String> {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let ok = rest.is_some_and(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                && !host.ends_with(':')
        }) && origin == origin.to_ascii_lowercase()
            // Browsers leave the default port out, so an origin with it would never match.
            && !(origin.starts_with("https://") && origin.ends_with(":443"))
            && !(origin.starts_with("http://") && origin.ends_with(":80"));
        if ok {
            Ok(Origin(origin.to_owned()))
        } else {
            Err(format!(
                "\"{origin}\" is not an origin: write it as the browser sends it, like https://www.example.jp (lower case, no path, no trailing slash)"
            ))
        }
    }

    /// Whether a request's `Origin` header names this origin.
    pub fn matches(&self, header: &str) -> bool {
        self.0.eq_ignore_ascii_case(header)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Form, lookup, input and output names appear in URLs and JSON keys, so keep them plain.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The kintone domain, `https://example.cybozu.com` without a trailing slash.
pub fn check_base_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let (rest, plain) = match trimmed.strip_prefix("https://") {
        Some(rest) => (rest, false),
        None => (trimmed.strip_prefix("http://").unwrap_or(""), true),
    };
    // Plain HTTP would send the token in clear text: only to this machine (a local emulator).
    let host = rest.rsplit_once(':').map_or(rest, |(host, _)| host);
    if plain && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(format!(
            "\"{url}\" must start with https:// (http:// only for a local emulator on 127.0.0.1 or localhost)"
        ));
    }
    // `user@host` would send the token to `host`: only a plain host and port are allowed.
    if rest.contains('@') {
        return Err(format!(
            "\"{url}\" must not contain user info (\"…@\"): write only the domain, like https://example.cybozu.com"
        ));
    }
    let plain_host = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if rest.is_empty() || !plain_host {
        return Err(format!(
            "\"{url}\" must be the domain only, like https://example.cybozu.com (no path)"
        ));
    }
    Ok(trimmed.to_owned())
}

/// Entries in the order relay.toml declares them (the order a page shows them in), each name
/// once; few enough that a linear search is the fastest lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(Vec<(String, T)>);

impl<T> Ordered<T> {
    pub fn new(entries: Vec<(String, T)>) -> Self {
        Ordered(entries)
    }

    pub fn get(&self, name: &str) -> Option<&T> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
        self.0.iter().map(|(key, value)| (key, value))
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|(_, value)| value)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> std::ops::Index<&str> for Ordered<T> {
    type Output = T;

    /// Panics on an unknown name, like a map's index: for tests and checked names only.
    fn index(&self, name: &str) -> &T {
        match self.get(name) {
            Some(value) => value,
            None => panic!("no entry {name:?}"),
        }
    }
}

impl<'a, T> IntoIterator for &'a Ordered<T> {
    type Item = (&'a String, &'a T);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, T)>,
        fn(&'a (String, T)) -> (&'a String, &'a T),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(key, value)| (key, value))
    }
}

/// A text a person reads, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Wording {
    pub ja: String,
    pub en: String,
}

impl Wording {
    /// A missing language falls back to the other, and both to `fallback` (an input's name).
    pub fn from_raw(raw: Option<super::raw::RawWording>, fallback: &str) -> Self {
        let raw = raw.unwrap_or_default();
        let ja = raw.ja.filter(|text| !text.trim().is_empty());
        let en = raw.en.filter(|text| !text.trim().is_empty());
        Wording {
            ja: ja
                .clone()
                .or_else(|| en.clone())
                .unwrap_or_else(|| fallback.to_owned()),
            en: en.or(ja).unwrap_or_else(|| fallback.to_owned()),
        }
    }
}

/// An address range in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`); a plain address is
/// a range of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    network: std::net::IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let refuse =
            || format!("\"{text}\" is not an address range like 203.0.113.0/24 or 2001:db8::/32");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: std::net::IpAddr = address.trim().parse().map_err(|_| refuse())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().map_err(|_| refuse())?,
            None => bits,
        };
        if prefix > bits {
            return Err(refuse());
        }
        let range = IpRange { network, prefix };
        // A host part set in the network (203.0.113.7/24) is most likely a typo.
        if !range.contains(network) || range.masked(network) != Some(network_bits(network)) {
            return Err(refuse());
        }
        Ok(range)
    }

    fn masked(&self, address: std::net::IpAddr) -> Option<u128> {
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let mask = match self.prefix {
            0 => 0,
            prefix => u128::MAX << (bits - u32::from(prefix)) & (u128::MAX >> (128 - bits)),
        };
        Some(network_bits(address) & mask)
    }

    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        // An IPv4 client may reach an IPv6 listener as ::ffff:a.b.c.d.
        let address = match address {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, std::net::IpAddr::V4),
            v4 => v4,
        };
        address.is_ipv4() == self.network.is_ipv4()
            && self.masked(address) == self.masked(self.network)
    }
}

fn network_bits(address: std::net::IpAddr) -> u128 {
    match address {
        std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Who may call a form or lookup, with which token, and how much they may send.
#[derive(Debug, Clone)]
pub struct Access {
    pub token_secret: SecretId,
    pub allowed_origins: Vec<Origin>,
    /// The source addresses allowed to call; empty means any.
    pub allowed_ips: Vec<IpRange>,
    /// Accept requests without `Origin` (servers, curl).
    pub allow_no_origin: bool,
    pub max_body_bytes: usize,
}

/// How many attempts one counter lets through in a window that opens at its first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// 0 turns the limit off.
    pub attempts: u32,
    pub window: std::time::Duration,
}

impl Allowance {
    pub fn check(
        key: &str,
        attempts: Option<u32>,
        default_attempts: u32,
        window_seconds: Option<u64>,
        default_window_seconds: u64,
    ) -> Result<Self, KeyError> {
        let window_seconds = window_seconds.unwrap_or(default_window_seconds);
        if !(1..=86_400 * 7).contains(&window_seconds) {
            return Err(key_error(
                format!("{key}.window_seconds"),
                "must be between 1 and 604800 (a week)",
            ));
        }
        Ok(Allowance {
            attempts: attempts.unwrap_or(default_attempts),
            window: std::time::Duration::from_secs(window_seconds),
        })
    }

    pub fn is_off(&self) -> bool {
        self.attempts == 0
    }
}

impl Access {
    /// Whether a request from `source` may call; without a known source address, only when
    /// no allow-list is set.
    pub fn admits(&self, source: Option<std::net::IpAddr>) -> bool {
        self.allowed_ips.is_empty()
            || source.is_some_and(|ip| self.allowed_ips.iter().any(|range| range.contains(ip)))
    }

    /// What forms and lookups share: a name that is part of the URL, a token secret, the
    /// origins allowed to call, a body limit. `section` is `forms.<name>` or `lookups.<name>`.
    pub fn check(
        section: &str,
        name: &str,
        raw: RawAccess<'_>,
        default_max_body_bytes: usize,
    ) -> Result<Self, KeyError> {
        let at = |key: &str| format!("{section}.{key}");
        if !is_plain_name(name) {
            return Err(key_error(
                section,
                "a name may use only letters, digits, '_' and '-' (it is part of the URL)",
            ));
        }
        let token_secret =
            SecretId::parse(raw.token_secret).map_err(|m| key_error(at("token_secret"), m))?;
        let allowed_origins = raw
            .allowed_origins
            .iter()
            .map(|origin| Origin::parse(origin).map_err(|m| key_error(at("allowed_origins"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed_ips = raw
            .allowed_ips
            .iter()
            .map(|range| IpRange::parse(range).map_err(|m| key_error(at("allowed_ips"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        if allowed_origins.is_empty() && !raw.allow_no_origin {
            return Err(key_error(
                at("allowed_origins"),
                "list the web pages' origins allowed to call, or set allow_no_origin = true for server-to-server use",
            ));
        }
        let max_body_bytes = raw.max_body_bytes.unwrap_or(default_max_body_bytes);
        if max_body_bytes == 0 || max_body_bytes > MAX_MAX_BODY_BYTES {
            return Err(key_error(
                at("max_body_bytes"),
                format!("must be between 1 and {MAX_MAX_BODY_BYTES} (Lambda's payload limit)"),
            ));
        }
        Ok(Access {
            token_secret,
            allowed_origins,
            allowed_ips,
            allow_no_origin: raw.allow_no_origin,
            max_body_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::IpRange;

    #[test]
    fn address_ranges() {
        let office = IpRange::parse("203.0.113.0/24").unwrap();
        assert!(office.contains("203.0.113.7".parse().unwrap()));
        assert!(office.contains("::ffff:203.0.113.7".parse().unwrap()));
        assert!(!office.contains("203.0.114.7".parse().unwrap()));
        assert!(!office.contains("2001:db8::1".parse().unwrap()));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(
            IpRange::parse("198.51.100.7")
                .unwrap()
                .contains("198.51.100.7".parse().unwrap())
        );
        assert!(
            IpRange::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in [
            "203.0.113.7/24",
            "203.0.113.0/33",
            "example.jp",
            "10.0.0.0/x",
            "",
        ] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
    }
}
