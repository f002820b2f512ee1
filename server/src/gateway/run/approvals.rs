//! Approvals in a running turn: Codex's open requests that wait for a person.
//!
//! A request that asks a person (a command, a file change, permissions, an MCP elicitation, a
//! `requestUserInput` question) becomes an `approval_requested` event, whose `seq` is the
//! approval's id, and a pending entry here that holds the JSON-RPC request open. It ends exactly
//! once, by whichever comes first: a person's answer (any tab, the API), Stop (answered
//! `cancel`), Codex closing it (`serverRequest/resolved`, the turn ending) or Codex going away
//! (expired, with a notice). The end is an `approval_ended` event stored under one idempotency
//! key per approval ([`approval_end_key`]), so a restart finds approvals that never ended and
//! expires them. The rules are [`Approval::advance`]'s; this module carries them out and builds
//! the JSON each request kind expects. It never changes a run's phase: Stop's interrupt is
//! `lifecycle`'s.

use serde_json::{json, Value};
use tokio::time::Instant;

use app::wire::{ApprovalDecision, NoticeLevel, Seq, SessionKey};

use crate::codex::{Epoch, RequestId, ServerRequest};
use crate::gateway::approval::{
    Approval, ApprovalError, ApprovalKind, ApprovalState, Decision, Effect, Step,
};
use crate::gateway::{lock, Gateway, GatewayError};
use crate::ids::{RunId, ThreadId};
use crate::store::{approval_end_key, NoticeAbout, RecordBody};

/// How a request kind wants its answer.
#[derive(Clone, Debug)]
enum Reply {
    /// Commands and file changes: `{"decision": ...}`.
    Decision,
    /// `item/permissions/requestApproval`: the permissions granted (what was asked, or none) and
    /// for how long.
    Permissions { requested: Value },
    /// `item/tool/requestUserInput`: answers by question id.
    UserInput { questions: Vec<String> },
    /// `mcpServer/elicitation/request`: an action, and for a form the answer in its first field.
    Elicitation { field: Option<String> },
}

/// One approval waiting for a person.
pub(in crate::gateway) struct Pending {
    key: SessionKey,
    seq: Seq,
    run_id: RunId,
    epoch: Epoch,
    request: RequestId,
    approval: Approval,
    reply: Reply,
}

impl Pending {
    /// Whether Codex process `epoch` asked it.
    pub(in crate::gateway) fn asked_by(&self, epoch: Epoch) -> bool {
        self.epoch == epoch
    }

    /// Whether it belongs to run `run`.
    pub(in crate::gateway) fn of_run(&self, run: &RunId) -> bool {
        self.run_id == *run
    }

    /// Whether it belongs to session `key`.
    pub(in crate::gateway) fn of_session(&self, key: &SessionKey) -> bool {
        self.key == *key
    }
}

/// What a request asks, ready to be stored.
struct Asked {
    thread: ThreadId,
    card: RecordBody,
    reply: Reply,
    for_session: bool,
    kind: ApprovalKind,
}

/// Why an approval is closed without a person's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::gateway) enum Closing {
    /// The person pressed Stop: Codex is answered `cancel`.
    Stop,
    /// Codex resolved it itself, or the turn ended.
    ClosedByCodex,
    /// The Codex process that asked is gone.
    CodexGone,
}

impl Closing {
    fn step(self) -> Step {
        match self {
            Closing::Stop => Step::Stop,
            Closing::ClosedByCodex => Step::ClosedByCodex,
            Closing::CodexGone => Step::CodexGone,
        }
    }
}

/// What became of a request from Codex offered to [`Gateway::ask_person`].
pub(super) enum Asking {
    /// It does not ask a person; answer it some other way.
    NotAnApproval,
    /// It is held open as an approval card until it ends.
    Held,
    /// Nobody can be asked (no run of ours owns the thread, or the card could not be stored):
    /// answer this refusal at once, since nothing may run that nobody approved.
    Refuse(Value),
}

