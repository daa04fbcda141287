//! What the runner wrote: reading it, keeping it when a test fails, and scanning it for
//! every secret the test saw (on drop, for every test).

use super::TestApp;

impl TestApp {
    /// Everything the runner (and the commands of `run_command`) wrote to stdout and stderr
    /// so far, over all its starts.
    pub fn output(&self) -> String {
        let mut all = String::new();
        for name in ["runner.stdout.log", "runner.stderr.log", "admin.log"] {
            if let Ok(bytes) = std::fs::read(self.dir.path().join(name)) {
                all.push_str(&String::from_utf8_lossy(&bytes));
                all.push('\n');
            }
        }
        all
    }

    /// The last `lines` lines of the output, for failure messages.
    pub(super) fn output_tail(&self, lines: usize) -> String {
        let out = self.output();
        let all: Vec<&str> = out.lines().collect();
        let from = all.len().saturating_sub(lines);
        format!(
            "--- last {} lines of the runner's output ---\n{}",
            all.len() - from,
            all[from..].join("\n")
        )
    }

    /// Copies the runner's output of a failed test out of the temporary directory (which is
    /// about to go) to `$TMPDIR/hookline-e2e-failures/`.
    fn keep_output(&self) {
        let name = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = std::env::temp_dir()
            .join("hookline-e2e-failures")
            .join(name);
        if std::fs::create_dir_all(&dest).is_ok() {
            for file in [
                "runner.stdout.log",
                "runner.stderr.log",
                "admin.log",
                "moto.log",
            ] {
                let _ = std::fs::copy(self.dir.path().join(file), dest.join(file));
            }
            eprintln!("the runner's whole output is kept in {}", dest.display());
        }
    }

    /// Asserts that no secret the test saw (admin and client secrets, webhook secrets,
    /// bearer tokens, Basic credentials) appears in the runner's output so far. Runs again
    /// on drop, over the whole output, for every test.
    pub fn assert_logs_clean(&self) {
        let findings = self.secrets.findings(&self.output());
        assert!(
            findings.is_empty(),
            "secrets leaked into the runner's logs:\n{}",
            findings.join("\n")
        );
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The emulated AWS goes after the runner that used it.
        drop(self.moto.take());
        if std::thread::panicking() {
            // The test failed: show what the runner said, and keep all of it for reading.
            eprintln!("{}", self.output_tail(40));
            self.keep_output();
            return;
        }
        self.assert_logs_clean();
    }
}
