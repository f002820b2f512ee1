//! The thread plan for every case: reuse, resume (current or legacy generation), start fresh.

use super::*;

fn fp() -> Fingerprints {
    Fingerprints {
        tools: "tools-v1".into(),
        config: "config-v1".into(),
        workspace: "/work/main".into(),
    }
}

fn loaded(epoch: u64) -> BoundThread {
    BoundThread {
        thread_id: "loaded".into(),
        epoch: Epoch(epoch),
        generation: Some("g-loaded".into()),
        unguarded: None,
        workspace: "/work/main".into(),
        foreign: false,
    }
}

fn binding(generation: Option<&str>) -> ThreadBinding {
    ThreadBinding {
        thread_id: "stored".into(),
        relay_generation: generation.map(str::to_owned),
        tools_fingerprint: "tools-v1".into(),
        config_fingerprint: "config-v1".into(),
        created_ms: 1,
        updated_ms: 2,
        workspace_path: None,
    }
}

fn minted() -> String {
    "minted".into()
}

fn never() -> String {
    panic!("no generation is needed")
}

#[test]
fn a_thread_loaded_in_this_codex_process_is_reused() {
    let b = loaded(2);
    let plan = plan(Some(&b), Epoch(2), Some(binding(Some("abc"))), &fp(), never);
    assert!(matches!(plan, ThreadPlan::Reuse(t) if t.thread_id == "loaded"));
}

#[test]
fn a_current_binding_is_resumed_under_its_stored_generation() {
    let stored = binding(Some("abc123"));
    // Loaded in an earlier Codex process (it restarted), or not loaded at all.
    let earlier = loaded(1);
    for was_loaded in [Some(&earlier), None] {
        let plan = plan(was_loaded, Epoch(2), Some(stored.clone()), &fp(), never);
        let ThreadPlan::Resume {
            binding,
            generation,
            grace,
        } = plan
        else {
            panic!("{plan:?}")
        };
        assert_eq!(
            (binding, generation.as_str(), grace),
            (stored.clone(), "abc123", None)
        );
    }
}

#[test]
fn a_legacy_binding_is_resumed_under_a_new_generation_with_the_grace() {
    // Stored before generations were (None), or with one the relay would never accept.
    for stored in [None, Some(""), Some("not a token!")] {
        let plan = plan(None, Epoch(1), Some(binding(stored)), &fp(), minted);
        let ThreadPlan::Resume {
            generation, grace, ..
        } = plan
        else {
            panic!("{plan:?}")
        };
        assert_eq!(
            (generation.as_str(), grace),
            ("minted", Some(crate::hook::registry::LEGACY_GRACE)),
            "{stored:?}"
        );
    }
}

#[test]
fn a_thread_opened_from_codex_home_is_resumed_whatever_its_fingerprints() {
    let opened = ThreadBinding {
        tools_fingerprint: crate::gateway::codex_threads::FOREIGN.into(),
        config_fingerprint: crate::gateway::codex_threads::FOREIGN.into(),
        workspace_path: Some("/work/main".into()),
        ..binding(None)
    };
    let plan = plan(None, Epoch(1), Some(opened.clone()), &fp(), minted);
    let ThreadPlan::Resume {
        binding,
        generation,
        grace,
    } = plan
    else {
        panic!("{plan:?}")
    };
    assert_eq!(
        (binding, generation.as_str(), grace),
        (opened.clone(), "minted", None)
    );
    // Its workspace moving still starts fresh, as for any binding.
    let moved = ThreadBinding {
        workspace_path: Some("/elsewhere".into()),
        ..opened
    };
    assert!(matches!(
        super::plan(None, Epoch(1), Some(moved), &fp(), minted),
        ThreadPlan::StartFresh {
            reason: FreshReason::WorkspaceMoved
        }
    ));
}

#[test]
fn an_unbound_session_starts_fresh() {
    let earlier = loaded(1);
    for was_loaded in [Some(&earlier), None] {
        let plan = plan(was_loaded, Epoch(2), None, &fp(), never);
        assert!(
            matches!(
                plan,
                ThreadPlan::StartFresh {
                    reason: FreshReason::Unbound
                }
            ),
            "{plan:?}"
        );
    }
}

#[test]
fn a_binding_made_with_other_tools_or_config_starts_fresh() {
    let other_tools = ThreadBinding {
        tools_fingerprint: "tools-v0".into(),
        ..binding(Some("abc"))
    };
    let other_config = ThreadBinding {
        config_fingerprint: "config-v0".into(),
        ..binding(Some("abc"))
    };
    for stored in [other_tools, other_config] {
        let plan = plan(None, Epoch(1), Some(stored), &fp(), never);
        assert!(
            matches!(
                plan,
                ThreadPlan::StartFresh {
                    reason: FreshReason::OutOfDate
                }
            ),
            "{plan:?}"
        );
    }
}

/// Regression: a binding started in a workspace folder the configuration has since moved must
/// not be resumed (its thread would go on working in the old folder); it starts fresh with its
/// own reason, even when the fingerprints happen to match.
#[test]
fn a_binding_whose_workspace_moved_starts_fresh_and_says_why() {
    let moved = ThreadBinding {
        workspace_path: Some("/work/old".into()),
        ..binding(Some("abc"))
    };
    let fresh = plan(None, Epoch(1), Some(moved), &fp(), never);
    assert!(
        matches!(
            fresh,
            ThreadPlan::StartFresh {
                reason: FreshReason::WorkspaceMoved
            }
        ),
        "{fresh:?}"
    );
    // Same folder, or a binding from before folders were stored: resumed as before.
    for path in [Some("/work/main"), None] {
        let stored = ThreadBinding {
            workspace_path: path.map(str::to_owned),
            ..binding(Some("abc"))
        };
        let plan = plan(None, Epoch(1), Some(stored), &fp(), never);
        assert!(
            matches!(plan, ThreadPlan::Resume { .. }),
            "{path:?}: {plan:?}"
        );
    }
    let notice = workspace_moved_notice(Path::new("/work/new"));
    assert!(
        notice.contains("/work/new") && notice.contains("new thread"),
        "{notice}"
    );
}

#[test]
fn resume_failures_are_explained_by_their_cause() {
    let notice = resume_failure_notice(&CodexError::Timeout {
        method: "thread/resume".into(),
    });
    assert!(
        notice.starts_with("The previous Codex thread could not be resumed; "),
        "{notice}"
    );
    assert!(notice.contains("continues on a new thread"), "{notice}");
}
