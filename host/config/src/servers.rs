//! `server_addr` and `server_port`: Percona's single server, or an ordered list.
//!
//! Forms accepted:
//! - `"server_addr": "kms1.example.com", "server_port": "5696"` (Percona's);
//! - `"server_addr": ["kms1.example.com", "kms2.example.com:5697", "[fd00::1]"]`, where an
//!   entry without a port takes `server_port`, which is then required.

use super::fields::Fields;
use super::{ConfigError, ServerEndpoint, MAX_SERVERS};
use serde_json::Value;

const FIELD: &str = "server_addr";

/// The configured servers, in the order they are tried.
pub(super) fn parse(fields: &Fields) -> Result<Vec<ServerEndpoint>, ConfigError> {
    let entries: Vec<String> = match fields.get(FIELD) {
        None => return Err(fields.missing(FIELD)),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(fields.wrong_type_of(
                    FIELD,
                    "a JSON string or a list of strings such as [\"kms1:5696\", \"kms2\"]",
                    other,
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(fields.wrong_type_of(
                FIELD,
                "a JSON string or a list of strings such as [\"kms1:5696\", \"kms2\"]",
                other,
            ))
        }
    };
    if entries.is_empty() {
        return Err(fields.invalid(FIELD, "must name at least one server"));
    }
    if entries.len() > MAX_SERVERS {
        return Err(fields.invalid(
            FIELD,
            format!(
                "lists {} servers; at most {MAX_SERVERS} are allowed",
                entries.len()
            ),
        ));
    }
    let mut default_port = None;
    let mut servers = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (host, port) = split(entry).map_err(|reason| fields.invalid(FIELD, reason))?;
        let port = match port {
            Some(p) => p,
            None => match default_port {
                Some(p) => p,
                None => {
                    let p = fields.port("server_port")?;
                    default_port = Some(p);
                    p
                }
            },
        };
        let endpoint = ServerEndpoint { host, port };
        if servers.contains(&endpoint) {
            return Err(fields.invalid(FIELD, format!("lists {endpoint} twice")));
        }
        servers.push(endpoint);
    }
    Ok(servers)
}

/// Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
fn split(entry: &str) -> Result<(String, Option<u16>), String> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err("must not be empty (nor hold an empty entry)".into());
    }
    let bad_port = |p: &str| format!("has \"{entry}\", whose port \"{p}\" is not from 1 to 65535");
    let parse_port = |p: &str| match p.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(bad_port(p)),
    };
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("has \"{entry}\", which lacks the closing ']'"))?;
        if host.is_empty() {
            return Err(format!("has \"{entry}\" with an empty address"));
        }
        return match after {
            "" => Ok((host.to_owned(), None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host.to_owned(), Some(parse_port(p)?))),
                None => Err(format!("has \"{entry}\": expected ':port' after ']'")),
            },
        };
    }
    if entry.contains(char::is_whitespace) || entry.contains(',') {
        return Err(format!(
            "has \"{entry}\"; list several servers as a JSON list, one per string"
        ));
    }
    match entry.matches(':').count() {
        0 => Ok((entry.to_owned(), None)),
        1 => {
            let (host, port) = entry.split_once(':').expect("one colon");
            if host.is_empty() {
                return Err(format!("has \"{entry}\" with an empty host"));
            }
            Ok((host.to_owned(), Some(parse_port(port)?)))
        }
        // A bare IPv6 address; a port needs the bracket form.
        _ => Ok((entry.to_owned(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn entry_forms() {
        assert_eq!(split("kms").unwrap(), ("kms".into(), None));
        assert_eq!(split(" kms:5697 ").unwrap(), ("kms".into(), Some(5697)));
        assert_eq!(split("[::1]:5696").unwrap(), ("::1".into(), Some(5696)));
        assert_eq!(split("[::1]").unwrap(), ("::1".into(), None));
        assert_eq!(split("::1").unwrap(), ("::1".into(), None));
        for bad in [
            "",
            ":5696",
            "kms:0",
            "kms:99999",
            "kms:x",
            "[::1",
            "[]:1",
            "[::1]5",
            "a,b",
            "a b",
        ] {
            assert!(split(bad).is_err(), "{bad:?} accepted");
        }
    }
}
