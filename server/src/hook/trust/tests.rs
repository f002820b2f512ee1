use std::sync::atomic::AtomicUsize;

use super::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn computed() -> HashMap<String, String> {
    map(&[("pre", "sha256:aa"), ("stop", "sha256:bb")])
}

/// A learner that counts its calls and answers `answer`.
fn learner(
    calls: &AtomicUsize,
    answer: HashMap<String, String>,
) -> impl FnOnce() -> std::future::Ready<Result<HashMap<String, String>, HookError>> + '_ {
    move || {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(answer))
    }
}

#[tokio::test]
async fn a_codex_that_hashes_as_computed_is_asked_once_per_process() {
    let memo = TrustMemo::default();
    let calls = AtomicUsize::new(0);
    let got = memo
        .hashes(Epoch(1), computed(), learner(&calls, computed()))
        .await
        .unwrap();
    assert_eq!(got, computed());
    assert_eq!(memo.verdict(Epoch(1)).await, Some(Verdict::Computed));
    for _ in 0..3 {
        let got = memo
            .hashes(Epoch(1), computed(), learner(&calls, map(&[])))
            .await
            .unwrap();
        assert_eq!(got, computed(), "computed, not learned");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one throwaway for the process"
    );
    // A restarted Codex is a new process: it is compared again.
    memo.hashes(Epoch(2), computed(), learner(&calls, computed()))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(memo.verdict(Epoch(2)).await, Some(Verdict::Computed));
}

#[tokio::test]
async fn a_codex_that_hashes_differently_keeps_learning_for_every_thread() {
    let memo = TrustMemo::default();
    let calls = AtomicUsize::new(0);
    let theirs = map(&[("pre", "sha256:other"), ("stop", "sha256:bb")]);
    for n in 1..=3 {
        let got = memo
            .hashes(Epoch(1), computed(), learner(&calls, theirs.clone()))
            .await
            .unwrap();
        assert_eq!(got, theirs, "the learned hashes are the ones trusted");
        assert_eq!(calls.load(Ordering::SeqCst), n, "one throwaway per install");
    }
    assert_eq!(memo.verdict(Epoch(1)).await, Some(Verdict::Learned));
    // Another key set counts as different too.
    let memo = TrustMemo::default();
    let fewer = map(&[("pre", "sha256:aa")]);
    memo.hashes(Epoch(1), computed(), learner(&calls, fewer))
        .await
        .unwrap();
    assert_eq!(memo.verdict(Epoch(1)).await, Some(Verdict::Learned));
}

#[tokio::test]
async fn concurrent_first_installs_share_one_throwaway() {
    let memo = TrustMemo::default();
    let calls = AtomicUsize::new(0);
    let (started, release) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
    let installs = (0..8).map(|_| {
        memo.hashes(Epoch(1), computed(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            started.notify_one();
            release.notified().await;
            Ok(computed())
        })
    });
    // `join_all` polls every install before it yields, so all of them are under way when the
    // first comparison is let go: without the single flight each would be comparing by then.
    let all = futures::future::join_all(installs);
    let (results, ()) = tokio::join!(all, async {
        started.notified().await;
        release.notify_waiters();
    });
    assert!(results.iter().all(|r| r.as_ref().ok() == Some(&computed())));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_comparison_that_fails_settles_nothing() {
    let memo = TrustMemo::default();
    let err = memo
        .hashes(Epoch(1), computed(), || async {
            Err(HookError::Trust("Codex went away".to_owned()))
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("went away"), "{err}");
    assert_eq!(memo.verdict(Epoch(1)).await, None);
    let calls = AtomicUsize::new(0);
    memo.hashes(Epoch(1), computed(), learner(&calls, computed()))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the next install compares");
    assert_eq!(memo.verdict(Epoch(1)).await, Some(Verdict::Computed));
}

#[tokio::test]
async fn an_install_for_a_process_gone_by_learns_and_leaves_the_verdict_alone() {
    let memo = TrustMemo::default();
    let calls = AtomicUsize::new(0);
    memo.hashes(Epoch(2), computed(), learner(&calls, computed()))
        .await
        .unwrap();
    let stale = map(&[("pre", "sha256:old")]);
    let got = memo
        .hashes(Epoch(1), computed(), learner(&calls, stale.clone()))
        .await
        .unwrap();
    assert_eq!(got, stale);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(memo.verdict(Epoch(2)).await, Some(Verdict::Computed));
}
