//! Reading the workbench's wire types (`wire::workbench`: tool details with classified diff
//! lines, plans, MCP calls, attached images, models, context usage, the account's rate limits)
//! as serde writes them; part of the browser's JSON reader (`json`).

use super::{FromJson, Reader, Result};
use crate::wire::{
    AccountStatus, CodexHealth, ContextUsage, DiffLine, DiffLineKind, FileDiff, ImageRef,
    LimitWindow, Login, ModelOption, PlanStatus, PlanStep, RateLimits, SearchHit, SignIn, Snip,
    ToolDetail,
};

impl FromJson for FileDiff {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, FileDiff { path, kind, added, removed, lines; }))
    }
}

impl FromJson for DiffLine {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, DiffLine { kind, text; }))
    }
}

string_enum!(DiffLineKind {
    "add" => DiffLineKind::Add,
    "del" => DiffLineKind::Del,
    "ctx" => DiffLineKind::Ctx,
    "hunk" => DiffLineKind::Hunk,
    "meta" => DiffLineKind::Meta,
});

impl FromJson for ToolDetail {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match &*r.tag("type")? {
            "files" => read_fields!(r, ToolDetail::Files { files; }),
            "plan" => read_fields!(r, ToolDetail::Plan { steps; explanation }),
            "mcp" => read_fields!(r, ToolDetail::Mcp { server, tool, arguments; }),
            _ => return Err(r.err("unknown tool detail")),
        })
    }
}

impl FromJson for PlanStep {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, PlanStep { step, status; }))
    }
}

string_enum!(PlanStatus {
    "pending" => PlanStatus::Pending,
    "in_progress" => PlanStatus::InProgress,
    "completed" => PlanStatus::Completed,
});

impl FromJson for ImageRef {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, ImageRef { id, name, mime; }))
    }
}

impl FromJson for ModelOption {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, ModelOption { id, name; efforts, default_effort, is_default }))
    }
}

impl FromJson for AccountStatus {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, AccountStatus { ; login, rate_limits, codex, signin }))
    }
}

impl FromJson for Login {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match &*r.tag("state")? {
            "unknown" => read_fields!(r, Login::Unknown { ; }),
            "demo" => read_fields!(r, Login::Demo { ; }),
            "signed_out" => read_fields!(r, Login::SignedOut { ; }),
            "api_key" => read_fields!(r, Login::ApiKey { ; }),
            "chatgpt" => read_fields!(r, Login::Chatgpt { ; email, plan }),
            "other" => read_fields!(r, Login::Other { kind; }),
            _ => return Err(r.err("unknown login state")),
        })
    }
}

impl FromJson for CodexHealth {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match &*r.tag("state")? {
            "starting" => read_fields!(r, CodexHealth::Starting { ; }),
            "ready" => read_fields!(r, CodexHealth::Ready { ; }),
            "down" => read_fields!(r, CodexHealth::Down { reason; }),
            _ => return Err(r.err("unknown codex state")),
        })
    }
}

impl FromJson for SignIn {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match &*r.tag("state")? {
            "waiting" => read_fields!(r, SignIn::Waiting { user_code, verification_url; }),
            "failed" => read_fields!(r, SignIn::Failed { message; }),
            _ => return Err(r.err("unknown sign-in state")),
        })
    }
}

impl FromJson for RateLimits {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, RateLimits { ; primary, secondary }))
    }
}

impl FromJson for LimitWindow {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, LimitWindow { used_percent; window_mins, resets_at }))
    }
}

impl FromJson for ContextUsage {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, ContextUsage { tokens, total; window }))
    }
}

impl FromJson for SearchHit {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, SearchHit { session, title, seq; snippet }))
    }
}

impl FromJson for Snip {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, Snip { text; hit }))
    }
}
