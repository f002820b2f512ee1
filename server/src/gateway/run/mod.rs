//! The run engine: one user message (or background request) and the Codex turn it drives, from
//! start to a recorded outcome.
//!
//! Each concern has its own file, and the dependencies point one way:
//! - `phase`: the state machine (pure), and the one mapping from a turn's end to an outcome;
//! - `projection`: Codex notifications to transcript writes, with the stream buffer (pure);
//! - `table`: the run table and queue, the only owner of a run's fields;
//! - `lifecycle`: start, launch, begin turn, stop, finish, and closing what a restart left open;
//! - `recovery`: after a restart, finding what was left open (indexed queries, never a scan) and
//!   recovering it per session in the background, a session's requests waiting for its own;
//! - `dispatch`: Codex's notifications and exit in, the flush tick and the watchdog;
//! - `requests`: Codex's server requests and the `message` tool;
//! - `history`: the earlier turns of a thread opened from `CODEX_HOME`, through the projection;
//! - `steer`: a person's send (stored once, steered into the running turn or run or queued), and
//!   the turn input with its images.
//!
//! The pure parts never touch the gateway; the rest decide nothing the pure parts decide. Delivery
//! rules are `delivery`'s, thread binding is `threads`'.

mod approvals;
pub(super) use approvals::{Closing, Pending};
mod dispatch;
mod history;
mod lifecycle;
mod phase;
mod projection;
mod recovery;
mod requests;
mod steer;
mod table;

pub use lifecycle::RunStart;
pub(super) use recovery::Recovering;
pub use steer::{AttachedImage, NewMessage, MAX_IMAGES};
pub(super) use table::RunTable;

#[cfg(test)]
mod tests;
