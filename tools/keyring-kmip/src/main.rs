//! The `keyring-kmip` command line. Exit status: 0 when every check passed (warnings
//! allowed) or the listing succeeded, 1 when a check failed or the listing could not be
//! made, 2 for a usage error.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use keyring_kmip::checks::{self, Source};
use keyring_kmip::{list, report};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "keyring-kmip",
    version,
    about = "Checks component_keyring_kmip's configuration and KMIP servers, and lists its keys"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks the configuration, the certificates and each server, one line per check with
    /// the fix for each problem.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
        /// Also store, read back and remove a uniquely named probe key.
        #[arg(long)]
        write_test: bool,
        /// Print JSON for monitoring.
        #[arg(long)]
        json: bool,
    },
    /// Lists the objects in the object group: data_id, auth_id, type, length, state,
    /// unique identifier (never key bytes), PreActive leftovers flagged.
    List {
        #[command(flatten)]
        config: ConfigArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct ConfigArgs {
    /// The configuration file (component_keyring_kmip.cnf).
    #[arg(long, conflicts_with_all = ["plugin_dir", "datadir"], required_unless_present = "plugin_dir")]
    config: Option<PathBuf>,
    /// mysqld's plugin_dir: the configuration is found as the component finds it.
    #[arg(long, requires = "datadir")]
    plugin_dir: Option<PathBuf>,
    /// mysqld's datadir, for a local configuration (`"read_local_config": true`).
    #[arg(long, requires = "plugin_dir")]
    datadir: Option<PathBuf>,
}

impl ConfigArgs {
    fn source(self) -> Source {
        match (self.config, self.plugin_dir, self.datadir) {
            (Some(file), _, _) => Source::File(file),
            (None, Some(plugin_dir), Some(data_dir)) => Source::Dirs {
                plugin_dir,
                data_dir,
            },
            _ => unreachable!("clap requires --config or --plugin-dir with --datadir"),
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyring-kmip: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Writes the report; a reader that went away (`keyring-kmip list | head`) is not an error.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check {
            config,
            write_test,
            json,
        } => {
            let report = checks::run(&config.source(), write_test);
            if json {
                emit(&format!("{}\n", report::checks_json(&report)))?;
            } else {
                emit(&report::checks_text(&report))?;
            }
            Ok(ExitCode::from(u8::from(report.failed())))
        }
        Command::List { config, json } => {
            let config = config.source().load()?;
            let objects = list::run(&config)?;
            if json {
                emit(&format!("{}\n", report::list_json(&objects)))?;
            } else {
                emit(&report::list_text(&objects))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
