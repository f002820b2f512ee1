//! Approvals in a running turn: Codex's open requests that wait for a person.
//!
//! (Being wired; see `gateway::approval` for the rules.)

use app::wire::{ApprovalDecision, Seq, SessionKey};

use crate::gateway::{Gateway, GatewayError};

impl Gateway {
    /// A person's answer to the approval whose card is the event `approval` of `key`.
    pub async fn answer(
        &self,
        key: &SessionKey,
        approval: Seq,
        decision: ApprovalDecision,
        answer: Option<String>,
    ) -> Result<app::wire::ApprovalState, GatewayError> {
        self.session(key)?;
        let _ = (approval, decision, answer);
        Err(GatewayError::UnknownApproval)
    }
}
