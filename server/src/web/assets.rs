//! The release build's precompressed static files (`scripts/precompress.sh` writes `X.br` and
//! `X.gz` next to each `X`; leptos_axum's static handler serves the smallest one the browser
//! accepts). A variant older than its source would be a previous build's wasm under the new
//! build's name, and a page would hydrate against the wrong code: at start-up such variants are
//! removed (the handler then serves `X` itself, compressed on the fly), so a build that skipped
//! the precompress step can never be served stale.
//!
//! Only file metadata is read; it never compresses anything itself.

use std::path::Path;
use std::time::SystemTime;

/// The suffixes of the precompressed variants the static handler looks for.
const VARIANTS: [&str; 2] = ["br", "gz"];

/// Removes every precompressed variant in `dir` whose source is missing or newer than it.
/// Returns how many were removed. A folder that does not exist has none.
pub fn drop_stale_precompressed(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_variant = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| VARIANTS.contains(&e));
        if !is_variant {
            continue;
        }
        let source = path.with_extension("");
        let stale = match (modified(&source), modified(&path)) {
            (Some(source), Some(variant)) => variant < source,
            // No source: nothing would ask for it under a current name; a variant whose time
            // cannot be read cannot be trusted.
            _ => true,
        };
        if stale {
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    tracing::warn!(file = %path.display(),
                        "removed a precompressed file older than its source (run scripts/precompress.sh after a build)");
                    removed += 1;
                }
                Err(e) => tracing::warn!(file = %path.display(), error = %e,
                    "could not remove a stale precompressed file"),
            }
        }
    }
    removed
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn write_at(path: &Path, at: SystemTime) {
        std::fs::write(path, b"x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    /// brotli copies its source's time truncated to whole seconds, which made every `.br` file
    /// look older than its wasm: the script must leave variants the server keeps.
    #[test]
    fn files_precompressed_by_the_script_are_not_taken_for_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("webchat.wasm");
        // A time with a fraction of a second, as a build leaves it.
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_456);
        write_at(&source, at);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/precompress.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.path().join("webchat.wasm.br").exists());
        assert!(dir.path().join("webchat.wasm.gz").exists());
        assert_eq!(drop_stale_precompressed(dir.path()), 0);
        assert!(dir.path().join("webchat.wasm.br").exists());
    }

    #[test]
    fn a_precompressed_file_older_than_its_source_is_removed_and_a_fresh_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = t0 + Duration::from_secs(60);
        // A rebuilt wasm whose variants are from the build before.
        write_at(&d.join("webchat.wasm"), later);
        write_at(&d.join("webchat.wasm.br"), t0);
        write_at(&d.join("webchat.wasm.gz"), t0);
        // Precompressed after the build: kept.
        write_at(&d.join("webchat.js"), t0);
        write_at(&d.join("webchat.js.br"), later);
        // A variant without its source.
        write_at(&d.join("gone.css.gz"), later);
        // Not a variant at all.
        write_at(&d.join("webchat.css"), later);

        assert_eq!(drop_stale_precompressed(d), 3);
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["webchat.css", "webchat.js", "webchat.js.br", "webchat.wasm"]
        );
        assert_eq!(drop_stale_precompressed(d), 0, "nothing stale is left");
        assert_eq!(drop_stale_precompressed(&d.join("missing")), 0);
    }
}
