//! What a built ELF file asks of the dynamic loader: its needed libraries and the symbol
//! versions it requires of each (`objdump -p`), which decide the oldest userland it loads on.

use anyhow::{bail, ensure, Context, Result};
use std::path::Path;
use std::process::Command;

/// One `required from <library>` entry of the version references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The soname the version is required from, such as `libc.so.6`.
    pub library: String,
    /// The version name, such as `GLIBC_2.2.5`, `GCC_3.0` or `GLIBC_ABI_DT_RELR`.
    pub version: String,
}

/// What the loader reads from one file.
#[derive(Debug, Clone, Default)]
pub struct Dependencies {
    /// The `NEEDED` entries of the dynamic section.
    pub needed: Vec<String>,
    /// The version references, one per (library, version).
    pub requirements: Vec<Requirement>,
}

impl Dependencies {
    /// Runs `objdump -p` on `file` and parses its dynamic section and version references.
    pub fn of(file: &Path) -> Result<Self> {
        let out = Command::new("objdump")
            .arg("-p")
            .arg(file)
            .output()
            .context("running objdump (binutils)")?;
        ensure!(
            out.status.success(),
            "objdump -p {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self::parse(&String::from_utf8_lossy(&out.stdout))
            .with_context(|| format!("objdump -p {}", file.display()))
    }

    /// Parses `objdump -p` output.
    pub fn parse(text: &str) -> Result<Self> {
        let mut deps = Self::default();
        let mut in_references = false;
        let mut library: Option<String> = None;
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["NEEDED", soname] = words[..] {
                deps.needed.push(soname.to_owned());
            } else if line.starts_with("Version References:") {
                in_references = true;
            } else if in_references {
                match words[..] {
                    ["required", "from", soname] => {
                        library = Some(soname.trim_end_matches(':').to_owned());
                    }
                    [_hash, _flags, _index, version] => {
                        let Some(library) = library.clone() else {
                            bail!("version {version} before any `required from` line");
                        };
                        deps.requirements.push(Requirement {
                            library,
                            version: version.to_owned(),
                        });
                    }
                    [] => in_references = false,
                    _ => bail!("unexpected version reference line {line:?}"),
                }
            }
        }
        Ok(deps)
    }
}

/// A dotted version such as `2.28` or `2.2.5` as numbers, for comparing; `None` if it is
/// not one.
pub fn dotted(version: &str) -> Option<Vec<u32>> {
    version.split('.').map(|n| n.parse().ok()).collect()
}

/// The newest `GLIBC_x.y` version any of `files` requires.
pub fn newest_glibc(files: &[&Path]) -> Result<String> {
    let mut newest: Option<(Vec<u32>, String)> = None;
    for file in files {
        for r in Dependencies::of(file)?.requirements {
            let Some(number) = r.version.strip_prefix("GLIBC_").and_then(dotted) else {
                continue;
            };
            if newest.as_ref().is_none_or(|(n, _)| number > *n) {
                newest = Some((number, r.version["GLIBC_".len()..].to_owned()));
            }
        }
    }
    newest
        .map(|(_, v)| v)
        .context("no GLIBC_ symbol version required")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "
Dynamic Section:
  NEEDED               libgcc_s.so.1
  NEEDED               libc.so.6
  SONAME               libx.so

Version References:
  required from libgcc_s.so.1:
    0x0b792650 0x00 05 GCC_3.0
  required from libc.so.6:
    0x09691a75 0x00 04 GLIBC_2.2.5
    0x06969197 0x00 03 GLIBC_2.17
";

    #[test]
    fn parses_needed_and_version_references() -> Result<()> {
        let deps = Dependencies::parse(SAMPLE)?;
        assert_eq!(deps.needed, ["libgcc_s.so.1", "libc.so.6"]);
        let versions: Vec<_> = deps
            .requirements
            .iter()
            .map(|r| (r.library.as_str(), r.version.as_str()))
            .collect();
        assert_eq!(
            versions,
            [
                ("libgcc_s.so.1", "GCC_3.0"),
                ("libc.so.6", "GLIBC_2.2.5"),
                ("libc.so.6", "GLIBC_2.17")
            ]
        );
        Ok(())
    }

    #[test]
    fn dotted_versions_compare_as_numbers() {
        assert!(dotted("2.17") > dotted("2.2.5"));
        assert!(dotted("2.28") < dotted("2.34"));
        assert_eq!(dotted("ABI_DT_RELR"), None);
    }
}
