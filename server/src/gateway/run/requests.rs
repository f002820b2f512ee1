//! Requests from Codex: tool calls, approvals, anything else; and the `message` tool.
//!
//! Every request is answered (an unanswered one would stall its turn forever): `message` tool
//! calls by the delivery rules, approvals by a person (held open by `approvals`, which also
//! refuses those nobody can be asked about), the rest with a JSON-RPC error. A targetless send from a WebChat run is the run's
//! visible reply: it is written to the transcript *before* the tool call is answered, keyed by
//! `<run>:internal-source-reply:<call id>`, and the answer is stored keyed by thread and call id,
//! so a repeated call gets the stored answer without a second delivery. The delivery rules
//! themselves are `delivery`'s; this module carries them out and never changes a run's phase.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use app::wire::{DeliveryStatus, SessionKey};

use super::approvals::Asking;
use crate::channels::OutboundMessage;
use crate::codex::{Epoch, RequestId, RpcErrorObj, ServerRequest};
use crate::gateway::delivery::{self, RunSource, SendArgs};
use crate::gateway::{lock, now_ms, Gateway};
use crate::ids::{CallId, RunId, ThreadId, TurnId};
use crate::store::{Appended, RecordBody};

/// While a delivery retries, the run is marked as making progress this often.
const DELIVERY_KEEPALIVE: Duration = Duration::from_secs(5);

impl Gateway {
    /// Answers one request from Codex. Every path answers: an unanswered request would stall the
    /// turn forever.
    pub(super) async fn on_server_request(
        &self,
        epoch: Epoch,
        id: RequestId,
        request: ServerRequest,
    ) {
        match self.ask_person(epoch, &id, &request) {
            // Held open until a person answers (or Stop, Codex, or a restart closes it).
            Asking::Held => return,
            Asking::Refuse(refusal) => {
                if let Err(e) = self.inner.codex.respond(epoch, id, Ok(refusal)).await {
                    tracing::warn!(error = %e, "could not answer a Codex request");
                }
                return;
            }
            Asking::NotAnApproval => {}
        }
        let result = match request {
            ServerRequest::ToolCall {
                thread_id,
                turn_id,
                call_id,
                tool,
                arguments,
            } if tool == "message" => Ok(self
                .message_tool_call(&thread_id, &turn_id, &call_id, &arguments)
                .await),
            ServerRequest::ToolCall { tool, .. } => Ok(delivery::tool_result(
                false,
                &format!("Unknown tool {tool:?}."),
                None,
            )),
            // `ask_person` takes every approval; should one still arrive here, nothing runs
            // that nobody approved.
            ServerRequest::CommandApproval { .. } | ServerRequest::FileChangeApproval { .. } => {
                Ok(json!({"decision": "decline"}))
            }
            ServerRequest::Other { method, .. } => Err(RpcErrorObj {
                code: -32601,
                message: format!("{method} is not supported by codex-webchat"),
            }),
        };
        if let Err(e) = self.inner.codex.respond(epoch, id, result).await {
            tracing::warn!(error = %e, "could not answer a Codex request");
        }
    }

    /// The `message` tool: route, write the mirror, and only then produce the answer. A repeated
    /// call id gets the stored answer without a second delivery.
    pub(super) async fn message_tool_call(
        &self,
        thread_id: &ThreadId,
        turn_id: &TurnId,
        call_id: &CallId,
        arguments: &Value,
    ) -> Value {
        let result_key = format!("tool-result:{thread_id}:{call_id}");
        // One call id at a time: a repeat that arrives while the first is still delivering waits
        // for it and then gets its stored answer, instead of delivering a second time.
        let flight = {
            let mut calls = lock(&self.inner.calls_in_flight);
            calls.entry(result_key.clone()).or_default().clone()
        };
        let _one_at_a_time = flight.lock().await;
        let answer = self
            .message_tool_call_once(thread_id, turn_id, call_id, arguments, &result_key)
            .await;
        lock(&self.inner.calls_in_flight).remove(&result_key);
        answer
    }

