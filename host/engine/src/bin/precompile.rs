//! Ahead-of-time compiles the guest component with the host's exact engine settings, so
//! the component can deserialize it at load instead of running Cranelift inside mysqld.
//! Beside the artifact it writes the SHA-256 of the `.wasm` it was made from
//! (`OUT.cwasm.source-sha256`): the host's build refuses to embed an artifact made from
//! another `.wasm` than the one it embeds.
//!
//! usage: precompile GUEST.wasm OUT.cwasm

use anyhow::{bail, Context, Result};
use sha2::Digest;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        bail!("usage: precompile GUEST.wasm OUT.cwasm")
    };
    let wasm = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let engine = kmip_keyring_engine::new_engine().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let started = std::time::Instant::now();
    let artifact = engine
        .precompile_component(&wasm)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    std::fs::write(output, &artifact).with_context(|| format!("writing {output}"))?;
    let source = kmip_keyring_engine::source_hash_path(std::path::Path::new(output));
    let digest: String = sha2::Sha256::digest(&wasm)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(&source, format!("{digest}\n"))
        .with_context(|| format!("writing {}", source.display()))?;
    eprintln!(
        "precompiled {input} ({} bytes) to {output} ({} bytes) in {:?}",
        wasm.len(),
        artifact.len(),
        started.elapsed()
    );
    Ok(())
}
