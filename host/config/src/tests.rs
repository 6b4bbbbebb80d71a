use super::*;

const GOOD: &str = r#"{
    "server_addr": "127.0.0.1", "server_port": "5696",
    "client_ca": "client.pem", "client_key": "client.key", "server_ca": "ca.pem",
    "object_group": "grp", "kmip_timeout_ms": 1500, "path": "ignored"
}"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_json(Path::new("/etc/x/component_keyring_kmip.cnf"), text)
}

fn with(field: &str, value: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
    if value == "<absent>" {
        v.as_object_mut().unwrap().remove(field);
    } else {
        v[field] = serde_json::from_str(value).unwrap();
    }
    v.to_string()
}

#[test]
fn percona_keys_parse() {
    let c = parse(GOOD).unwrap();
    assert_eq!(
        c.servers,
        vec![ServerEndpoint {
            host: "127.0.0.1".into(),
            port: 5696
        }]
    );
    assert_eq!(c.client_cert, PathBuf::from("client.pem"));
    assert_eq!(c.client_key, PathBuf::from("client.key"));
    assert_eq!(c.server_ca, PathBuf::from("ca.pem"));
    assert_eq!(c.object_group.as_deref(), Some("grp"));
    assert_eq!(c.timeout, Duration::from_millis(1500));
    assert_eq!(c.limits, Limits::default());
    let c = parse(&with("sandbox_memory_mb", "128")).unwrap();
    assert_eq!(c.limits.memory_bytes, 128 << 20);
}

#[test]
fn optional_fields_default() {
    let c = parse(&with("object_group", "<absent>")).unwrap();
    assert_eq!(c.object_group, None);
    let c = parse(&with("object_group", "\"\"")).unwrap();
    assert_eq!(c.object_group, None);
    let c = parse(&with("kmip_timeout_ms", "<absent>")).unwrap();
    assert_eq!(c.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
    assert_eq!(c.max_objects, 65_535, "Percona's default");
}

#[test]
fn max_objects_is_perconas_number() {
    assert_eq!(
        parse(&with("max_objects", "1000")).unwrap().max_objects,
        1000
    );
    for (value, says) in [
        ("\"1000\"", "\"max_objects\" must be"),
        ("0", "\"max_objects\" must be from 1 to 262144, not 0"),
        ("262145", "\"max_objects\" must be from 1 to 262144"),
        ("-1", "\"max_objects\""),
    ] {
        let e = parse(&with("max_objects", value)).unwrap_err().to_string();
        assert!(
            e.contains(says) && e.contains("component_keyring_kmip.cnf"),
            "{value}: {e}"
        );
    }
}

#[test]
fn every_bad_field_is_named_with_the_file() {
    let cases = [
        ("server_addr", "<absent>", "\"server_addr\" is missing"),
        ("server_addr", "\"  \"", "\"server_addr\" must not be empty"),
        (
            "server_addr",
            "42",
            "\"server_addr\" must be a JSON string or a list",
        ),
        (
            "server_addr",
            "[]",
            "\"server_addr\" must name at least one server",
        ),
        (
            "server_addr",
            "[\"a\", 7]",
            "\"server_addr\" must be a JSON string or a list",
        ),
        (
            "server_addr",
            "[\"a\", \"\"]",
            "\"server_addr\" must not be empty",
        ),
        (
            "server_addr",
            "\"a,b\"",
            "list several servers as a JSON list",
        ),
        ("server_addr", "[\"a:5696\", \"a\"]", "lists a:5696 twice"),
        ("server_addr", "\"kms:99999\"", "is not from 1 to 65535"),
        (
            "tls_peer_verification",
            "\"false\"",
            "\"tls_peer_verification\" must be true or false",
        ),
        (
            "tls_hostname_verification",
            "0",
            "\"tls_hostname_verification\" must be true or false",
        ),
        (
            "server_port",
            "5696",
            "\"server_port\" must be a JSON string such as \"5696\", not a number",
        ),
        (
            "server_port",
            "\"http\"",
            "\"server_port\" must be a TCP port",
        ),
        ("server_port", "\"0\"", "\"server_port\" must be a TCP port"),
        (
            "server_port",
            "\"70000\"",
            "\"server_port\" must be a TCP port",
        ),
        ("client_ca", "<absent>", "\"client_ca\" is missing"),
        (
            "client_key",
            "[]",
            "\"client_key\" must be a JSON string, not an array",
        ),
        (
            "server_ca",
            "null",
            "\"server_ca\" must be a JSON string, not null",
        ),
        (
            "object_group",
            "7",
            "\"object_group\" must be a JSON string",
        ),
        (
            "kmip_timeout_ms",
            "\"5000\"",
            "\"kmip_timeout_ms\" must be a whole number",
        ),
        (
            "kmip_timeout_ms",
            "-1",
            "\"kmip_timeout_ms\" must be a whole number",
        ),
        (
            "kmip_timeout_ms",
            "0",
            "\"kmip_timeout_ms\" must be at least 1",
        ),
    ];
    for (field, value, expected) in cases {
        let err = parse(&with(field, value)).unwrap_err().to_string();
        assert!(err.contains("/etc/x/component_keyring_kmip.cnf"), "{err}");
        assert!(err.contains(expected), "{field}={value}: {err}");
    }
}

#[test]
fn a_guest_module_must_be_pinned_by_a_well_formed_sha256() {
    let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
    v["guest_module"] = "/opt/vendor.wasm".into();
    v["guest_sha256"] = "AB".repeat(32).into();
    let c = parse(&v.to_string()).unwrap();
    let guest = c.guest.unwrap();
    assert_eq!(guest.path, PathBuf::from("/opt/vendor.wasm"));
    assert_eq!(guest.sha256, "ab".repeat(32));
    v["guest_sha256"] = "xyz".into();
    let err = parse(&v.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("\"guest_sha256\" must be 64 hexadecimal digits"),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_the_file_and_position() {
    let err = parse("{\"server_addr\": ").unwrap_err().to_string();
    assert!(
        err.contains("component_keyring_kmip.cnf has not valid format: not valid JSON"),
        "{err}"
    );
    assert!(err.contains("line 1"), "{err}");
    let err = parse("[1,2]").unwrap_err().to_string();
    assert!(err.contains("must be an object"), "{err}");
}

#[test]
fn read_local_config_redirects_to_the_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let (plugin, data) = (root.path().join("plugin"), root.path().join("data"));
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        plugin.join(CONFIG_FILE_NAME),
        r#"{"read_local_config": true, "server_addr": "ignored"}"#,
    )
    .unwrap();
    std::fs::write(data.join(CONFIG_FILE_NAME), GOOD).unwrap();
    let c = Config::locate_and_load(&plugin, &data).unwrap();
    assert_eq!(c.source, data.join(CONFIG_FILE_NAME));
    assert_eq!(c.servers[0].port, 5696);

    std::fs::remove_file(data.join(CONFIG_FILE_NAME)).unwrap();
    let err = Config::locate_and_load(&plugin, &data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read config file"), "{err}");
    assert!(err.contains("data"), "{err}");

    std::fs::write(
        plugin.join(CONFIG_FILE_NAME),
        r#"{"read_local_config": "yes"}"#,
    )
    .unwrap();
    let err = Config::locate_and_load(&plugin, &data)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"read_local_config\" must be true or false"),
        "{err}"
    );
}