impl Gateway {
    /// Holds a request that asks a person open as an approval (see [`Asking`]).
    pub(super) fn ask_person(
        &self,
        epoch: Epoch,
        id: &RequestId,
        request: &ServerRequest,
    ) -> Asking {
        let Some(asked) = self.asked(request) else {
            return Asking::NotAnApproval;
        };
        let found = {
            let mut runs = lock(&self.inner.runs);
            runs.run_for_thread(&asked.thread).map(|(key, run)| {
                // Waiting for a person is not a stall: the watchdog also skips waiting runs.
                run.touch(Instant::now());
                (key, run.id().to_owned())
            })
        };
        let Some((key, run_id)) = found else {
            tracing::info!(thread = %asked.thread, method = request.method(),
                "an approval for a thread without a run; refused");
            return Asking::Refuse(refusal(&asked.reply));
        };
        let idem = format!("{run_id}:approval:{}:{}", epoch.0, id);
        let seq = match self.emit(&key, Some(&run_id), false, asked.card, Some(&idem)) {
            Ok(appended) => appended.event().seq,
            Err(e) => {
                tracing::error!(session = %key, error = %e, "could not store an approval; refused");
                return Asking::Refuse(refusal(&asked.reply));
            }
        };
        tracing::info!(session = %key, run = %run_id, approval = %seq, kind = asked.kind.as_str(),
            "waiting for a person");
        lock(&self.inner.approvals).push(Pending {
            key,
            seq,
            run_id,
            epoch,
            request: id.clone(),
            approval: Approval::new(asked.kind, asked.for_session),
            reply: asked.reply,
        });
        Asking::Held
    }

    /// A person's answer to the approval whose card is the event `approval` of `key`. The same
    /// answer again is accepted (idempotent); any answer after a different ending is refused
    /// with how it ended.
    pub async fn answer(
        &self,
        key: &SessionKey,
        approval: Seq,
        decision: ApprovalDecision,
        answer: Option<String>,
    ) -> Result<ApprovalState, GatewayError> {
        self.session(key)?;
        let answer = answer.filter(|a| !a.trim().is_empty());
        let step = match (decision, answer.clone()) {
            (ApprovalDecision::Accept, Some(text)) => Decision::Answer(text),
            (ApprovalDecision::Accept, None) => Decision::Accept,
            (ApprovalDecision::AcceptForSession, _) => Decision::AcceptForSession,
            (ApprovalDecision::Decline, _) => Decision::Decline,
        };
        let taken = {
            let mut pending = lock(&self.inner.approvals);
            match pending
                .iter()
                .position(|p| p.key == *key && p.seq == approval)
            {
                None => None,
                Some(i) => match pending[i].approval.advance(Step::Answer(step)) {
                    Ok(Effect::Reply(decision)) => Some((pending.remove(i), decision)),
                    // An answer always replies; a record-only effect would be a closing step.
                    Ok(Effect::Record) => Some((pending.remove(i), None)),
                    Err(ApprovalError::NotOffered(why)) => {
                        return Err(GatewayError::BadInput(why.to_owned()))
                    }
                    Err(ApprovalError::NotPending(state)) => {
                        return Err(GatewayError::ApprovalClosed(state))
                    }
                },
            }
        };
        let Some((pending, decision)) = taken else {
            return self.answer_closed(key, approval, decision);
        };
        let state = pending.approval.state();
        let reply = reply_json(&pending.reply, decision.as_ref());
        match self
            .inner
            .codex
            .respond(pending.epoch, pending.request.clone(), Ok(reply))
            .await
        {
            Ok(()) => {
                let answer = match decision {
                    Some(Decision::Answer(text)) => Some(text),
                    _ => None,
                };
                self.approval_ended(&pending, state, answer);
                self.touch_run(&pending.key, &pending.run_id);
                Ok(state)
            }
            Err(e) => {
                // The process that asked is gone: nobody can act on this answer any more.
                tracing::warn!(session = %key, approval = %approval, error = %e,
                    "could not pass an answer to Codex; the approval expired");
                self.approval_ended(&pending, ApprovalState::Expired, None);
                Err(GatewayError::ApprovalClosed(ApprovalState::Expired))
            }
        }
    }

    /// An answer to an approval that is not waiting here: how it ended, from the store. The
    /// same answer as the one that ended it is accepted again (a retried request).
    fn answer_closed(
        &self,
        key: &SessionKey,
        approval: Seq,
        decision: ApprovalDecision,
    ) -> Result<ApprovalState, GatewayError> {
        let asked = self
            .inner
            .store
            .events_after(key, Seq(approval.0.saturating_sub(1)), 1, true)?
            .into_iter()
            .next()
            .filter(|r| r.seq == approval)
            .is_some_and(|r| matches!(r.body, RecordBody::ApprovalRequested { .. }));
        if !asked {
            return Err(GatewayError::UnknownApproval);
        }
        let ended = self
            .inner
            .store
            .by_idem_key(&approval_end_key(key, approval))?
            .and_then(|(_, record)| match record.body {
                RecordBody::ApprovalEnded { state, .. } => Some(state),
                _ => None,
            });
        // Asked, never ended and not waiting: a previous process asked it and start-up has not
        // expired it (it could not be stored then). It can never be answered.
        let state = ended.unwrap_or(ApprovalState::Expired);
        let same = matches!(
            (decision, state),
            (ApprovalDecision::Accept, ApprovalState::Accepted)
                | (
                    ApprovalDecision::AcceptForSession,
                    ApprovalState::AcceptedForSession
                )
                | (ApprovalDecision::Decline, ApprovalState::Declined)
        );
        if same {
            Ok(state)
        } else {
            Err(GatewayError::ApprovalClosed(state))
        }
    }

