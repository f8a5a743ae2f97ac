//! Every length through the block sizes and past them, at every small offset between the two
//! blocks, forward and backward, against `slice::copy_within` on a second buffer.
use locald_memcpy::{memcpy, memmove};

/// Fill with a pattern whose bytes differ from their neighbours' (a shifted copy shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn memmove_matches_copy_within_for_every_length_and_overlap() {
    const MAX: usize = 300;
    const BASE: usize = 400;
    for n in 0..=MAX {
        for shift in -80isize..=80 {
            let mut got = pattern(BASE * 3);
            let mut want = got.clone();
            let to = (BASE as isize + shift) as usize;
            want.copy_within(BASE..BASE + n, to);
            let ret = unsafe {
                memmove(
                    std::hint::black_box(got.as_mut_ptr().add(to)),
                    got.as_ptr().add(BASE),
                    std::hint::black_box(n),
                )
            };
            assert_eq!(
                ret,
                unsafe { got.as_mut_ptr().add(to) },
                "return value, n={n}"
            );
            assert!(got == want, "n={n} shift={shift}");
        }
    }
}

#[test]
fn memcpy_copies_apart_blocks_of_every_alignment() {
    let src = pattern(5000);
    for n in [
        0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096, 4097,
    ] {
        for (s_off, d_off) in [(0, 0), (1, 0), (0, 3), (5, 11), (7, 1)] {
            let mut dst = vec![0xAAu8; 5000 + 16];
            unsafe { memcpy(dst.as_mut_ptr().add(d_off), src.as_ptr().add(s_off), n) };
            assert_eq!(&dst[d_off..d_off + n], &src[s_off..s_off + n], "n={n}");
            // Nothing outside the block is touched.
            assert!(dst[..d_off].iter().all(|&b| b == 0xAA), "before, n={n}");
            assert!(dst[d_off + n..].iter().all(|&b| b == 0xAA), "after, n={n}");
        }
    }
}

#[test]
fn large_overlapping_moves_both_ways() {
    for n in [65, 100, 1000, 10_000, 100_000] {
        for shift in [-4096isize, -9, -8, -1, 1, 8, 9, 4096] {
            let base = 5000usize;
            let mut got = pattern(base * 2 + n);
            let mut want = got.clone();
            let to = (base as isize + shift) as usize;
            want.copy_within(base..base + n, to);
            unsafe { memmove(got.as_mut_ptr().add(to), got.as_ptr().add(base), n) };
            assert!(got == want, "n={n} shift={shift}");
        }
    }
}
