//! A real mysqld 9.7 for end-to-end tests, running in a Debian unstable chroot built once
//! per machine by `tests/mysqld/setup-chroot.sh`. Each instance gets its own directory in
//! the chroot: a hard link of mysqld (its manifest lives beside the binary), a plugin dir
//! with our component and MySQL's keyring_udf, a data dir, a socket; the KMIP server runs
//! on the host's loopback, which the chroot shares. Stopped by PID when dropped.

use crate::install::built_component;
use crate::pki::Pki;
use crate::workspace_root;
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The chroot with MySQL, built on first use; `Err` with the reason when it cannot be.
pub fn chroot() -> Result<PathBuf, String> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| crate::setup_script("tests/mysqld/setup-chroot.sh"))
        .clone()
}

/// Runs `scenario`, the test named `test`, when the chroot can be had. Without it the test
/// is recorded as skipped (see [`crate::record_skip`]), or fails where `KMIP_REQUIRE_MYSQLD`
/// is set, as CI sets it.
pub fn with_mysqld(test: &str, scenario: impl FnOnce() -> Result<()>) -> Result<()> {
    if let Err(reason) = chroot() {
        if std::env::var_os("KMIP_REQUIRE_MYSQLD").is_some() {
            bail!("KMIP_REQUIRE_MYSQLD is set but the MySQL chroot is unavailable: {reason}");
        }
        crate::record_skip(test, &format!("no MySQL chroot on this machine ({reason})"));
        return Ok(());
    }
    scenario()
}

/// How the component is named to mysqld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestForm {
    /// `mysqld.my` beside the binary names the component.
    Global,
    /// The global manifest says `read_local_manifest`; the data dir's names the component.
    LocalPair,
}

/// One mysqld instance's files (chroot-relative paths start with `/e2e/<name>`).
pub struct MysqlInstance {
    root: PathBuf,
    name: String,
    child: Option<Child>,
    plugins: Plugins,
}

/// Where an instance's mysqld finds its plugins and components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugins {
    /// The instance's own `plugin/`, holding the component built from this repository.
    Instance,
    /// The chroot's `/usr/lib/mysql/plugin`, as installed by packages (the Debian package
    /// test): nothing is copied there.
    System,
}

impl MysqlInstance {
    /// Lays out a new instance: initialised data dir, our component and keyring_udf in its
    /// plugin dir, the manifest in `form`, the PKI copied in, and a configuration (global
    /// file with `read_local_config`, the real one in the data dir) for `kmip_port`.
    pub fn create(
        name: &str,
        form: ManifestForm,
        pki: &Pki,
        kmip_port: u16,
        object_group: Option<&str>,
    ) -> Result<Self> {
        Self::create_with(name, form, pki, kmip_port, object_group, Plugins::Instance)
    }

