//! What the benches that run the server binary share: the repository's root, the server in its
//! own process (killed by its own pid when dropped) and a process's resident memory.

// Each bench includes this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The server in its own process; killed (by its own pid) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first: the server stops Codex itself.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

pub fn start(dir: &std::path::Path, codex_bin: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-webchat"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    if let Some(bin) = codex_bin {
        cmd.args(["--codex-bin", bin]);
    }
    // `LOAD_BENCH_LOG=<file>` keeps the server's log there, at the level `CODEX_WEBCHAT_LOG`
    // asks for (`info` if unset; `codex_webchat::codex::rpc=trace` adds every JSON-RPC line),
    // to see where the time goes.
    let (filter, stderr) = match std::env::var_os("LOAD_BENCH_LOG") {
        Some(file) => (
            std::env::var("CODEX_WEBCHAT_LOG").unwrap_or_else(|_| "info".to_owned()),
            Stdio::from(std::fs::File::create(file).expect("LOAD_BENCH_LOG file")),
        ),
        None => ("warn".to_owned(), Stdio::null()),
    };
    let mut child = cmd
        .current_dir(root())
        .env("CODEX_WEBCHAT_LOG", filter)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("starting codex-webchat");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server exited before it listened")
            .unwrap();
        if let Some(url) = line.strip_prefix("codex-webchat listening on http://") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
