//! Malformed configurations and manifests, table-driven: each is refused at load with a
//! message naming the file and the field, before anything is dialled.

use anyhow::Result;
use component_keyring_kmip::config::CONFIG_FILE_NAME;
use component_keyring_kmip::{Config, Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::loader::manifest::Manifest;
use kmip_keyring_tests::pki::{certificate_valid, Pki};
use kmip_keyring_tests::runtime;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Changes the valid configuration (and may write files into the directory).
type Edit = Box<dyn Fn(&mut Value, &Path) -> Result<()>>;

struct Case {
    what: &'static str,
    /// Changes the valid configuration (and may write files into the directory).
    edit: Edit,
    /// The field the message must name.
    field: &'static str,
    /// The file the message must name: the configuration, or the file a field points to.
    file: Blame,
    /// Another piece of the message.
    says: &'static str,
}

enum Blame {
    Config,
    Field,
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

fn set(field: &'static str, value: Value) -> Edit {
    Box::new(move |json, _| {
        json[field] = value.clone();
        Ok(())
    })
}

fn remove(field: &'static str) -> Edit {
    Box::new(move |json, _| {
        json.as_object_mut().expect("object").remove(field);
        Ok(())
    })
}

fn file_with(
    field: &'static str,
    name: &'static str,
    text: impl Fn(&Path) -> Result<String> + 'static,
) -> Edit {
    Box::new(move |json, dir| {
        let path = write(dir, name, &text(dir)?)?;
        json[field] = path.to_string_lossy().into_owned().into();
        Ok(())
    })
}

fn cases() -> Vec<Case> {
    use Blame::{Config as InConfig, Field as InFile};
    let case = |what, edit, field, file, says| Case {
        what,
        edit,
        field,
        file,
        says,
    };
    vec![
        case(
            "server_addr missing",
            remove("server_addr"),
            "server_addr",
            InConfig,
            "is missing",
        ),
        case(
            "server_addr empty",
            set("server_addr", json!("")),
            "server_addr",
            InConfig,
            "must not be empty",
        ),
        case(
            "server_addr a number",
            set("server_addr", json!(5696)),
            "server_addr",
            InConfig,
            "must be a JSON string or a list",
        ),
        case(
            "server_addr an empty list",
            set("server_addr", json!([])),
            "server_addr",
            InConfig,
            "at least one server",
        ),
        case(
            "server_port a number",
            set("server_port", json!(5696)),
            "server_port",
            InConfig,
            "must be a JSON string",
        ),
        case(
            "server_port empty",
            set("server_port", json!("")),
            "server_port",
            InConfig,
            "must be a TCP port",
        ),
        case(
            "client_ca empty",
            set("client_ca", json!(" ")),
            "client_ca",
            InConfig,
            "must not be empty",
        ),
        case(
            "client_key null",
            set("client_key", Value::Null),
            "client_key",
            InConfig,
            "not null",
        ),
        case(
            "server_ca missing",
            remove("server_ca"),
            "server_ca",
            InConfig,
            "is missing",
        ),
        case(
            "object_group a list",
            set("object_group", json!(["a"])),
            "object_group",
            InConfig,
            "must be a JSON string",
        ),
        case(
            "kmip_timeout_ms a string",
            set("kmip_timeout_ms", json!("5000")),
            "kmip_timeout_ms",
            InConfig,
            "whole number",
        ),
        case(
            "kmip_timeout_ms zero",
            set("kmip_timeout_ms", json!(0)),
            "kmip_timeout_ms",
            InConfig,
            "at least 1",
        ),
        case(
            "tls_peer_verification a string",
            set("tls_peer_verification", json!("no")),
            "tls_peer_verification",
            InConfig,
            "true or false",
        ),
        case(
            "sandbox_memory_mb too small",
            set("sandbox_memory_mb", json!(1)),
            "sandbox_memory_mb",
            InConfig,
            "must be from 16",
        ),
        case(
            "guest_module without its hash",
            set("guest_module", json!("/x.wasm")),
            "guest_sha256",
            InConfig,
            "is missing",
        ),
        case(
            "client_ca a missing file",
            set("client_ca", json!("/nonexistent/client.pem")),
            "client_ca",
            InFile,
            "No such file",
        ),
        case(
            "server_ca a directory",
            Box::new(|json, dir| {
                json["server_ca"] = dir.to_string_lossy().into_owned().into();
                Ok(())
            }),
            "server_ca",
            InFile,
            "directory",
        ),
        case(
            "client_ca not PEM",
            file_with("client_ca", "garbage.pem", |_| {
                Ok("not a certificate\n".into())
            }),
            "client_ca",
            InFile,
            "no PEM certificate",
        ),
        case(
            "client_key holds a certificate",
            file_with("client_key", "cert-as-key.pem", |_| {
                certificate_valid(2020, 2090)
            }),
            "client_key",
            InFile,
            "no PEM private key",
        ),
        case(
            "client certificate expired",
            file_with("client_ca", "expired.pem", |_| {
                certificate_valid(2001, 2002)
            }),
            "client_ca",
            InFile,
            "expired on",
        ),
        case(
            "server CA not yet valid",
            file_with("server_ca", "future-ca.pem", |_| {
                certificate_valid(2090, 2091)
            }),
            "server_ca",
            InFile,
            "not valid before",
        ),
        case(
            "client key of another certificate",
            file_with("client_key", "other.key", |_| {
                Ok(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?.serialize_pem())
            }),
            "client_key",
            InFile,
            "does not belong to the certificate",
        ),
    ]
}

#[test]
fn every_malformed_configuration_names_its_file_and_field() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate(dir.path())?;
    let valid = json!({
        "server_addr": "127.0.0.1",
        "server_port": "1",
        "client_ca": pki.client_cert,
        "client_key": pki.client_key,
        "server_ca": pki.ca,
    });
    let config_file = dir.path().join(CONFIG_FILE_NAME);
    let mut failures = Vec::new();
    for case in cases() {
        let mut json = valid.clone();
        (case.edit)(&mut json, dir.path())?;
        std::fs::write(&config_file, json.to_string())?;
        let loaded = Config::from_file(&config_file)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                Keyring::load(c, runtime(), MemoryLog::shared() as Arc<dyn LogSink>)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        let message = match loaded {
            Ok(()) => {
                failures.push(format!("{}: accepted", case.what));
                continue;
            }
            Err(message) => message,
        };
        let file = match case.file {
            Blame::Config => config_file.display().to_string(),
            Blame::Field => json[case.field].as_str().unwrap_or_default().to_owned(),
        };
        for needle in [case.field, file.as_str(), case.says] {
            if !message.contains(needle) {
                failures.push(format!("{}: {message:?} lacks {needle:?}", case.what));
            }
        }
        eprintln!("{}: {message}", case.what);
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // The configuration file itself missing, and not JSON.
    let missing = dir.path().join("absent").join(CONFIG_FILE_NAME);
    let message = Config::from_file(&missing).unwrap_err().to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    std::fs::write(&config_file, "{\"server_addr\": \"kms\",")?;
    let message = Config::from_file(&config_file).unwrap_err().to_string();
    assert!(
        message.contains("has not valid format: not valid JSON") && message.contains("line 1"),
        "{message}"
    );
    Ok(())
}

#[test]
fn every_malformed_manifest_names_its_file_and_field() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("mysqld.my");
    for (text, field, says) in [
        (
            "{\"components\": ",
            "",
            "has not valid format: not valid JSON",
        ),
        ("\"file://component_keyring_kmip\"", "", "must be an object"),
        ("{\"components\": 7}", "components", "must be a JSON string"),
        (
            "{\"components\": [\"file://component_keyring_kmip\"]}",
            "components",
            "not an array",
        ),
        ("{\"components\": null}", "components", "not null"),
        (
            "{\"read_local_manifest\": \"true\"}",
            "read_local_manifest",
            "true or false",
        ),
        (
            "{\"read_local_manifest\": 1, \"components\": \"file://x\"}",
            "read_local_manifest",
            "not a number",
        ),
    ] {
        std::fs::write(&file, text)?;
        let message = Manifest::from_file(&file).unwrap_err().to_string();
        assert!(
            message.contains(&file.display().to_string()),
            "{text}: {message}"
        );
        assert!(message.contains(field), "{text}: {message}");
        assert!(message.contains(says), "{text}: {message}");
    }
    // A missing manifest is no manifest (mysqld starts without components); an empty
    // `components` names none.
    assert_eq!(Manifest::from_file(&dir.path().join("none.my"))?, None);
    std::fs::write(&file, "{\"components\": \"\"}")?;
    assert_eq!(
        Manifest::from_file(&file)?.and_then(|m| m.components),
        Some(vec![])
    );
    Ok(())
}
