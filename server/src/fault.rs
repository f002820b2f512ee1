//! Named crash points for the crash-matrix tests (`tests/crash_matrix.rs`).
//!
//! With the `fault-injection` feature (tests only), [`point`] kills this process with SIGKILL
//! when `CODEX_WEBCHAT_FAULT` names it, so a test can stop the server at an exact step of a turn
//! that it could not hit from outside (between storing a reply and answering Codex, say). Without
//! the feature every point compiles to nothing, so a release build has no such switch.
//!
//! SIGKILL rather than `abort` or `exit`: no destructor, flush or shutdown hook may run, exactly
//! as when the machine loses power or an operator kills the process.

/// The environment variable naming the point to die at.
pub const FAULT_ENV: &str = "CODEX_WEBCHAT_FAULT";

/// Every point the server has; a test naming anything else is a typo.
pub const POINTS: &[&str] = &[
    // After the user message is stored, before its run is started or queued.
    "after-message-stored",
    // After the user message and its run's start are stored, before Codex hears of the turn.
    "after-run-recorded",
    // Inside a message-tool call, before the visible reply (the mirror) is written.
    "message-tool-before-mirror",
    // Inside a message-tool call, after the mirror is written, before Codex gets its answer.
    "message-tool-after-mirror",
];

/// Dies here if the fault-injection build was told to.
#[cfg(feature = "fault-injection")]
pub fn point(name: &'static str) {
    debug_assert!(POINTS.contains(&name), "unknown fault point {name}");
    if std::env::var(FAULT_ENV).is_ok_and(|wanted| wanted == name) {
        tracing::warn!(point = name, "fault injection: killing this process");
        // SAFETY: kill(2) on our own pid has no memory effects; SIGKILL does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// Without the `fault-injection` feature there are no crash points.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &'static str) {}