    /// Closes the pending approvals `which` selects, for `why`: Stop answers Codex `cancel`;
    /// the others only record how they ended. Returns how many were closed.
    pub(in crate::gateway) fn close_approvals(
        &self,
        why: Closing,
        which: impl Fn(&Pending) -> bool,
    ) -> usize {
        let closed: Vec<(Pending, Effect)> = {
            let mut pending = lock(&self.inner.approvals);
            let (take, keep): (Vec<Pending>, Vec<Pending>) =
                std::mem::take(&mut *pending).into_iter().partition(&which);
            *pending = keep;
            take.into_iter()
                .filter_map(|mut p| match p.approval.advance(why.step()) {
                    Ok(effect) => Some((p, effect)),
                    Err(_) => None, // closed already; never answered twice
                })
                .collect()
        };
        let count = closed.len();
        for (pending, effect) in closed {
            let state = pending.approval.state();
            self.approval_ended(&pending, state, None);
            if let Effect::Reply(decision) = effect {
                let codex = self.inner.codex.clone();
                let reply = reply_json(&pending.reply, decision.as_ref());
                let (epoch, id) = (pending.epoch, pending.request.clone());
                self.spawn(async move {
                    if let Err(e) = codex.respond(epoch, id, Ok(reply)).await {
                        // Codex clears open approvals itself when the turn is interrupted.
                        tracing::debug!(error = %e, "could not answer a cancelled approval");
                    }
                });
            }
        }
        count
    }

    /// `serverRequest/resolved`: Codex closed request `id` of process `epoch` itself.
    pub(super) fn approval_resolved(&self, epoch: Epoch, thread: &str, id: &RequestId) {
        let closed = self.close_approvals(Closing::ClosedByCodex, |p| {
            p.epoch == epoch && p.request == *id
        });
        if closed > 0 {
            tracing::info!(thread, request = %id, "Codex closed an approval");
        }
    }

    /// The runs that wait for a person (the watchdog leaves them alone).
    pub(super) fn runs_waiting_for_a_person(&self) -> Vec<RunId> {
        lock(&self.inner.approvals)
            .iter()
            .map(|p| p.run_id.clone())
            .collect()
    }

    /// Expires an approval a previous process left waiting (`recovery`): its Codex is gone, so it
    /// can never be answered. The card ends `expired` and a notice says to send the message again.
    pub(super) fn expire_left_approval(&self, key: &SessionKey, seq: Seq, run: Option<&RunId>) {
        tracing::info!(session = %key, approval = %seq, "expiring an approval left by a restart");
        self.record_end(key, run, seq, ApprovalState::Expired, None);
    }

    fn approval_ended(&self, p: &Pending, state: ApprovalState, answer: Option<String>) {
        self.record_end(&p.key, Some(&p.run_id), p.seq, state, answer);
    }

    /// Stores how approval `seq` ended (once: the end key is unique) and, for an expiry, the
    /// notice that says what to do.
    fn record_end(
        &self,
        key: &SessionKey,
        run: Option<&RunId>,
        seq: Seq,
        state: ApprovalState,
        answer: Option<String>,
    ) {
        let end = RecordBody::ApprovalEnded {
            target: seq,
            state,
            answer,
        };
        let idem = approval_end_key(key, seq);
        if let Err(e) = self.emit(key, run, false, end, Some(&idem)) {
            tracing::error!(session = %key, approval = %seq, error = %e, "could not store an approval's end");
            return;
        }
        if state == ApprovalState::Expired {
            let notice = RecordBody::Notice {
                level: NoticeLevel::Warning,
                text: "An approval expired: Codex restarted while it was waiting, so it can no \
                       longer be answered. Send the message again to continue."
                    .to_owned(),
                about: Some(NoticeAbout::ApprovalExpired),
            };
            let idem = format!("{idem}:notice");
            if let Err(e) = self.emit(key, run, false, notice, Some(&idem)) {
                tracing::error!(session = %key, error = %e, "could not store an expiry notice");
            }
        }
    }

