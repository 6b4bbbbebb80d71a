//! Stack measurements for the C-ABI tests: run a closure on a thread with exactly a given
//! stack, as mysqld runs a connection with `thread_stack` bytes, and report how deep the
//! closure went below its first frame (the stack is painted first and found again after).
//!
//! The stack is our own mapping (`pthread_attr_setstack`), with a guard page below it:
//! glibc hands a new thread any cached stack that is large enough, so a thread asked for
//! 256 KiB through `std::thread` may in fact run on 1 MiB.

use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

const PAINT: u8 = 0xA5;
const GUARD: usize = 4096;
/// Left alone below the current frame: the painting code's own frames.
const TOP_MARGIN: usize = 4096;

struct Job<'a, T> {
    f: Option<Box<dyn FnOnce() -> T + Send + 'a>>,
    low: usize,
    outcome: Option<std::thread::Result<(T, usize)>>,
}

#[inline(never)]
fn here() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

#[inline(never)]
fn paint_run_measure<T>(job: &mut Job<'_, T>) {
    let top = here() - TOP_MARGIN;
    for address in job.low..top {
        // SAFETY: the unused part of this thread's own stack, below every live frame
        // (TOP_MARGIN) and above its guard page.
        unsafe { std::ptr::write_volatile(address as *mut u8, PAINT) };
    }
    let f = job.f.take().expect("run once");
    let start = here();
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let deepest = (job.low..top)
        // SAFETY: as above; the closure has returned, so nothing lives there.
        .find(|&address| unsafe { std::ptr::read_volatile(address as *const u8) } != PAINT)
        .unwrap_or(top);
    job.outcome = Some(outcome.map(|result| (result, start.saturating_sub(deepest))));
}

extern "C" fn trampoline<T>(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the `Job` that `stack_used` keeps alive until it has joined us.
    let job = unsafe { &mut *arg.cast::<Job<'_, T>>() };
    paint_run_measure(job);
    std::ptr::null_mut()
}

/// Runs `f` on a new thread whose stack is exactly `stack` bytes; returns its result and
/// the bytes of stack it used below the frame it started in. A panic in `f` is resumed
/// here.
pub fn stack_used<T: Send>(stack: usize, f: impl FnOnce() -> T + Send) -> (T, usize) {
    let mut job = Job {
        f: Some(Box::new(f)),
        low: 0,
        outcome: None,
    };
    // SAFETY: a private anonymous mapping used only as the new thread's stack, joined and
    // unmapped before this function returns; `job` outlives the thread for the same reason.
    unsafe {
        let size = GUARD + stack;
        let base = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        );
        assert_ne!(base, libc::MAP_FAILED, "mmap of a thread stack");
        assert_eq!(libc::mprotect(base, GUARD, libc::PROT_NONE), 0);
        job.low = base as usize + GUARD;
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        assert_eq!(libc::pthread_attr_init(attr.as_mut_ptr()), 0);
        assert_eq!(
            libc::pthread_attr_setstack(attr.as_mut_ptr(), job.low as *mut c_void, stack),
            0
        );
        let mut thread: libc::pthread_t = 0;
        let created = libc::pthread_create(
            &mut thread,
            attr.as_ptr(),
            trampoline::<T>,
            (&mut job as *mut Job<'_, T>).cast(),
        );
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        assert_eq!(created, 0, "pthread_create");
        assert_eq!(libc::pthread_join(thread, std::ptr::null_mut()), 0);
        libc::munmap(base, size);
    }
    match job.outcome.expect("the thread ran the job") {
        Ok(measured) => measured,
        Err(panic) => resume_unwind(panic),
    }
}
