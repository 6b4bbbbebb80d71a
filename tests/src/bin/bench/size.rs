//! Section 7: the installable component's size, its embedded guest forms, and its machine code by part.

use anyhow::{Context, Result};
use kmip_keyring_tests::workspace_root;
use std::path::Path;
use std::process::Command;

/// What section 7 measured, in bytes.
pub struct Size {
    /// `component_keyring_kmip.so` as installed (stripped by scripts/build-component.sh).
    pub installed: u64,
    /// Its machine code (`.text`).
    pub text: u64,
    /// Its read-only data (`.rodata`), which holds both embedded guest forms.
    pub rodata: u64,
    /// The embedded guest component (`.wasm`), compiled at load when the host's CPU refuses
    /// the precompiled artifact.
    pub wasm: u64,
    /// The embedded precompiled guest (`.cwasm`).
    pub cwasm: u64,
    /// Machine code by what it is for, largest first, from the symbol table of the same
    /// build before stripping.
    pub code_by_part: Vec<(&'static str, u64)>,
}

/// What a function symbol's crate is for: the parts the size goal is weighed against.
fn part_of(symbol: &str) -> &'static str {
    // "<wasmtime::Foo as core::Bar>::f" belongs to wasmtime; "aws_lc_0_30_…" is C.
    let name = symbol.trim_start_matches(['<', '&', '*', ' ']);
    let Some((krate, _)) = name.split_once("::") else {
        return "aws-lc's libcrypto (C and assembly)";
    };
    match krate {
        k if k.starts_with("cranelift")
            || matches!(
                k,
                "regalloc2"
                    | "wasmtime_internal_cranelift"
                    | "pulley_interpreter"
                    | "gimli"
                    | "wasmprinter"
                    | "wasm_encoder"
                    | "target_lexicon"
            ) =>
        {
            "Cranelift (compiles a guest_module at load)"
        }
        "wasmparser" => "wasmparser (validates a guest_module)",
        k if k.starts_with("wasmtime") || k == "object" => "wasmtime runtime",
        "rustls" | "webpki" | "aws_lc_rs" | "x509_parser" | "der_parser" | "asn1_rs"
        | "rustls_pki_types" | "oid_registry" => "TLS (rustls, aws-lc-rs, x509)",
        "core" | "alloc" | "std" | "hashbrown" | "smallvec" | "indexmap" | "serde_core"
        | "serde" | "anyhow" => "Rust std and generic containers (all callers)",
        k if k.starts_with("component_keyring_kmip") || k.starts_with("kmip_keyring") => {
            "this project"
        }
        _ => "other crates",
    }
}

/// Sums the function symbols of `so` (not stripped) by [`part_of`].
fn code_by_part(so: &Path) -> Result<Vec<(&'static str, u64)>> {
    let out = Command::new("nm")
        .args(["--print-size", "--demangle", "--defined-only"])
        .arg(so)
        .output()
        .context("running nm")?;
    anyhow::ensure!(
        out.status.success(),
        "nm {} failed: {}",
        so.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut parts: Vec<(&'static str, u64)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut w = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(kind), Some(name)) =
            (w.next(), w.next(), w.next(), w.next())
        else {
            continue;
        };
        if !matches!(kind, "t" | "T" | "w" | "W") {
            continue;
        }
        let size = u64::from_str_radix(size, 16).unwrap_or(0);
        let part = part_of(name);
        match parts.iter_mut().find(|(p, _)| *p == part) {
            Some((_, total)) => *total += size,
            None => parts.push((part, size)),
        }
    }
    parts.sort_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
    Ok(parts)
}

/// The sizes of `names`, in order, from one `size -A` run.
fn sections<const N: usize>(so: &Path, names: [&str; N]) -> Result<[u64; N]> {
    let out = Command::new("size")
        .arg("-A")
        .arg(so)
        .output()
        .context("running size")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sizes = [0u64; N];
    for (size, name) in sizes.iter_mut().zip(names) {
        *size = text
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name)).then(|| w.next()?.parse().ok())?
            })
            .with_context(|| format!("no {name} section in {}", so.display()))?;
    }
    Ok(sizes)
}

/// Measures the stripped component `scripts/build-component.sh` wrote.
pub fn run() -> Result<Size> {
    let so = workspace_root().join("target/release/component_keyring_kmip.so");
    let guest = workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_guest");
    let len = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .with_context(|| format!("{} (run scripts/build-component.sh)", p.display()))
    };
    let [text, rodata] = sections(&so, [".text", ".rodata"])?;
    Ok(Size {
        installed: len(&so)?,
        text,
        rodata,
        wasm: len(&guest.with_extension("wasm"))?,
        cwasm: len(&guest.with_extension("cwasm"))?,
        code_by_part: code_by_part(&kmip_keyring_tests::install::built_component()?)?,
    })
}