#[test]
fn several_servers_in_order_with_their_own_or_the_shared_port() {
    let c = parse(&with(
        "server_addr",
        r#"["kms1.example.com", "kms2.example.com:5697", "[fd00::1]", "[fd00::2]:5698"]"#,
    ))
    .unwrap();
    let listed: Vec<String> = c.servers.iter().map(ToString::to_string).collect();
    assert_eq!(
        listed,
        [
            "kms1.example.com:5696",
            "kms2.example.com:5697",
            "[fd00::1]:5696",
            "[fd00::2]:5698"
        ]
    );
    // Every entry has its port: server_port may be left out.
    let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
    v["server_addr"] = serde_json::json!(["a:1", "b:2"]);
    v.as_object_mut().unwrap().remove("server_port");
    assert_eq!(parse(&v.to_string()).unwrap().servers.len(), 2);
    // One entry lacks it: now it is required.
    v["server_addr"] = serde_json::json!(["a:1", "b"]);
    let err = parse(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("\"server_port\" is missing"), "{err}");
    // Too many.
    let many: Vec<String> = (0..=MAX_SERVERS).map(|i| format!("kms{i}")).collect();
    v["server_addr"] = serde_json::json!(many);
    let err = parse(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("at most 16"), "{err}");
}

#[test]
fn tls_verification_is_on_unless_turned_off() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.verification, TlsVerification::default());
    assert!(c.verification.peer && c.verification.hostname);
    assert_eq!(c.verification.warning(), None);
    let c = parse(&with("tls_hostname_verification", "false")).unwrap();
    assert!(c.verification.peer && !c.verification.hostname);
    assert!(c
        .verification
        .warning()
        .unwrap()
        .contains("tls_hostname_verification is off"));
    let c = parse(&with("tls_peer_verification", "false")).unwrap();
    assert!(!c.verification.peer && !c.verification.hostname);
    assert!(c
        .verification
        .warning()
        .unwrap()
        .contains("tls_peer_verification is off"));
}
