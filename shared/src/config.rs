//! Configuration, read once from the environment at start and passed down (no globals).
//! Every variable is listed in the README.

use crate::db::DatabaseUrl;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/salon-crm.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://PATH` (embedded, created on start) or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// `DB_POOL_SIZE`: connections per process (default 10).
    pub db_pool_size: u32,
    /// `BIND`: the web server's address (default 127.0.0.1:8080; port 0 picks a free one).
    pub bind: String,
    /// `PUBLIC_BASE_URL`: the origin put into survey and unsubscribe links.
    pub public_base_url: Option<String>,
    /// `SESSION_TTL`: how long a login lasts, e.g. `12h` (default, a working day), `30m`, `7d`.
    pub session_ttl: chrono::Duration,
    /// `LOG_FORMAT`: `pretty` (default) or `json` (one object per line, for log shippers).
    pub log_format: LogFormat,
    /// `EMBEDDED_WORKER`: run the worker inside the web process (default: on for SQLite, off
    /// for PostgreSQL, where workers are separate processes).
    pub embedded_worker: bool,
    /// `WORKER_INTERVAL_SECS`: how often `worker run` makes a pass (default 30).
    pub worker_interval: Duration,
    /// `WORKER_METRICS_BIND`: where `worker run` serves /metrics (default 127.0.0.1:9091).
    pub worker_metrics_bind: String,
    /// `DATA_KEYS`: keys for clients' sensitive fields, `ID:BASE64KEY[,ID:BASE64KEY…]`, the
    /// first encrypting. Required with PostgreSQL; with SQLite a key file is made beside the
    /// database on first start.
    pub data_keys: Option<Secret>,
    /// `LOGIN_LIMIT_PER_ACCOUNT`: login attempts per minute for one email address (default 10).
    pub login_limit_per_account: u32,
    /// `LOGIN_LIMIT_PER_IP`: login and signup attempts per minute from one client address
    /// (default 60: a salon's front desks share one office address).
    pub login_limit_per_ip: u32,
    /// `REQUEST_TIMEOUT_SECS`: how long one request may take, reading its body included
    /// (default 30; CSV imports and export downloads get ten times as long).
    pub request_timeout: Duration,
    /// `TRUST_PROXY_HEADERS`: take the client's address from `X-Forwarded-For` (or `Forwarded`)
    /// (only behind a proxy that sets them; default off: the connection's address). The
    /// address used is the rightmost one not in `TRUSTED_PROXIES`: the one the nearest
    /// untrusted hop connected from, which a client cannot choose by writing the header itself.
    pub trust_proxy_headers: bool,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of proxies between the
    /// nearest one and the clients (a CDN in front of the ingress, say); their entries in
    /// `X-Forwarded-For` are skipped. Default none: only the connecting proxy is trusted.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// A setting that must never reach a log line.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Every problem found in the environment, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut number = |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| -> u64 {
            match get(name).map(|v| v.trim().parse::<u64>()) {
                None => default,
                Some(Ok(n)) if range.contains(&n) => n,
                Some(_) => {
                    problems.push(format!(
                        "{name} must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ));
                    default
                }
            }
        };
        let db_pool_size = number("DB_POOL_SIZE", 10, 1..=500) as u32;
        let worker_interval = number("WORKER_INTERVAL_SECS", 30, 1..=3600);
        let login_limit_per_account = number("LOGIN_LIMIT_PER_ACCOUNT", 10, 1..=100_000) as u32;
        let login_limit_per_ip = number("LOGIN_LIMIT_PER_IP", 60, 1..=100_000) as u32;
        let request_timeout = number("REQUEST_TIMEOUT_SECS", 30, 1..=3600);

        let session_ttl = match get("SESSION_TTL").map(|v| parse_duration(&v)) {
            None => chrono::Duration::hours(12),
            Some(Some(ttl)) if ttl >= chrono::Duration::seconds(1) && ttl <= chrono::Duration::days(90) => ttl,
            Some(_) => {
                problems.push("SESSION_TTL must be a duration from 1s to 90d, such as 12h, 30m or 7d".into());
                chrono::Duration::hours(12)
            }
        };
        let database_url = match DatabaseUrl::parse(&get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()))
        {
            Ok(url) => Some(url),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => {
                problems.push("LOG_FORMAT must be pretty or json".into());
                LogFormat::Pretty
            }
        };
        // An on/off setting: None when unset (or unreadable, which is reported).
        let mut switch = |name: &str| -> Option<bool> {
            match get(name).as_deref() {
                None => None,
                Some("true" | "1" | "on") => Some(true),
                Some("false" | "0" | "off") => Some(false),
                Some(_) => {
                    problems.push(format!("{name} must be true or false"));
                    None
                }
            }
        };
        let trust_proxy_headers = switch("TRUST_PROXY_HEADERS").unwrap_or(false);
        let embedded_worker = switch("EMBEDDED_WORKER");
        let trusted_proxies = match get("TRUSTED_PROXIES").map(|list| parse_networks(&list)) {
            None => Vec::new(),
            Some(Ok(networks)) => networks,
            Some(Err(bad)) => {
                problems.push(format!(
                    "TRUSTED_PROXIES must be addresses or CIDR ranges separated by commas; {bad:?} is neither"
                ));
                Vec::new()
            }
        };
        let public_base_url = get("PUBLIC_BASE_URL").map(|url| url.trim_end_matches('/').to_owned());
        if let Some(url) = &public_base_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                problems.push("PUBLIC_BASE_URL must be an http(s) origin such as https://crm.example.com".into());
            }
        }

        match database_url {
            Some(database_url) if problems.is_empty() => Ok(Config {
                embedded_worker: embedded_worker.unwrap_or(matches!(database_url, DatabaseUrl::Sqlite(_))),
                database_url,
                db_pool_size,
                bind: get("BIND").unwrap_or_else(|| DEFAULT_BIND.into()),
                public_base_url,
                session_ttl,
                log_format,
                worker_interval: Duration::from_secs(worker_interval),
                worker_metrics_bind: get("WORKER_METRICS_BIND").unwrap_or_else(|| "127.0.0.1:9091".into()),
                data_keys: get("DATA_KEYS").map(Secret),
                login_limit_per_account,
                login_limit_per_ip,
                request_timeout: Duration::from_secs(request_timeout),
                trust_proxy_headers,
                trusted_proxies,
            }),
            _ => Err(ConfigError(problems)),
        }
    }
}

