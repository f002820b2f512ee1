//! Keeps a request's reactive arena with the request while leptos renders it.
//!
//! Leptos (with `sandboxed-arenas`, which its server integration turns on) keeps every reactive
//! value of a request in that request's own arena, and finds "the current arena" through a
//! thread-local that is set when a request's owner or a `Sandboxed` future is entered and never
//! reset. `leptos_integration_utils` 0.8.9 builds the response in a future that is *not*
//! sandboxed and, after its last `.await`, reads the page `<Title>` (a closure over this
//! request's signals). Resumed on another worker thread, or after another request ran on this
//! one, that read looks in a foreign arena, panics with "Tried to access a reactive value that has
//! already been disposed", and the browser gets an empty response.
//!
//! [`sticky`] wraps every handler: whatever arena was current when a poll of the request's future
//! returned is made current again before its next poll, so the request always resumes in its
//! own arena. It does not create, read or free arenas itself; handlers that never touch leptos
//! are unaffected.

use std::future::{pending, Future, Pending};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::reactive::owner::Sandboxed;

/// Middleware: runs the rest of the stack with [`StickyArena`].
pub async fn sticky(req: Request, next: Next) -> Response {
    StickyArena::new(next.run(req)).await
}

/// A future that resumes in the arena it was in when it last returned `Pending`.
pub struct StickyArena<F> {
    inner: Pin<Box<F>>,
    /// Holds the arena that was current at the end of the last poll. Polling it makes that arena
    /// current again (`Sandboxed` does exactly that on every poll); the future it wraps never
    /// completes and ignores the waker, so polling it has no other effect.
    arena: Option<Pin<Box<Sandboxed<Pending<()>>>>>,
}

impl<F> StickyArena<F> {
    pub fn new(inner: F) -> StickyArena<F> {
        StickyArena {
            inner: Box::pin(inner),
            arena: None,
        }
    }
}

impl<F: Future> Future for StickyArena<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if let Some(arena) = this.arena.as_mut() {
            let _ = arena.as_mut().poll(cx);
        }
        let out = this.inner.as_mut().poll(cx);
        if out.is_pending() {
            // `Sandboxed::new` captures the arena current right now: the one this poll left.
            this.arena = Some(Box::pin(Sandboxed::new(pending())));
        }
        out
    }
}
