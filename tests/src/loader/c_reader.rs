//! The fetch benchmark's C caller and bare C baseline keyring (tests/c/reader_bench.c):
//! reads timed by one C loop, through the component's bound reader service or the baseline's.

use super::abi::Reader;
use super::LoadedComponent;
use std::ffi::{c_char, c_uchar, CString};

extern "C" {
    fn baseline_reset(keys: usize);
    fn baseline_insert(
        data_id: *const c_char,
        auth_id: *const c_char,
        data: *const c_uchar,
        data_len: usize,
        key_type: *const c_char,
    );
    fn baseline_reader() -> *const Reader;
    fn time_reads(
        reader: *const Reader,
        ids: *const *const c_char,
        n_ids: usize,
        samples: usize,
        offset: usize,
        out_ns: *mut u64,
    ) -> usize;
}

/// Key ids as the C loop reads them.
pub struct Ids {
    owned: Vec<CString>,
    pointers: Vec<*const c_char>,
}

// SAFETY: the pointers point into `owned`, which is never changed after construction, so
// sharing them between reader threads shares only immutable bytes.
unsafe impl Sync for Ids {}

impl Ids {
    /// Copies `ids` (which hold no NUL) into C strings.
    pub fn new(ids: &[String]) -> Self {
        let owned: Vec<CString> = ids
            .iter()
            .map(|id| CString::new(id.as_str()).expect("a key id without NUL"))
            .collect();
        let pointers = owned.iter().map(|c| c.as_ptr()).collect();
        Self { owned, pointers }
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.owned.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.owned.is_empty()
    }
}

/// Which keyring the C loop reads from.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// The component's `keyring_reader_with_status`, as mysqld bound it.
    Component(&'a LoadedComponent),
    /// The bare C baseline (read-write lock, open-addressing hash table, memcpy).
    Baseline,
}

/// The bare baseline, a process-wide table: filled once, then read by `time`.
pub struct Baseline;

impl Baseline {
    /// Empties the table and sizes it for `keys` keys.
    pub fn reset(keys: usize) {
        // SAFETY: takes the baseline's write lock; no pointer arguments.
        unsafe { baseline_reset(keys) }
    }

    /// Adds a key without an owner (auth_id "").
    pub fn insert(data_id: &str, data: &[u8], key_type: &str) {
        let (id, ty) = (
            CString::new(data_id).expect("id without NUL"),
            CString::new(key_type).expect("type without NUL"),
        );
        // SAFETY: NUL-terminated strings and a buffer of `data.len()` bytes, valid for the
        // call; the baseline copies them.
        unsafe {
            baseline_insert(
                id.as_ptr(),
                c"".as_ptr(),
                data.as_ptr(),
                data.len(),
                ty.as_ptr(),
            )
        }
    }
}

/// Times `samples` reads from `target` in C, each alone (two `clock_gettime` calls around
/// it), cycling through `ids` from `offset`; the nanoseconds of each, or how many reads
/// failed.
pub fn time(
    target: Target<'_>,
    ids: &Ids,
    samples: usize,
    offset: usize,
) -> Result<Vec<u64>, usize> {
    assert!(!ids.is_empty());
    let reader = match target {
        Target::Component(component) => component.bound.reader,
        // SAFETY: returns a pointer to a static struct.
        Target::Baseline => unsafe { baseline_reader() },
    };
    let mut out = vec![0u64; samples];
    // SAFETY: `reader` is a bound reader service (the component's, alive while `component`
    // is borrowed, or the baseline's static one); `ids.pointers` holds `ids.len()` C strings
    // alive for the call; `out` has room for `samples` figures.
    let failed = unsafe {
        time_reads(
            reader,
            ids.pointers.as_ptr(),
            ids.len(),
            samples,
            offset,
            out.as_mut_ptr(),
        )
    };
    if failed == 0 {
        Ok(out)
    } else {
        Err(failed)
    }
}