impl Config {
    /// The keyring for sensitive fields: `DATA_KEYS`, or for an embedded SQLite database a key
    /// file beside it (`data-keys`, created with a fresh key on first start, mode 0600), so a
    /// single salon needs no setup and no key ever sits in the repository.
    pub fn keyring(&self) -> Result<crate::crypto::Keyring, ConfigError> {
        let spec = match (&self.data_keys, &self.database_url) {
            (Some(keys), _) => keys.expose().to_owned(),
            (None, DatabaseUrl::Sqlite(path)) => {
                let file = path.with_file_name("data-keys");
                read_or_create_key_file(&file).map_err(|e| ConfigError(vec![format!("{}: {e}", file.display())]))?
            }
            (None, DatabaseUrl::Postgres(_)) => {
                return Err(ConfigError(vec![
                    "DATA_KEYS is required with PostgreSQL: ID:BASE64KEY (32 random bytes), e.g. from `openssl rand -base64 32`".into(),
                ]))
            }
        };
        crate::crypto::Keyring::parse(spec.trim()).map_err(|e| ConfigError(vec![format!("DATA_KEYS: {e}")]))
    }
}

fn read_or_create_key_file(file: &std::path::Path) -> std::io::Result<String> {
    match std::fs::read_to_string(file) {
        Ok(spec) => Ok(spec),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let spec = crate::crypto::Keyring::generate_spec();
            match crate::files::create_private(file) {
                Ok(mut handle) => {
                    std::io::Write::write_all(&mut handle, spec.as_bytes())?;
                    Ok(spec)
                }
                // Another process (the worker) created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(file),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// `10.0.0.0/8, 192.0.2.7, 2001:db8::/32`: a bare address is a range of one.
fn parse_networks(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| item.to_owned())
        })
        .collect()
}

/// `90s`, `30m`, `12h`, `7d`.
fn parse_duration(text: &str) -> Option<chrono::Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let amount: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        's' => chrono::Duration::try_seconds(amount),
        'm' => chrono::Duration::try_minutes(amount),
        'h' => chrono::Duration::try_hours(amount),
        'd' => chrono::Duration::try_days(amount),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_product() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url, DatabaseUrl::Sqlite("data/salon-crm.db".into()));
        assert!(config.embedded_worker);
        assert_eq!(config.bind, "127.0.0.1:8080");
    }

    #[test]
    fn postgres_runs_workers_separately() {
        let config = config(&[("DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert!(!config.embedded_worker);
    }

    #[test]
    fn session_ttl_takes_units() {
        assert_eq!(
            config(&[("SESSION_TTL", "90s")]).unwrap().session_ttl,
            chrono::Duration::seconds(90)
        );
        assert_eq!(
            config(&[("SESSION_TTL", "7d")]).unwrap().session_ttl,
            chrono::Duration::days(7)
        );
        assert!(config(&[("SESSION_TTL", "12")]).is_err());
        assert!(config(&[("SESSION_TTL", "0s")]).is_err());
    }

    #[test]
    fn every_problem_is_reported() {
        let error = config(&[
            ("DATABASE_URL", "mysql://x"),
            ("DB_POOL_SIZE", "zero"),
            ("LOG_FORMAT", "xml"),
        ])
        .unwrap_err();
        assert_eq!(error.0.len(), 3, "{error}");
    }

    #[test]
    fn trusted_proxies_are_ranges_or_addresses() {
        let parsed = config(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32")]).unwrap();
        let ranges: Vec<String> = parsed.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(ranges, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        assert!(config(&[]).unwrap().trusted_proxies.is_empty());
        let error = config(&[("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")]).unwrap_err();
        assert!(error.to_string().contains("proxy.local"), "{error}");
    }
}
