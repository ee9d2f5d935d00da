//! Which optional x86-64 instructions the matchers use: those the CPU has, found at run time
//! (so the crate needs no build flags), unless [`use_portable_code`] asked for none. The
//! switch lets the bit-exact guards run the portable code on a machine with AVX-512 too: a
//! data centre may well run on CPUs without it, and those must score exactly alike.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set once [`use_portable_code`] was called.
static PORTABLE: AtomicBool = AtomicBool::new(false);

/// From now on, in this whole process, only the portable code paths (for tests; slower).
#[doc(hidden)]
pub fn use_portable_code() {
    PORTABLE.store(true, Ordering::Relaxed);
}

/// One function per feature set: whether every feature is present and allowed.
macro_rules! feature {
    ($(#[$doc:meta])* $name:ident: $($f:tt),+) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[inline(always)]
        pub(crate) fn $name() -> bool {
            !PORTABLE.load(Ordering::Relaxed) $(&& std::arch::is_x86_feature_detected!($f))+
        }
    };
}

feature!(
    /// AVX-512F.
    avx512f: "avx512f"
);
feature!(
    /// AVX-512F with VPOPCNTDQ (vector popcounts).
    avx512_popcnt: "avx512f", "avx512vpopcntdq"
);
feature!(
    /// AVX2.
    avx2: "avx2"
);
feature!(
    /// POPCNT.
    popcnt: "popcnt"
);
