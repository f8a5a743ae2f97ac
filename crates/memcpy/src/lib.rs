//! `memcpy` and `memmove` for the engine's static musl build.
//!
//! musl's x86_64 `memcpy` (`src/string/x86_64/memcpy.s`) copies every block with `rep movsq`
//! and moves the unaligned head and the tail a byte at a time with `movsb`. Both instructions
//! are microcoded, with a start-up cost of tens of cycles, which dominates the small copies
//! that most of a Rust program's copies are: a serializer writing a quote, a comma or two
//! spaces of indentation, a `String` growing by a few bytes. In the engine's `run`, serializing
//! the runtime spec (17.9 KB of JSON in about 8,000 writes) spent three quarters of its time in
//! `memcpy`: 46 µs a serialization with the data hot in the cache, 20 µs with these functions
//! (the book's performance chapter has the whole run's figure). These versions copy up to 64 bytes
//! with two to four unaligned loads and stores of the block's two ends, which overlap where the
//! length is not a power of two (what glibc's and LLVM's small-copy paths do), and larger
//! blocks with one `rep movsq`. The same problem and remedy: Microsoft's OpenHCL
//! (microsoft/openvmm pull request 2297, "musl's memcpy on x86_64 is slow").
//!
//! With the `replace-libc` feature the functions carry their C names and so replace the C
//! library's in a statically linked binary: the linker takes a symbol from the program's own
//! objects before it looks in `libc.a`. Both are needed: musl's `memmove` jumps into its
//! `memcpy` (through `__memcpy_fwd`), so replacing `memcpy` alone would pull musl's `memcpy.o`
//! in again, a duplicate definition. Only a binary should enable it: a library that did would
//! replace the C library's functions in every program that links it.
//!
//! The crate is `no_builtins`: LLVM would otherwise recognize the backward copy loop below as a
//! `memmove` and call it, which here is the function itself.
#![no_std]
#![no_builtins]
#![warn(missing_docs)]

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::__m128i as Block16;
/// A 16-byte block where SSE2 registers are not at hand.
#[cfg(not(target_arch = "x86_64"))]
type Block16 = u128;

/// The value of type `T` at `p`, any alignment.
///
/// # Safety
/// `p` must be valid for reading `size_of::<T>()` bytes.
#[inline(always)]
unsafe fn load<T: Copy>(p: *const u8) -> T {
    // SAFETY: the caller's contract; `read_unaligned` allows any alignment.
    unsafe { p.cast::<T>().read_unaligned() }
}

/// Store `v` at `p`, any alignment.
///
/// # Safety
/// `p` must be valid for writing `size_of::<T>()` bytes.
#[inline(always)]
unsafe fn store<T: Copy>(p: *mut u8, v: T) {
    // SAFETY: the caller's contract; `write_unaligned` allows any alignment.
    unsafe { p.cast::<T>().write_unaligned(v) }
}

/// Copy `n` bytes, at least one `T` and at most two, as the `T` at the start and the `T` at
/// the end, which overlap when `n` is less than two of them. Both are loaded before either is
/// stored, so the blocks may overlap.
///
/// # Safety
/// As [`memmove`].
#[inline(always)]
unsafe fn ends<T: Copy>(dst: *mut u8, src: *const u8, n: usize) {
    let w = size_of::<T>();
    // SAFETY: w ≤ n, so both ends lie inside the caller's blocks.
    unsafe {
        let (head, tail): (T, T) = (load(src), load(src.add(n - w)));
        store(dst, head);
        store(dst.add(n - w), tail);
    }
}

/// Copy `n` bytes from `src` to `dst`; the blocks may overlap. Returns `dst`.
///
/// # Safety
/// `src` must be valid for reading and `dst` for writing `n` bytes (C's `memmove`).
#[cfg_attr(feature = "replace-libc", unsafe(no_mangle))]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: every branch stays inside the `n` bytes the caller vouches for, and loads what
    // it overwrites before it stores there.
    unsafe {
        match n {
            0 => {}
            1 => store::<u8>(dst, load(src)),
            2..=3 => ends::<u16>(dst, src, n),
            4..=7 => ends::<u32>(dst, src, n),
            8..=16 => ends::<u64>(dst, src, n),
            17..=32 => ends::<Block16>(dst, src, n),
            33..=64 => {
                let (a, b): (Block16, Block16) = (load(src), load(src.add(16)));
                let (c, d): (Block16, Block16) = (load(src.add(n - 32)), load(src.add(n - 16)));
                store(dst, a);
                store(dst.add(16), b);
                store(dst.add(n - 32), c);
                store(dst.add(n - 16), d);
            }
            // `dst` before `src`, or the blocks apart (`dst - src` wraps to a large value when
            // `dst` is below): a forward copy reads each byte before anything lands on it.
            _ if (dst as usize).wrapping_sub(src as usize) >= n => forward(dst, src, n),
            _ => backward(dst, src, n),
        }
    }
    dst
}

/// Copy `n` bytes from `src` to `dst`, which must not overlap. Returns `dst`.
///
/// # Safety
/// As [`memmove`] (C's `memcpy`; it copies overlapping blocks as `memmove` does).
#[cfg_attr(feature = "replace-libc", unsafe(no_mangle))]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract, which is `memmove`'s.
    unsafe { memmove(dst, src, n) }
}

/// Copy `n` (> 8) bytes front to back: `dst` is below `src` or the blocks are apart.
///
/// # Safety
/// As [`memmove`].
#[inline(always)]
unsafe fn forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the last eight bytes are loaded before the copy may overwrite them (the blocks
    // can overlap with `dst` below `src`), then stored over the tail the quadwords left.
    unsafe {
        let tail: u64 = load(src.add(n - 8));
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!(
            "rep movsq",
            inout("rdi") dst => _,
            inout("rsi") src => _,
            inout("rcx") n / 8 => _,
            options(nostack, preserves_flags)
        );
        #[cfg(not(target_arch = "x86_64"))]
        for i in (0..n / 8).map(|q| q * 8) {
            store::<u64>(dst.add(i), load(src.add(i)));
        }
        store(dst.add(n - 8), tail);
    }
}

/// Copy `n` (> 8) bytes back to front: `dst` is above `src` and the blocks overlap, so each
/// store lands on source bytes already read.
///
/// # Safety
/// As [`memmove`].
#[inline(always)]
unsafe fn backward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: indices stay below `n`; the first eight bytes are loaded before any store and
    // stored last, over whatever the loop left of them.
    unsafe {
        let head: u64 = load(src);
        let mut i = n;
        while i > 8 {
            i -= 8;
            store::<u64>(dst.add(i), load(src.add(i)));
        }
        store(dst, head);
    }
}