    /// As [`Self::create`], with the plugins from `plugins`. With [`Plugins::System`]
    /// only the manifest and the data dir's configuration are written: the global
    /// configuration in the system plugin dir is the caller's.
    pub fn create_with(
        name: &str,
        form: ManifestForm,
        pki: &Pki,
        kmip_port: u16,
        object_group: Option<&str>,
        plugins: Plugins,
    ) -> Result<Self> {
        let root = chroot().map_err(|e| anyhow!(e))?;
        let this = Self {
            root,
            name: format!("{name}-{}", std::process::id()),
            child: None,
            plugins,
        };
        let dir = this.host_path("");
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["bin", "plugin", "data", "run", "pki"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        std::fs::hard_link(this.root.join("usr/sbin/mysqld"), dir.join("bin/mysqld")).or_else(
            |_| {
                std::fs::copy(this.root.join("usr/sbin/mysqld"), dir.join("bin/mysqld")).map(|_| ())
            },
        )?;
        if plugins == Plugins::Instance {
            for plugin in ["keyring_udf.so", "component_keyring_file.so"] {
                std::fs::copy(
                    this.root.join("usr/lib/mysql/plugin").join(plugin),
                    dir.join("plugin").join(plugin),
                )?;
            }
            std::fs::copy(
                built_component()?,
                dir.join("plugin/component_keyring_kmip.so"),
            )?;
        }
        for (src, dst) in [
            (&pki.ca, "ca.pem"),
            (&pki.client_cert, "client.pem"),
            (&pki.client_key, "client.key"),
        ] {
            std::fs::copy(src, dir.join("pki").join(dst))?;
        }
        this.run_mysqld(&["--initialize-insecure"], "init.log")?;
        // The installation files are the repository's examples, copied as an operator would.
        let example = |name: &str| workspace_root().join("examples").join(name);
        let install = |from: &str, to: &str| std::fs::copy(example(from), dir.join(to)).map(|_| ());
        match form {
            ManifestForm::Global => install("global/mysqld.my", "bin/mysqld.my")?,
            ManifestForm::LocalPair => {
                install("local-pair/mysqld.my", "bin/mysqld.my")?;
                install("local-pair/datadir-mysqld.my", "data/mysqld.my")?;
            }
        }
        if plugins == Plugins::Instance {
            install(
                "local-pair/component_keyring_kmip.cnf",
                "plugin/component_keyring_kmip.cnf",
            )?;
        }
        this.write_kmip_config(kmip_port, object_group)?;
        Ok(this)
    }

    /// Writes the data dir's configuration for the KMIP server on `port`.
    pub fn write_kmip_config(&self, port: u16, object_group: Option<&str>) -> Result<()> {
        let mut config = serde_json::json!({
            "server_addr": "127.0.0.1",
            "server_port": port.to_string(),
            "client_ca": self.chroot_path("pki/client.pem"),
            "client_key": self.chroot_path("pki/client.key"),
            "server_ca": self.chroot_path("pki/ca.pem"),
        });
        if let Some(group) = object_group {
            config["object_group"] = group.into();
        }
        self.write("data/component_keyring_kmip.cnf", &config.to_string())
    }

    /// Writes a file below the instance directory.
    pub fn write(&self, relative: &str, text: &str) -> Result<()> {
        std::fs::write(self.host_path(relative), text)
            .with_context(|| format!("writing {relative}"))
    }

    /// A path below the instance directory, as the host sees it.
    pub fn host_path(&self, relative: &str) -> PathBuf {
        self.root.join("e2e").join(&self.name).join(relative)
    }

    /// A path below the instance directory, as mysqld in the chroot sees it.
    pub fn chroot_path(&self, relative: &str) -> String {
        format!("/e2e/{}/{relative}", self.name)
    }

    fn mysqld_args(&self) -> Vec<String> {
        vec![
            "--no-defaults".into(),
            "--basedir=/usr".into(),
            format!("--datadir={}", self.chroot_path("data")),
            match self.plugins {
                Plugins::Instance => format!("--plugin-dir={}", self.chroot_path("plugin")),
                Plugins::System => "--plugin-dir=/usr/lib/mysql/plugin".into(),
            },
            "--user=root".into(),
        ]
    }

    fn run_mysqld(&self, extra: &[&str], log: &str) -> Result<()> {
        let status = Command::new("chroot")
            .arg(&self.root)
            .arg(self.chroot_path("bin/mysqld"))
            .args(self.mysqld_args())
            .arg(format!("--log-error={}", self.chroot_path(log)))
            .args(extra)
            .stdin(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("mysqld {extra:?} failed: {}", self.tail(log));
        }
        Ok(())
    }

    /// Starts mysqld with `extra` options; waits until it answers SQL. Errors carry the
    /// error log's tail.
    pub fn start(&mut self, extra: &[&str]) -> Result<()> {
        let child = crate::own_process_group(&mut Command::new("chroot"))
            .arg(&self.root)
            .arg(self.chroot_path("bin/mysqld"))
            .args(self.mysqld_args())
            .arg(format!("--socket={}", self.chroot_path("run/mysqld.sock")))
            .arg(format!("--pid-file={}", self.chroot_path("run/mysqld.pid")))
            .arg(format!("--log-error={}", self.chroot_path("error.log")))
            .args(["--skip-networking", "--secure-file-priv=", "--skip-mysqlx"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting mysqld in the chroot")?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!(
                    "mysqld exited during startup with {status}: {}",
                    self.tail("error.log")
                );
            }
            if self.sql("SELECT 1").is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                self.kill();
                bail!(
                    "mysqld did not answer within {START_TIMEOUT:?}: {}",
                    self.tail("error.log")
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Whether the mysqld process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The mysql client in the chroot, to run `sql` as `user` (root when `None`).
    fn client(&self, user: Option<(&str, &str)>, sql: &str) -> Command {
        let (name, password) = user.unwrap_or(("root", ""));
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.root)
            .arg("mysql")
            .arg(format!("--socket={}", self.chroot_path("run/mysqld.sock")))
            .arg(format!("--user={name}"))
            .args([
                "--batch",
                "--skip-column-names",
                "--connect-timeout=5",
                "-e",
                sql,
            ]);
        if !password.is_empty() {
            cmd.arg(format!("--password={password}"));
        }
        cmd
    }

    /// Runs SQL as `user` (root when `None`) and returns the rows, tab-separated.
    pub fn sql_as(&self, user: Option<(&str, &str)>, sql: &str) -> Result<String> {
        let mut cmd = self.client(user, sql);
        let out = cmd.stdin(Stdio::null()).output()?;
        if !out.status.success() {
            bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
    }

    /// As [`Self::sql_as`], killing the client if it has not returned within `bound`:
    /// `Ok(Err(text))` is mysql's refusal, `Err` a statement that hung (or a client that
    /// could not start). For statements with short answers, which fit in the pipe.
    pub fn sql_within(
        &self,
        user: Option<(&str, &str)>,
        sql: &str,
        bound: Duration,
    ) -> Result<Result<String, String>> {
        let mut cmd = self.client(user, sql);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the mysql client")?;
        let started = Instant::now();
        while child.try_wait()?.is_none() {
            if started.elapsed() > bound {
                let _ = child.kill();
                let _ = child.wait();
                bail!("`{sql}` did not return within {bound:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output()?;
        Ok(if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        })
    }

    /// Runs SQL as root.
    pub fn sql(&self, sql: &str) -> Result<String> {
        self.sql_as(None, sql)
    }

    /// Runs SQL as root that must fail with an error containing `expected` (MySQL's own
    /// text for the refusal), so that a statement failing for another reason (a missing
    /// database, a syntax error) fails the test instead of passing it.
    pub fn refuses(&self, sql: &str, expected: &str) -> Result<()> {
        match self.sql(sql) {
            Ok(out) => bail!("`{sql}` succeeded ({out:?}); it must fail with {expected:?}"),
            Err(e) if format!("{e:#}").contains(expected) => Ok(()),
            Err(e) => bail!("`{sql}` failed for another reason than {expected:?}: {e:#}"),
        }
    }

    /// Shuts mysqld down cleanly (SHUTDOWN, then wait), killing it by PID as a last resort.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = self.sql("SHUTDOWN");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                if !status.success() {
                    bail!("mysqld exited with {status}: {}", self.tail("error.log"));
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("mysqld did not shut down within {STOP_TIMEOUT:?}")
    }

    fn kill(&mut self) {
        if let Some(child) = self.child.take() {
            crate::terminate(child, STOP_TIMEOUT);
        }
    }

    /// Runs a program inside the chroot and returns its standard output; failures carry
    /// its standard error.
    pub fn run_in_chroot(&self, program: &str, args: &[String]) -> Result<String> {
        let out = Command::new("chroot")
            .arg(&self.root)
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!(
                "{program} failed with {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The error log's text.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.host_path("error.log")).unwrap_or_default()
    }

    fn tail(&self, log: &str) -> String {
        crate::tail(&self.host_path(log), 20)
    }

    /// The instance directory on the host.
    pub fn dir(&self) -> PathBuf {
        self.host_path("")
    }

    /// The chroot root.
    pub fn chroot_root(&self) -> &Path {
        &self.root
    }
}

impl Drop for MysqlInstance {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("KMIP_TEST_KEEP_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(self.host_path(""));
        } else {
            eprintln!("kept mysqld instance {}", self.host_path("").display());
        }
    }
}
