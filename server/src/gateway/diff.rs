//! Diffs as a person reads them: the one place a unified diff is parsed. A stored change
//! (`StoredDiff`, the diff as Codex wrote it) becomes the wire's `FileDiff` with every line
//! classified (added, removed, context, hunk header, meta) and counted, so no client parses a
//! diff (the wasm has no diff code at all). It also splits a turn's aggregated diff
//! (`turn/diff/updated`) into one change per file.
//!
//! Pure functions of their input; it must not render markup (the views do, as text).

use app::wire::{DiffLine, DiffLineKind, FileDiff, ToolDetail};

use crate::store::record::{StoredDetail, StoredDiff};

/// A stored tool detail as a client gets it.
pub fn present_detail(detail: StoredDetail) -> ToolDetail {
    match detail {
        StoredDetail::Files { files } => ToolDetail::Files {
            files: files.iter().map(present_file).collect(),
        },
        StoredDetail::Plan { steps, explanation } => ToolDetail::Plan { steps, explanation },
        StoredDetail::Mcp {
            server,
            tool,
            arguments,
        } => ToolDetail::Mcp {
            server,
            tool,
            arguments,
        },
    }
}

/// One stored file change, its lines classified and counted.
pub fn present_file(file: &StoredDiff) -> FileDiff {
    let lines = classify(&file.diff);
    let count = |kind| {
        let n = lines.iter().filter(|l| l.kind == kind).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    FileDiff {
        path: file.path.clone(),
        kind: file.kind.clone(),
        added: count(DiffLineKind::Add),
        removed: count(DiffLineKind::Del),
        lines,
    }
}

/// Lines that introduce a file in a git-style diff, outside any hunk.
const META_PREFIXES: &[&str] = &[
    "diff --git ",
    "index ",
    "--- ",
    "+++ ",
    "new file mode",
    "deleted file mode",
    "old mode",
    "new mode",
    "similarity index",
    "rename from",
    "rename to",
    "Binary files",
];

/// Splits `diff` into lines (`\n`; a CR before it is part of the line break) and classifies each.
/// Inside a hunk the header's line counts decide where it ends, so a removed line that reads
/// `-- x` is a removal, not a file header. Outside hunks, a headerless diff (an added file's
/// content as `+` lines) is classified by its first character. No text is dropped but the final
/// line break.
pub fn classify(diff: &str) -> Vec<DiffLine> {
    let diff = diff.strip_suffix('\n').unwrap_or(diff);
    if diff.is_empty() {
        return Vec::new();
    }
    let (mut old, mut new) = (0u64, 0u64);
    diff.split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let first = line.as_bytes().first().copied();
            let kind = if old > 0 || new > 0 {
                match first {
                    Some(b'+') => {
                        new = new.saturating_sub(1);
                        DiffLineKind::Add
                    }
                    Some(b'-') => {
                        old = old.saturating_sub(1);
                        DiffLineKind::Del
                    }
                    Some(b'\\') => DiffLineKind::Meta,
                    Some(b' ') | None => {
                        old = old.saturating_sub(1);
                        new = new.saturating_sub(1);
                        DiffLineKind::Ctx
                    }
                    // Not a hunk line: the hunk was shorter than its header said.
                    Some(_) => {
                        (old, new) = (0, 0);
                        DiffLineKind::Ctx
                    }
                }
            } else if let Some((o, n)) = hunk_counts(line) {
                (old, new) = (o, n);
                DiffLineKind::Hunk
            } else if first == Some(b'\\') || META_PREFIXES.iter().any(|p| line.starts_with(p)) {
                DiffLineKind::Meta
            } else {
                match first {
                    Some(b'+') => DiffLineKind::Add,
                    Some(b'-') => DiffLineKind::Del,
                    _ => DiffLineKind::Ctx,
                }
            };
            DiffLine {
                kind,
                text: line.to_owned(),
            }
        })
        .collect()
}

