//! Runs one guest call to completion on the calling thread, on the guest's own stack.
//!
//! Why a future at all: wasmtime runs an `async` call on a fiber, a stack it allocates per
//! store (`kmip_keyring_engine::GUEST_STACK_SIZE`, with a guard page), so that a guest that
//! recurses without bound meets wasmtime's explicit stack limit on that stack and traps,
//! instead of running off the end of a mysqld connection thread's 1 MiB (or 128 KiB)
//! `thread_stack` into its guard page, which kills the server. No executor and no thread
//! are involved: every import is synchronous and nothing yields (no epoch or fuel
//! yielding), so the first poll runs the call to its end.

use std::future::Future;
use std::pin::pin;
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