    async fn message_tool_call_once(
        &self,
        thread_id: &ThreadId,
        turn_id: &TurnId,
        call_id: &CallId,
        arguments: &Value,
        result_key: &str,
    ) -> Value {
        if let Ok(Some((_, ev))) = self.inner.store.by_idem_key(result_key) {
            if let RecordBody::Internal { detail, .. } = ev.body {
                if let Some(stored) = detail.get("result") {
                    return stored.clone();
                }
            }
        }
        let found = {
            let mut runs = lock(&self.inner.runs);
            runs.run_for_call(thread_id, turn_id).map(|(key, run)| {
                run.touch(Instant::now());
                (key, run.id().to_owned(), run.ctx().clone())
            })
        };
        let Some((key, run_id, mut ctx)) = found else {
            return delivery::tool_result(
                false,
                "This conversation has no active run to reply to.",
                None,
            );
        };
        self.after_pending_steers(&key).await;
        ctx.last_route = match self.inner.store.last_route(&key) {
            Ok(route) => route,
            Err(e) => {
                // Only `channel: "last"` needs it, and it then says there is none.
                tracing::warn!(session = %key, error = %e, "could not read the last route");
                None
            }
        };
        let args = SendArgs::from_value(arguments);
        let result = match delivery::route(&ctx, &args) {
            delivery::Route::CurrentRun { text } => {
                let mirror_key = format!("{run_id}:internal-source-reply:{call_id}");
                crate::fault::point("message-tool-before-mirror");
                let mirrored = self.emit(
                    &key,
                    Some(&run_id),
                    false,
                    RecordBody::AssistantMessage {
                        text,
                        call_id: Some(call_id.to_owned()),
                    },
                    Some(&mirror_key),
                );
                crate::fault::point("message-tool-after-mirror");
                match mirrored {
                    Ok(_) => delivery::tool_result(
                        true,
                        delivery::SINK_TEXT,
                        Some(&delivery::sink_details()),
                    ),
                    Err(e) => {
                        tracing::error!(session = %key, error = %e, "could not store a message-tool reply");
                        return delivery::tool_result(
                            false,
                            "The reply could not be recorded; it was not delivered.",
                            None,
                        );
                    }
                }
            }
            delivery::Route::Outbound {
                channel,
                target,
                text,
            } => {
                // A send the router will attempt shows at once that it is under way (a webhook
                // may retry for a while); its outcome completes the same card.
                let sending = self
                    .inner
                    .outbound
                    .resolve(&channel, &target)
                    .and_then(|(channel, target)| {
                        let card = RecordBody::Delivery {
                            channel,
                            target,
                            status: DeliveryStatus::Sending,
                            attempts: 0,
                            detail: String::new(),
                            updates: None,
                        };
                        let idem = format!("{run_id}:delivery-start:{call_id}");
                        match self.emit(&key, Some(&run_id), false, card, Some(&idem)) {
                            Ok(appended) => Some(appended.event().seq),
                            Err(e) => {
                                tracing::error!(session = %key, error = %e, "could not store a delivery card");
                                None
                            }
                        }
                    });
                let delivery = self.inner.outbound.deliver_reported(
                    &channel,
                    OutboundMessage {
                        target: &target,
                        text: &text,
                        session: Some(key.as_str()),
                    },
                );
                tokio::pin!(delivery);
                // A delivery retrying for a while is progress, not a stalled turn.
                let mut keepalive = tokio::time::interval(DELIVERY_KEEPALIVE);
                let report = loop {
                    tokio::select! {
                        report = &mut delivery => break report,
                        _ = keepalive.tick() => self.touch(&key, &run_id),
                    }
                };
                self.record_delivery(&key, &run_id, call_id, report.event_body(sending));
                self.emit_logged(
                    &key,
                    Some(&run_id),
                    true,
                    RecordBody::Internal {
                        label: "delivery attempts".to_owned(),
                        detail: report.internal_detail(),
                    },
                );
                // Only background runs move the session's last channel: a WebChat turn is a
                // person at the UI, not a route later sends should follow.
                if report.is_sent() && ctx.source == RunSource::Background {
                    self.remember_route(&key, &report.channel, &report.target);
                }
                delivery::tool_result(report.is_sent(), &report.model_text(), None)
            }
            delivery::Route::Reject(msg) => {
                // A refused send is visible too: the model tried to say something that reached
                // nobody, and the person reading the transcript should know.
                let named = |a: &Option<String>, b: &Option<String>| {
                    [a, b]
                        .into_iter()
                        .filter_map(|o| o.as_deref().map(str::trim))
                        .find(|s| !s.is_empty())
                        .unwrap_or_default()
                        .to_owned()
                };
                self.record_delivery(
                    &key,
                    &run_id,
                    call_id,
                    RecordBody::Delivery {
                        channel: named(&args.channel, &args.channel_id),
                        target: named(&args.target, &args.to),
                        status: DeliveryStatus::Failed,
                        attempts: 0,
                        detail: msg.clone(),
                        updates: None,
                    },
                );
                delivery::tool_result(false, &msg, None)
            }
        };
        let stored = self.emit(
            &key,
            Some(&run_id),
            true,
            RecordBody::Internal {
                label: "message tool result".to_owned(),
                detail: json!({"callId": call_id, "arguments": arguments, "result": result}),
            },
            Some(result_key),
        );
        match stored {
            // A concurrent retry stored its answer first: answer the same.
            Ok(Appended::Existing(ev)) => match ev.body {
                RecordBody::Internal { detail, .. } => {
                    detail.get("result").cloned().unwrap_or(result)
                }
                _ => result,
            },
            Ok(Appended::Inserted(_)) => result,
            Err(e) => {
                tracing::error!(session = %key, error = %e, "could not store a tool result");
                result
            }
        }
    }

    /// Marks the run as making progress (the watchdog measures stalls from it).
    fn touch(&self, key: &SessionKey, run_id: &RunId) {
        if let Some(run) = lock(&self.inner.runs).run_mut(key, run_id) {
            run.touch(Instant::now());
        }
    }

    /// Writes the card of a send that did not go to the current run, once per call id.
    fn record_delivery(
        &self,
        key: &SessionKey,
        run_id: &RunId,
        call_id: &CallId,
        card: RecordBody,
    ) {
        let idem = format!("{run_id}:delivery:{call_id}");
        if let Err(e) = self.emit(key, Some(run_id), false, card, Some(&idem)) {
            tracing::error!(session = %key, error = %e, "could not store a delivery card");
        }
    }

    /// Makes `channel:target` the session's last route and tells open tabs.
    fn remember_route(&self, key: &SessionKey, channel: &str, target: &str) {
        let route = delivery::LastRoute {
            channel: channel.to_owned(),
            target: target.to_owned(),
        };
        match self.inner.store.set_last_route(key, &route, now_ms()) {
            Ok(()) => self.publish_session_list(),
            Err(e) => tracing::error!(session = %key, error = %e, "could not store the last route"),
        }
    }
}