/// `@@ -a[,b] +c[,d] @@ …` → (b, d); a missing count is 1.
fn hunk_counts(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |range: &str| -> Option<u64> {
        match range.split_once(',') {
            Some((start, n)) => {
                start.parse::<u64>().ok()?;
                n.parse().ok()
            }
            None => range.parse::<u64>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

/// A turn's aggregated unified diff, one change per file (`diff --git a/X b/Y` starts a file).
/// A diff without git headers is one change named after its `+++` line.
pub fn split_files(diff: &str) -> Vec<StoredDiff> {
    let mut files: Vec<StoredDiff> = Vec::new();
    for line in diff.split_inclusive('\n') {
        if let Some(names) = line.strip_prefix("diff --git ") {
            files.push(StoredDiff {
                path: git_path(names.trim_end()),
                kind: "update".to_owned(),
                diff: String::new(),
            });
        }
        if files.is_empty() {
            files.push(StoredDiff {
                path: String::new(),
                kind: "update".to_owned(),
                diff: String::new(),
            });
        }
        let file = files.last_mut().expect("a file was pushed above");
        if line.starts_with("new file mode") {
            file.kind = "add".to_owned();
        } else if line.starts_with("deleted file mode") {
            file.kind = "delete".to_owned();
        } else if let Some(name) = line.strip_prefix("+++ ") {
            if file.path.is_empty() {
                file.path = strip_side(name.trim_end(), "b/");
            }
        }
        file.diff.push_str(line);
    }
    for file in &mut files {
        if file.path.is_empty() {
            file.path = "(unnamed file)".to_owned();
        }
    }
    files.retain(|f| !f.diff.trim().is_empty());
    files
}

/// `a/x b/x` → `x` (the new side's name).
fn git_path(names: &str) -> String {
    match names.rsplit_once(" b/") {
        Some((_, new)) => new.to_owned(),
        None => names.to_owned(),
    }
}

fn strip_side(name: &str, side: &str) -> String {
    name.strip_prefix(side).unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(diff: &str) -> Vec<(DiffLineKind, String)> {
        classify(diff)
            .into_iter()
            .map(|l| (l.kind, l.text))
            .collect()
    }

    use DiffLineKind::{Add, Ctx, Del, Hunk, Meta};

    #[test]
    fn a_git_diff_is_classified_line_by_line_and_headers_are_meta() {
        assert_eq!(
            kinds("diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-old\n+new\n same\n\\ No newline at end of file\n"),
            vec![
                (Meta, "diff --git a/x b/x".to_owned()),
                (Meta, "index 1..2".to_owned()),
                (Meta, "--- a/x".to_owned()),
                (Meta, "+++ b/x".to_owned()),
                (Hunk, "@@ -1,2 +1,2 @@".to_owned()),
                (Del, "-old".to_owned()),
                (Add, "+new".to_owned()),
                (Ctx, " same".to_owned()),
                (Meta, "\\ No newline at end of file".to_owned()),
            ]
        );
    }

    #[test]
    fn a_removed_line_that_looks_like_a_header_is_still_a_removal() {
        assert_eq!(
            kinds("@@ -1,2 +1 @@\n--- not a header\n-+++ nor this\n+x\n"),
            vec![
                (Hunk, "@@ -1,2 +1 @@".to_owned()),
                (Del, "--- not a header".to_owned()),
                (Del, "-+++ nor this".to_owned()),
                (Add, "+x".to_owned()),
            ]
        );
    }

    #[test]
    fn a_headerless_diff_is_classified_by_first_character_and_no_text_is_lost() {
        assert!(classify("").is_empty());
        assert!(classify("\n").is_empty());
        assert_eq!(
            kinds("+a\r\n\n-b\rc\0"),
            vec![
                (Add, "+a".to_owned()),
                (Ctx, String::new()),
                (Del, "-b\rc\0".to_owned()),
            ]
        );
    }

    #[test]
    fn a_file_counts_its_added_and_removed_lines() {
        let file = present_file(&StoredDiff {
            path: "src/x.rs".to_owned(),
            kind: "update".to_owned(),
            diff: "--- a/src/x.rs\n+++ b/src/x.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n+d\n".to_owned(),
        });
        assert_eq!((file.added, file.removed), (2, 1));
        assert_eq!(file.lines.len(), 7);
    }

    #[test]
    fn a_turn_diff_splits_into_one_change_per_file() {
        let files = split_files(
            "diff --git a/one.txt b/one.txt\nnew file mode 100644\n--- /dev/null\n+++ b/one.txt\n@@ -0,0 +1 @@\n+hi\n\
             diff --git a/dir/two.rs b/dir/two.rs\n--- a/dir/two.rs\n+++ b/dir/two.rs\n@@ -1 +1 @@\n-a\n+b\n",
        );
        let names: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.kind.as_str()))
            .collect();
        assert_eq!(names, vec![("one.txt", "add"), ("dir/two.rs", "update")]);
        assert!(files[1].diff.starts_with("diff --git a/dir/two.rs"));
        assert_eq!(present_file(&files[0]).added, 1);
    }

    #[test]
    fn a_diff_without_git_headers_is_named_by_its_new_side() {
        let files = split_files("--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "x.txt");
        assert!(split_files("").is_empty());
    }
}
