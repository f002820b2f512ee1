//! Workspaces: the named folders a session's Codex thread may work in (`[[workspaces]]`).
//!
//! A session stores a workspace *name*; the path behind it comes only from the configuration,
//! which is resolved and checked at start (`config`). Clients name a workspace and never give a
//! path, so nothing outside the configured folders is ever used as a thread's `cwd` or writable
//! root. This module owns the name rules and the lookup; it reads no files and starts nothing.

use std::path::PathBuf;

/// The longest workspace name, in characters: it is shown in a select and a header.
pub const MAX_NAME_CHARS: usize = 40;

/// A workspace's name as configured: non-empty, at most [`MAX_NAME_CHARS`] characters, printable
/// (no control characters), not starting or ending with whitespace, and never path-like (no `/`
/// or `\`, not `.` or `..`), so a name can never be mistaken for a folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkspaceName(String);

impl WorkspaceName {
    pub fn parse(raw: &str) -> Result<WorkspaceName, WorkspaceError> {
        let bad = |why: &'static str| WorkspaceError::BadName {
            name: raw.chars().take(MAX_NAME_CHARS + 1).collect(),
            why,
        };
        if raw.is_empty() {
            return Err(bad("it is empty"));
        }
        if raw.chars().count() > MAX_NAME_CHARS {
            return Err(bad("it is longer than 40 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(bad("it holds control characters"));
        }
        if raw.trim() != raw {
            return Err(bad("it starts or ends with whitespace"));
        }
        if raw.contains(['/', '\\']) || raw == "." || raw == ".." {
            return Err(bad("it looks like a path"));
        }
        Ok(WorkspaceName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WorkspaceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One configured workspace: its name and its folder (absolute, canonical, a directory when the
/// configuration was resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    pub name: WorkspaceName,
    pub path: PathBuf,
}

/// The configured workspaces, in configuration order; never empty, names unique. The first is
/// the default (new sessions without a choice, the terminal client, schedules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspaces(Vec<Workspace>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceError {
    #[error("invalid workspace name {name:?}: {why}")]
    BadName { name: String, why: &'static str },
    #[error("two workspaces are named {0:?}")]
    Duplicate(String),
    #[error("no workspace is configured")]
    None,
    /// A client named a workspace that is not configured; `known` lists the configured names.
    #[error("unknown workspace {name:?} (configured: {known})")]
    Unknown { name: String, known: String },
}

impl Workspaces {
    pub fn new(list: Vec<Workspace>) -> Result<Workspaces, WorkspaceError> {
        if list.is_empty() {
            return Err(WorkspaceError::None);
        }
        for (i, w) in list.iter().enumerate() {
            if list[..i].iter().any(|earlier| earlier.name == w.name) {
                return Err(WorkspaceError::Duplicate(w.name.to_string()));
            }
        }
        Ok(Workspaces(list))
    }

    /// One workspace named `workspace` (the name sessions had before workspaces were
    /// configurable) at `path`.
    pub fn single(path: PathBuf) -> Workspaces {
        Workspaces(vec![Workspace {
            name: WorkspaceName(crate::store::DEFAULT_WORKSPACE.to_owned()),
            path,
        }])
    }

    /// The default workspace (the first configured).
    pub fn default_workspace(&self) -> &Workspace {
        &self.0[0]
    }

    /// The workspace named `name`, if configured.
    pub fn get(&self, name: &str) -> Option<&Workspace> {
        self.0.iter().find(|w| w.name.as_str() == name)
    }

    /// The workspace a client asked for by name; an unknown (or path-like) name is refused with
    /// the configured names, and no path is ever looked at.
    pub fn find(&self, name: &str) -> Result<&Workspace, WorkspaceError> {
        self.get(name).ok_or_else(|| WorkspaceError::Unknown {
            name: name.chars().take(MAX_NAME_CHARS + 1).collect(),
            known: self.names().join(", "),
        })
    }

    /// The names, default first.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|w| w.name.to_string()).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Workspace> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(name: &str, path: &str) -> Workspace {
        Workspace {
            name: WorkspaceName::parse(name).unwrap(),
            path: PathBuf::from(path),
        }
    }

    #[test]
    fn names_are_short_printable_and_never_paths() {
        for good in ["main", "Project X", "été", "a.b-c_d"] {
            assert!(WorkspaceName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " lead",
            "trail ",
            "a/b",
            "..",
            ".",
            "/etc",
            "a\\b",
            "tab\there",
            "bell\u{7}",
            &"x".repeat(41),
        ] {
            assert!(
                matches!(
                    WorkspaceName::parse(bad),
                    Err(WorkspaceError::BadName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_list_is_non_empty_with_unique_names_and_the_first_is_the_default() {
        assert_eq!(Workspaces::new(Vec::new()), Err(WorkspaceError::None));
        assert_eq!(
            Workspaces::new(vec![ws("a", "/x"), ws("a", "/y")]),
            Err(WorkspaceError::Duplicate("a".into()))
        );
        let list = Workspaces::new(vec![ws("a", "/x"), ws("b", "/y")]).unwrap();
        assert_eq!(list.default_workspace().name.as_str(), "a");
        assert_eq!(list.names(), vec!["a", "b"]);
        assert_eq!(list.find("b").unwrap().path, PathBuf::from("/y"));
    }

    /// A client can only name a configured workspace: a path (even the path of a configured
    /// workspace) is an unknown name, and the refusal lists what is configured.
    #[test]
    fn a_client_cannot_name_a_path_or_an_unknown_workspace() {
        let list = Workspaces::new(vec![ws("a", "/x"), ws("b", "/y")]).unwrap();
        for asked in ["/x", "/y", "../a", "c", "", "A"] {
            let err = list.find(asked).unwrap_err();
            assert_eq!(
                err,
                WorkspaceError::Unknown {
                    name: asked.into(),
                    known: "a, b".into()
                }
            );
            assert!(err.to_string().contains("configured: a, b"), "{err}");
        }
    }
}
