//! What a command's tool output says: the demo model reads Codex's unified-exec output (a header
//! of facts, then the command's own output) to report it back, as `/shell` and `/edit` send it.
//! Pure text reading; it decides nothing about which directive runs.

use super::request::PastCall;

/// The text `/shell` sends after its command ran: the command's own output, plus the exit code
/// when it failed and a note when it is still running.
///
/// Codex wraps unified-exec output in a header, for example
/// `Chunk ID: 6c918f\nWall time: 0.1258 seconds\nProcess exited with code 0\nOriginal token count: 1\nOutput:\nhi\n`
/// (or `Process running with session ID 85847` when the command outlives the yield time). Any
/// other output (a hook that blocked the command, a sandbox refusal) is passed on as it is.
pub(crate) fn shell_report(call: &PastCall) -> String {
    let Some(raw) = call.output.as_deref() else {
        return "(the command returned no result)".to_owned();
    };
    let Some(wrapped) = parse_exec_output(raw) else {
        let raw = raw.trim_end();
        return if raw.is_empty() {
            "(no output)".to_owned()
        } else {
            raw.to_owned()
        };
    };
    let mut report = wrapped.body.trim_end_matches(['\n', '\r']).to_owned();
    if report.trim().is_empty() {
        report = "(no output)".to_owned();
    }
    if let Some(code) = wrapped.exit_code.filter(|code| *code != 0) {
        report.push_str(&format!("\n(exit code {code})"));
    }
    if wrapped.still_running {
        report.push_str("\n(still running)");
    }
    report
}

/// Codex's exec output, split into its header facts and the command's output.
#[derive(Debug, PartialEq, Eq)]
struct ExecOutput<'a> {
    exit_code: Option<i64>,
    still_running: bool,
    body: &'a str,
}

fn parse_exec_output(raw: &str) -> Option<ExecOutput<'_>> {
    let mut exit_code = None;
    let mut still_running = false;
    let mut offset = 0;
    for line in raw.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        offset += line.len();
        if trimmed == "Output:" {
            // The header must have said something, or this is just output that starts with
            // "Output:".
            return (offset > line.len()).then_some(ExecOutput {
                exit_code,
                still_running,
                body: &raw[offset..],
            });
        }
        if let Some(code) = trimmed
            .strip_prefix("Process exited with code ")
            .or_else(|| trimmed.strip_prefix("Exit code: "))
        {
            exit_code = code.trim().parse().ok();
        } else if trimmed.starts_with("Process running with session ID") {
            still_running = true;
        } else if !is_header_line(trimmed) {
            return None;
        }
    }
    None
}

/// `Key: value` with a short capitalised key, as in `Wall time: 0.1 seconds`.
fn is_header_line(line: &str) -> bool {
    let Some((key, _)) = line.split_once(": ") else {
        return false;
    };
    key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_uppercase())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
}
