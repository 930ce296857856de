//! keel-run's global allocator: a bump arena in `.bss`, then the system allocator.
//!
//! keel-run lives for one command line: it parses its arguments and a unit, builds one
//! `ExecContext`, compiles a seccomp filter and execs or waits. Its few hundred kilobytes
//! of allocations are almost never worth returning to the kernel, but musl's allocator does
//! exactly that, with one `mmap`/`munmap` pair per few small allocations (about 90 system
//! calls before the exec, each with a TLB flush). The arena hands out memory from a zeroed
//! static block (pages are faulted in only when first touched), reuses the space of a freed
//! or resized block only when it is the most recent one, and leaves the rest to the system
//! allocator once the block is used up, so memory use stays bounded for long runs of many
//! `Exec*=` lines too.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Arena size: several times what keel-run allocates for a heavily sandboxed unit.
const SIZE: usize = 2 << 20;

/// The memory an [`Arena`] hands out.
#[repr(C, align(4096))]
pub(crate) struct Block(UnsafeCell<[u8; SIZE]>);

// SAFETY: the bytes are only reached through pointers handed out by the one `Arena` over
// the block, which gives each byte range to one allocation at a time.
unsafe impl Sync for Block {}

impl Block {
    /// A zeroed block (in `.bss` when static).
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new([0; SIZE]))
    }
}

/// The allocator: `top` is the offset of the first free byte in `block`.
pub(crate) struct Arena {
    block: &'static Block,
    top: AtomicUsize,
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena").field("top", &self.top).finish()
    }
}

impl Arena {
    /// An arena over `block` with nothing handed out.
    pub(crate) const fn new(block: &'static Block) -> Self {
        Self {
            block,
            top: AtomicUsize::new(0),
        }
    }

    fn base(&self) -> usize {
        self.block.0.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= self.base() && p < self.base() + SIZE
    }

    /// Takes `layout` from the arena, or `None` when it does not fit any more.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        let base = self.base();
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            let start = (base + top).next_multiple_of(layout.align()) - base;
            let end = start.checked_add(layout.size())?;
            if end > SIZE {
                return None;
            }
            match self
                .top
                .compare_exchange_weak(top, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some((base + start) as *mut u8),
                Err(now) => top = now,
            }
        }
    }
}

// SAFETY: every pointer returned is either a fresh, suitably aligned range of the block that
// no other live allocation overlaps (the bump only moves back over the most recent block,
// when that very block is freed or resized), or comes from `System`, to which pointers
// outside the block are returned.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(p) => p,
            // SAFETY: same contract as ours.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(p) => {
                // SAFETY: `p` is a fresh range of `layout.size()` bytes of the block; a range
                // handed out before and given back may hold old bytes.
                unsafe { p.write_bytes(0, layout.size()) };
                p
            }
            // SAFETY: same contract as ours.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.owns(ptr) {
            let end = ptr as usize - self.base() + layout.size();
            // Give the space back only when this is the most recent block.
            let _ = self.top.compare_exchange(
                end,
                ptr as usize - self.base(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        } else {
            // SAFETY: not ours, so `System` allocated it with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(ptr) {
            // SAFETY: not ours, so `System` allocated it with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let start = ptr as usize - self.base();
        let end = start + layout.size();
        if new_size <= layout.size() {
            // Shrinking: the most recent block gives its tail back.
            let _ = self.top.compare_exchange(
                end,
                start + new_size,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            return ptr;
        }
        // Growing the most recent block in place.
        if start + new_size <= SIZE
            && self
                .top
                .compare_exchange(end, start + new_size, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return ptr;
        }
        // SAFETY: `new_size` is non-zero and, rounded to the alignment, does not overflow
        // (the caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout, as above.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both ranges are live and distinct; `layout.size()` bytes are readable
            // from `ptr` and writable at `new` (which is larger).
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
            // SAFETY: `ptr` was allocated by us with `layout`.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An arena over a leaked heap block of its own (never the global allocator's), with
    /// one safe wrapper per operation.
    struct T(Arena);

    impl T {
        fn new() -> Self {
            // SAFETY: a non-zero-sized layout; an all-zero `Block` is a valid value.
            let p = unsafe { std::alloc::alloc_zeroed(Layout::new::<Block>()) }.cast::<Block>();
            assert!(!p.is_null());
            // SAFETY: `p` points to an initialised `Block` that is never freed.
            Self(Arena::new(unsafe { &*p }))
        }
        fn alloc(&self, size: usize, align: usize) -> *mut u8 {
            let l = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a valid, non-zero-sized layout.
            let p = unsafe { self.0.alloc(l) };
            assert!(!p.is_null());
            p
        }
        fn zeroed(&self, size: usize, align: usize) -> *mut u8 {
            let l = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a valid, non-zero-sized layout.
            unsafe { self.0.alloc_zeroed(l) }
        }
        fn realloc(&self, p: *mut u8, size: usize, align: usize, new: usize) -> *mut u8 {
            let l = Layout::from_size_align(size, align).unwrap();
            // SAFETY: `p` was allocated by this arena with `l`.
            unsafe { self.0.realloc(p, l, new) }
        }
        fn free(&self, p: *mut u8, size: usize, align: usize) {
            let l = Layout::from_size_align(size, align).unwrap();
            // SAFETY: `p` was allocated by this arena with `l` and is not used again.
            unsafe { self.0.dealloc(p, l) }
        }
    }

    fn fill(p: *mut u8, byte: u8, n: usize) {
        // SAFETY: the callers pass live allocations of at least `n` bytes.
        unsafe { p.write_bytes(byte, n) }
    }

    fn byte(p: *mut u8, i: usize) -> u8 {
        // SAFETY: the callers pass live, initialised allocations longer than `i`.
        unsafe { p.wrapping_add(i).read() }
    }

    #[test]
    fn most_recent_block_is_reused_and_grown_in_place() {
        let a = T::new();
        let p = a.alloc(24, 8);
        let q = a.alloc(24, 8);
        assert_eq!(q as usize - p as usize, 24);
        fill(q, 7, 24);
        let q2 = a.realloc(q, 24, 8, 100);
        assert_eq!(q2, q, "the most recent block grows in place");
        assert_eq!(byte(q2, 23), 7);
        fill(p, 5, 24);
        let p2 = a.realloc(p, 24, 8, 100);
        assert_ne!(p2, p, "an older block moves");
        assert_eq!(p2 as usize % 8, 0);
        assert_eq!(byte(p2, 23), 5);
        a.free(p2, 100, 8);
        let r = a.alloc(24, 8);
        assert_eq!(r, p2, "the freed most recent block is reused");
        fill(r, 9, 24);
        a.free(r, 24, 8);
        let z = a.zeroed(64, 64);
        assert_eq!(z as usize % 64, 0);
        assert!((0..64).all(|i| byte(z, i) == 0), "reused space is zeroed");
    }

    #[test]
    fn falls_back_to_the_system_allocator_when_full() {
        let a = T::new();
        let p = a.alloc(SIZE - 8, 8);
        assert!(a.0.owns(p));
        let q = a.alloc(64, 8);
        assert!(!a.0.owns(q), "a full arena hands over to System");
        fill(q, 1, 64);
        let q2 = a.realloc(q, 64, 8, 4096);
        assert!(!a.0.owns(q2));
        assert_eq!(byte(q2, 63), 1);
        a.free(q2, 4096, 8);
        a.free(p, SIZE - 8, 8);
        assert_eq!(
            a.alloc(16, 8),
            p,
            "freeing the only block empties the arena"
        );
    }
}
