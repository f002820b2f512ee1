//! `[[workspaces]]`: the folders sessions may work in, resolved and checked once at start.
//!
//! Each entry's path must exist and be a directory; a relative path is taken relative to the
//! configuration file's folder, and every path is stored canonical (absolute, symlinks resolved),
//! which is what Codex gets as a thread's `cwd` and writable root. Names follow
//! [`WorkspaceName`]'s rules and are unique. This module checks folders but creates none: the
//! default workspace in the data folder is `serve`'s.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::gateway::workspace::{Workspace, WorkspaceName, Workspaces};

/// One `[[workspaces]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    pub name: String,
    pub path: PathBuf,
}

/// Why `[[workspaces]]` was refused; `index` is the entry's position (0-based, as written).
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceConfigError {
    #[error("workspaces[{index}]: {source}")]
    Name {
        index: usize,
        source: crate::gateway::workspace::WorkspaceError,
    },
    #[error("workspaces[{index}] ({name}): the path {} does not exist", path.display())]
    Missing {
        index: usize,
        name: String,
        path: PathBuf,
    },
    #[error("workspaces[{index}] ({name}): the path {} is not a directory", path.display())]
    NotADirectory {
        index: usize,
        name: String,
        path: PathBuf,
    },
    #[error("workspaces[{index}] ({name}): cannot use {}: {source}", path.display())]
    Unreadable {
        index: usize,
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    List(crate::gateway::workspace::WorkspaceError),
}

/// The configured workspaces, checked and made canonical; `base` is the folder relative paths
/// are taken from (the configuration file's). An empty list stays empty: the caller supplies
/// the default.
pub fn resolve(
    entries: &[WorkspaceConfig],
    base: &Path,
) -> Result<Vec<Workspace>, WorkspaceConfigError> {
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let name = WorkspaceName::parse(&entry.name)
            .map_err(|source| WorkspaceConfigError::Name { index, source })?;
        let path = if entry.path.is_absolute() {
            entry.path.clone()
        } else {
            base.join(&entry.path)
        };
        let shown = || (index, name.to_string(), path.clone());
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                let (index, name, path) = shown();
                return Err(WorkspaceConfigError::NotADirectory { index, name, path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (index, name, path) = shown();
                return Err(WorkspaceConfigError::Missing { index, name, path });
            }
            Err(source) => {
                let (index, name, path) = shown();
                return Err(WorkspaceConfigError::Unreadable {
                    index,
                    name,
                    path,
                    source,
                });
            }
        }
        let canonical = path
            .canonicalize()
            .map_err(|source| WorkspaceConfigError::Unreadable {
                index,
                name: name.to_string(),
                path: path.clone(),
                source,
            })?;
        out.push(Workspace {
            name,
            path: canonical,
        });
    }
    if !out.is_empty() {
        // Duplicate names are the list's own rule; checked here so start-up reports them.
        Workspaces::new(out.clone()).map_err(WorkspaceConfigError::List)?;
    }
    Ok(out)
}

/// The workspaces a server runs with: the configured ones, or else one named `workspace` at
/// `default_path` (the data folder's `workspace`, the one folder there was before workspaces
/// could be configured).
pub fn or_default(
    configured: &[Workspace],
    default_path: PathBuf,
) -> Result<Workspaces, crate::gateway::workspace::WorkspaceError> {
    if !configured.is_empty() {
        return Workspaces::new(configured.to_vec());
    }
    Workspaces::new(vec![Workspace {
        name: WorkspaceName::parse(crate::store::DEFAULT_WORKSPACE)?,
        path: default_path,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, path: impl Into<PathBuf>) -> WorkspaceConfig {
        WorkspaceConfig {
            name: name.into(),
            path: path.into(),
        }
    }

    #[test]
    fn a_missing_path_is_refused_with_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(&[entry("main", dir.path().join("nope"))], dir.path()).unwrap_err();
        assert!(
            matches!(err, WorkspaceConfigError::Missing { index: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn a_file_is_not_a_workspace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "").unwrap();
        let err = resolve(&[entry("main", dir.path().join("f"))], dir.path()).unwrap_err();
        assert!(
            matches!(err, WorkspaceConfigError::NotADirectory { .. }),
            "{err}"
        );
    }

    #[test]
    fn duplicate_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().to_path_buf();
        let err = resolve(&[entry("a", &p), entry("a", &p)], &p).unwrap_err();
        assert!(
            err.to_string().contains("two workspaces are named \"a\""),
            "{err}"
        );
        let err = resolve(&[entry("a", &p), entry("../b", &p)], &p).unwrap_err();
        assert!(
            matches!(err, WorkspaceConfigError::Name { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_relative_path_is_resolved_from_the_config_folder_and_made_canonical() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proj/sub")).unwrap();
        let list = resolve(&[entry("p", "proj/sub/..")], dir.path()).unwrap();
        assert_eq!(
            list[0].path,
            dir.path().canonicalize().unwrap().join("proj")
        );
        assert!(list[0].path.is_absolute());
    }

    #[test]
    fn without_entries_the_default_is_the_data_folders_workspace() {
        let list = or_default(&[], PathBuf::from("/data/workspace")).unwrap();
        assert_eq!(list.names(), vec!["workspace"]);
        assert_eq!(
            list.default_workspace().path,
            PathBuf::from("/data/workspace")
        );
    }

    /// Through `Config::resolve`: the file's entries, a relative path taken from the file's
    /// folder (not the server's working folder), and a bad entry as a `Workspaces` error.
    #[test]
    fn the_config_file_carries_workspaces_resolved_from_its_own_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/proj")).unwrap();
        let file = dir.path().join("etc/c.toml");
        std::fs::write(&file, "[[workspaces]]\nname = \"proj\"\npath = \"proj\"\n").unwrap();
        let cfg = crate::config::Config::resolve(crate::config::ServeArgs {
            config: Some(file.clone()),
            data_dir: Some(dir.path().join("d")),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(cfg.workspaces.len(), 1);
        assert_eq!(
            cfg.workspaces[0].path,
            dir.path().join("etc/proj").canonicalize().unwrap()
        );
        std::fs::write(&file, "[[workspaces]]\nname = \"\"\npath = \"proj\"\n").unwrap();
        let err = crate::config::Config::resolve(crate::config::ServeArgs {
            config: Some(file),
            data_dir: Some(dir.path().join("d")),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            matches!(err, crate::config::ConfigError::Workspaces(_)),
            "{err}"
        );
        assert!(err.to_string().contains("workspaces[0]"), "{err}");
    }
}
