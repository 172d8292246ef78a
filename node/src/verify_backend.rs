//! Which curve25519-dalek backend runs ed25519 signing and verification on
//! this CPU: what `jaring bench machine` (`verify_backend`) and the
//! `jaring_verify_backend` metric report.
//!
//! curve25519-dalek 5 compiles its backends from the
//! `curve25519_dalek_backend` cfg (set for every build of this repository in
//! `.cargo/config.toml`, overridden by `.ci/backend.sh`) and picks one on
//! every operation from the CPU's features:
//!
//! | cfg | compiled | chosen at run time |
//! |---|---|---|
//! | `avx512` (ours, x86_64) | AVX-512 IFMA, AVX2, serial | AVX-512 IFMA if the CPU has `avx512ifma` and `avx512vl`, else AVX2 if it has `avx2`, else serial |
//! | none (the crate's default), `simd` (x86_64) | AVX2, serial (and AVX-512 IFMA with none when the build enables both target features) | likewise |
//! | `serial`, or any target but x86_64 | serial | serial |
//! | `fiat` | fiat-crypto | fiat-crypto |
//!
//! This module repeats that selection (curve25519-dalek's `build.rs` and
//! `backend::get_selected_backend`, which asks `cpufeatures`; the same CPUID
//! and OS-support checks as [`std::is_x86_feature_detected`]), because the
//! crate does not say which backend it picked. Pure: no I/O.

/// A curve25519-dalek backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyBackend {
    /// AVX-512 IFMA (52-bit multiply-add) vector code.
    Avx512Ifma,
    /// AVX2 vector code.
    Avx2,
    /// Portable 64- or 32-bit code.
    Serial,
    /// fiat-crypto's formally verified field arithmetic.
    Fiat,
}

impl VerifyBackend {
    /// Short stable name: `avx512ifma`, `avx2`, `serial` or `fiat`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyBackend::Avx512Ifma => "avx512ifma",
            VerifyBackend::Avx2 => "avx2",
            VerifyBackend::Serial => "serial",
            VerifyBackend::Fiat => "fiat",
        }
    }
}

impl std::fmt::Display for VerifyBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether this build holds curve25519-dalek's AVX-512 IFMA backend.
const COMPILED_AVX512: bool = cfg!(all(
    target_arch = "x86_64",
    not(curve25519_dalek_bits = "32"),
    any(
        curve25519_dalek_backend = "avx512",
        all(
            not(any(
                curve25519_dalek_backend = "serial",
                curve25519_dalek_backend = "fiat",
                curve25519_dalek_backend = "simd"
            )),
            target_feature = "avx512ifma",
            target_feature = "avx512vl"
        )
    )
));

/// Whether this build holds curve25519-dalek's AVX2 backend.
const COMPILED_AVX2: bool = cfg!(all(
    target_arch = "x86_64",
    not(curve25519_dalek_bits = "32"),
    not(any(curve25519_dalek_backend = "serial", curve25519_dalek_backend = "fiat"))
));

/// The backends this build holds, in the order they are tried at run time.
pub fn compiled_backends() -> &'static [VerifyBackend] {
    use VerifyBackend::{Avx2, Avx512Ifma, Fiat, Serial};
    if cfg!(curve25519_dalek_backend = "fiat") {
        &[Fiat]
    } else if COMPILED_AVX512 {
        &[Avx512Ifma, Avx2, Serial]
    } else if COMPILED_AVX2 {
        &[Avx2, Serial]
    } else {
        &[Serial]
    }
}

/// The backend signature checks run on, on this CPU, with this build.
pub fn verify_backend() -> VerifyBackend {
    compiled_backends().iter().copied().find(|&b| cpu_runs(b)).unwrap_or(VerifyBackend::Serial)
}

/// Whether this CPU (and its OS) can run a backend's code.
fn cpu_runs(backend: VerifyBackend) -> bool {
    match backend {
        VerifyBackend::Serial | VerifyBackend::Fiat => true,
        #[cfg(target_arch = "x86_64")]
        VerifyBackend::Avx512Ifma => {
            std::is_x86_feature_detected!("avx512ifma") && std::is_x86_feature_detected!("avx512vl")
        }
        #[cfg(target_arch = "x86_64")]
        VerifyBackend::Avx2 => std::is_x86_feature_detected!("avx2"),
        #[cfg(not(target_arch = "x86_64"))]
        VerifyBackend::Avx512Ifma | VerifyBackend::Avx2 => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_ones() {
        let names: Vec<_> =
            [VerifyBackend::Avx512Ifma, VerifyBackend::Avx2, VerifyBackend::Serial, VerifyBackend::Fiat]
                .iter()
                .map(|b| b.to_string())
                .collect();
        assert_eq!(names, ["avx512ifma", "avx2", "serial", "fiat"]);
    }

    /// The backend follows the build's cfg: the repository's builds hold
    /// the AVX-512 backend on x86_64, `.ci/backend.sh serial` builds only
    /// the serial one (the CI step that runs the signature tests on it).
    #[test]
    fn the_cfg_decides_what_is_compiled() {
        let compiled = compiled_backends();
        if cfg!(curve25519_dalek_backend = "serial") || !cfg!(target_arch = "x86_64") {
            assert_eq!(compiled, [VerifyBackend::Serial]);
            assert_eq!(verify_backend(), VerifyBackend::Serial);
        }
        if cfg!(all(target_arch = "x86_64", curve25519_dalek_backend = "avx512")) {
            assert_eq!(compiled, [VerifyBackend::Avx512Ifma, VerifyBackend::Avx2, VerifyBackend::Serial]);
        }
        if cfg!(all(target_arch = "x86_64", curve25519_dalek_backend = "simd")) {
            assert_eq!(compiled, [VerifyBackend::Avx2, VerifyBackend::Serial]);
        }
        let last = if cfg!(curve25519_dalek_backend = "fiat") { VerifyBackend::Fiat } else { VerifyBackend::Serial };
        assert_eq!(compiled.last(), Some(&last), "the portable code is always there to fall back on");
        assert!(compiled.contains(&verify_backend()));
    }
}