    fn touch_run(&self, key: &SessionKey, run_id: &RunId) {
        if let Some(run) = lock(&self.inner.runs).run_mut(key, run_id) {
            run.touch(Instant::now());
        }
    }

    /// What `request` asks a person, or `None` when it is not an approval.
    fn asked(&self, request: &ServerRequest) -> Option<Asked> {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(match request {
            ServerRequest::CommandApproval {
                thread_id,
                item_id,
                raw,
                ..
            } => {
                // Without a list, Codex's default decisions apply, which include the session one.
                let for_session = raw
                    .get("availableDecisions")
                    .and_then(Value::as_array)
                    .is_none_or(|d| d.iter().any(|d| d == "acceptForSession"));
                Asked {
                    thread: thread_id.clone(),
                    card: RecordBody::ApprovalRequested {
                        kind: ApprovalKind::Command,
                        item_id: Some(item_id.clone()),
                        subject: text(raw, "command").unwrap_or_else(|| "(a command)".to_owned()),
                        cwd: text(raw, "cwd"),
                        reason: text(raw, "reason"),
                        changes: Vec::new(),
                        for_session,
                    },
                    reply: Reply::Decision,
                    for_session,
                    kind: ApprovalKind::Command,
                }
            }
            ServerRequest::FileChangeApproval {
                thread_id,
                item_id,
                raw,
                ..
            } => {
                let changes = lock(&self.inner.runs)
                    .run_for_thread(thread_id)
                    .map(|(_, run)| run.file_changes(item_id))
                    .unwrap_or_default();
                let subject = if changes.is_empty() {
                    "(files not named by Codex)".to_owned()
                } else {
                    changes
                        .iter()
                        .map(|c| c.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                Asked {
                    thread: thread_id.clone(),
                    card: RecordBody::ApprovalRequested {
                        kind: ApprovalKind::FileChange,
                        item_id: Some(item_id.clone()),
                        subject,
                        cwd: text(raw, "grantRoot"),
                        reason: text(raw, "reason"),
                        changes,
                        for_session: true,
                    },
                    reply: Reply::Decision,
                    for_session: true,
                    kind: ApprovalKind::FileChange,
                }
            }
            ServerRequest::Other { method, params } => {
                let thread = ThreadId::from(text(params, "threadId")?);
                let item_id = text(params, "itemId");
                let (kind, subject, cwd, reply, for_session) = match method.as_str() {
                    "item/permissions/requestApproval" => {
                        let requested = params.get("permissions").cloned().unwrap_or(json!({}));
                        (
                            ApprovalKind::Permissions,
                            describe_permissions(&requested),
                            text(params, "cwd"),
                            Reply::Permissions { requested },
                            true,
                        )
                    }
                    "item/tool/requestUserInput" => {
                        let questions = params
                            .get("questions")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default();
                        let subject = questions
                            .iter()
                            .filter_map(|q| text(q, "question"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        let ids = questions.iter().filter_map(|q| text(q, "id")).collect();
                        (
                            ApprovalKind::Question,
                            subject,
                            None,
                            Reply::UserInput { questions: ids },
                            false,
                        )
                    }
                    "mcpServer/elicitation/request" => {
                        let message = text(params, "message").unwrap_or_default();
                        let server = text(params, "serverName").unwrap_or_default();
                        let subject = match text(params, "url") {
                            Some(url) => format!("{server}: {message} ({url})"),
                            None => format!("{server}: {message}"),
                        };
                        let field = params
                            .pointer("/requestedSchema/properties")
                            .and_then(Value::as_object)
                            .and_then(|props| props.keys().next().cloned());
                        (
                            ApprovalKind::Question,
                            subject,
                            None,
                            Reply::Elicitation { field },
                            false,
                        )
                    }
                    _ => return None,
                };
                Asked {
                    thread,
                    card: RecordBody::ApprovalRequested {
                        kind,
                        item_id,
                        subject,
                        cwd,
                        reason: text(params, "reason"),
                        changes: Vec::new(),
                        for_session,
                    },
                    reply,
                    for_session,
                    kind,
                }
            }
            ServerRequest::ToolCall { .. } => return None,
        })
    }
}

/// The answer to give when nobody can be asked.
fn refusal(reply: &Reply) -> Value {
    reply_json(reply, Some(&Decision::Decline))
}

/// The JSON a request kind expects for `decision` (`None`: cancel).
fn reply_json(reply: &Reply, decision: Option<&Decision>) -> Value {
    match reply {
        Reply::Decision => json!({"decision": match decision {
            Some(Decision::Accept | Decision::Answer(_)) => "accept",
            Some(Decision::AcceptForSession) => "acceptForSession",
            Some(Decision::Decline) => "decline",
            None => "cancel",
        }}),
        Reply::Permissions { requested } => match decision {
            Some(Decision::Accept | Decision::Answer(_)) => {
                json!({"permissions": requested, "scope": "turn"})
            }
            Some(Decision::AcceptForSession) => {
                json!({"permissions": requested, "scope": "session"})
            }
            // Nothing granted.
            Some(Decision::Decline) | None => json!({"permissions": {}, "scope": "turn"}),
        },
        Reply::UserInput { questions } => match decision {
            Some(Decision::Answer(text)) => {
                let answers: serde_json::Map<String, Value> = questions
                    .iter()
                    .map(|id| (id.clone(), json!({"answers": [text]})))
                    .collect();
                json!({ "answers": answers })
            }
            _ => json!({"answers": {}}),
        },
        Reply::Elicitation { field } => match decision {
            Some(Decision::Answer(text)) => match field {
                Some(field) => json!({"action": "accept", "content": {field.as_str(): text}}),
                None => json!({"action": "accept", "content": null}),
            },
            Some(Decision::Accept | Decision::AcceptForSession) => {
                json!({"action": "accept", "content": null})
            }
            Some(Decision::Decline) => json!({"action": "decline", "content": null}),
            None => json!({"action": "cancel", "content": null}),
        },
    }
}

/// Permissions as a person reads them: what would become readable, writable, or reachable.
fn describe_permissions(p: &Value) -> String {
    let paths = |k: &str| -> Vec<String> {
        p.pointer(&format!("/fileSystem/{k}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut parts = Vec::new();
    let (read, write) = (paths("read"), paths("write"));
    if !read.is_empty() {
        parts.push(format!("read {}", read.join(", ")));
    }
    if !write.is_empty() {
        parts.push(format!("write {}", write.join(", ")));
    }
    if p.pointer("/network/enabled").and_then(Value::as_bool) == Some(true) {
        parts.push("network access".to_owned());
    }
    if parts.is_empty() {
        // A shape this build does not know: show it as Codex sent it.
        p.to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_answered_in_its_own_shape() {
        let accept = Some(&Decision::Accept);
        assert_eq!(
            reply_json(&Reply::Decision, accept),
            json!({"decision": "accept"})
        );
        assert_eq!(
            reply_json(&Reply::Decision, Some(&Decision::AcceptForSession)),
            json!({"decision": "acceptForSession"})
        );
        assert_eq!(
            reply_json(&Reply::Decision, Some(&Decision::Decline)),
            json!({"decision": "decline"})
        );
        assert_eq!(
            reply_json(&Reply::Decision, None),
            json!({"decision": "cancel"})
        );
        let requested = json!({"fileSystem": {"write": ["/w/out"]}});
        let perms = Reply::Permissions {
            requested: requested.clone(),
        };
        assert_eq!(
            reply_json(&perms, Some(&Decision::AcceptForSession)),
            json!({"permissions": requested, "scope": "session"})
        );
        assert_eq!(
            reply_json(&perms, Some(&Decision::Decline)),
            json!({"permissions": {}, "scope": "turn"})
        );
        let input = Reply::UserInput {
            questions: vec!["q1".into()],
        };
        assert_eq!(
            reply_json(&input, Some(&Decision::Answer("blue".into()))),
            json!({"answers": {"q1": {"answers": ["blue"]}}})
        );
        assert_eq!(reply_json(&input, None), json!({"answers": {}}));
        let form = Reply::Elicitation {
            field: Some("colour".into()),
        };
        assert_eq!(
            reply_json(&form, Some(&Decision::Answer("red".into()))),
            json!({"action": "accept", "content": {"colour": "red"}})
        );
        assert_eq!(
            reply_json(&form, None),
            json!({"action": "cancel", "content": null})
        );
    }

    #[test]
    fn permissions_read_as_what_they_open() {
        assert_eq!(
            describe_permissions(&json!({
                "fileSystem": {"read": ["/a"], "write": ["/b", "/c"]},
                "network": {"enabled": true}
            })),
            "read /a; write /b, /c; network access"
        );
        assert_eq!(describe_permissions(&json!({"x": 1})), r#"{"x":1}"#);
    }
}
