//! Ahead-of-time compiles the guest component with the host's exact engine settings, so
//! the component can deserialize it at load instead of running Cranelift inside mysqld.
//!
//! usage: precompile GUEST.wasm OUT.cwasm

use anyhow::{bail, Context, Result};

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
    eprintln!(
        "precompiled {input} ({} bytes) to {output} ({} bytes) in {:?}",
        wasm.len(),
        artifact.len(),
        started.elapsed()
    );
    Ok(())
}
