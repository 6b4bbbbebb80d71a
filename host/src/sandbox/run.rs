//! Runs one guest call to completion on the calling thread, on the guest's own stack.
//!
//! Why a future at all: wasmtime runs an `async` call on a fiber, a stack it allocates per
//! store (`kmip_keyring_engine::GUEST_STACK_SIZE`, with a guard page), so that a guest that
//! recurses without bound meets wasmtime's explicit stack limit on that stack and traps,
//! instead of running off the end of a mysqld connection thread's 1 MiB (or 128 KiB)
//! `thread_stack` into its guard page, which kills the server. No executor and no thread
//! are involved: every import is synchronous, so a call yields only where a load's fuel
//! slice runs out (`Store::fuel_async_yield_interval`), and the next poll resumes it.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

/// Polls `future` once on this thread. `None` if it did not complete, which only a guest
/// call that suspends could cause; dropping the future then unwinds the suspended fiber.
pub(super) fn to_completion<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// How a load's call ended when driven by [`to_completion_with_progress`].
pub(super) enum Driven<T> {
    /// The call completed.
    Done(T),
    /// A whole fuel slice went by without a complete KMIP response: the call was dropped,
    /// which unwinds its fiber.
    Stalled,
}

/// Polls `future` on this thread for as long as it makes progress: each time it yields
/// (its fuel slice spent), it is resumed only if `responses` grew since the last yield, so
/// a load of many keys gets a fresh slice for every KMIP response it receives while a
/// guest that computes without talking to the server is stopped after one slice.
pub(super) fn to_completion_with_progress<F: Future>(
    future: F,
    responses: &AtomicU64,
) -> Driven<F::Output> {
    let mut future = pin!(future);
    let mut seen = responses.load(Ordering::Relaxed);
    loop {
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(output) => return Driven::Done(output),
            Poll::Pending => {
                let now = responses.load(Ordering::Relaxed);
                if now == seen {
                    return Driven::Stalled;
                }
                seen = now;
            }
        }
    }
}
