//! Which instruction sets this CPU offers, detected once at run time, and whether the
//! core a kernel runs on issues in order (from its microarchitecture, per cluster).

use std::sync::OnceLock;

/// ISA features the kernels dispatch on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Isa {
    pub avx2_fma: bool,
    pub avx512f: bool,
    pub avx512bw: bool,
    pub avx512vnni: bool,
    pub avxvnni: bool,
    pub neon: bool,
    pub dotprod: bool,
    pub i8mm: bool,
    pub fp16: bool,
    /// The core issues in order (Cortex-A53, A55, ...): variants scheduled for such
    /// cores go first. Set per cluster by [`Isa::on_core`]; false from `detect`.
    pub in_order: bool,
}

impl Isa {
    /// What this CPU supports. `FLEETSCOPE_ISA=scalar` forces the portable kernels.
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            if std::env::var("FLEETSCOPE_ISA").is_ok_and(|v| v == "scalar") {
                return Isa::default();
            }
            Self::native()
        })
    }

    /// This ISA on a core of microarchitecture `uarch` (`datasets/uarchs.csv` says how
    /// it issues). `FLEETSCOPE_CORE=in-order|out-of-order` overrides it (for tests).
    pub fn on_core(self, uarch: &str) -> Isa {
        let in_order = match std::env::var("FLEETSCOPE_CORE").as_deref() {
            Ok("in-order") => true,
            Ok("out-of-order") => false,
            _ => crate::catalog::catalog()
                .uarch(uarch)
                .is_some_and(|u| u.pipeline == "in-order"),
        };
        Isa { in_order, ..self }
    }

    #[cfg(target_arch = "x86_64")]
    fn native() -> Isa {
        Isa {
            avx2_fma: is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            avx512f: is_x86_feature_detected!("avx512f"),
            avx512bw: is_x86_feature_detected!("avx512bw"),
            avx512vnni: is_x86_feature_detected!("avx512vnni")
                && is_x86_feature_detected!("avx512bw"),
            avxvnni: is_x86_feature_detected!("avxvnni"),
            ..Isa::default()
        }
    }

    #[cfg(target_arch = "aarch64")]
    fn native() -> Isa {
        use std::arch::is_aarch64_feature_detected as has;
        Isa {
            neon: has!("neon"),
            dotprod: has!("dotprod"),
            i8mm: has!("i8mm"),
            fp16: has!("fp16"),
            ..Isa::default()
        }
    }

    /// 32-bit ARM: Rust cannot detect NEON there on stable, so ask the kernel
    /// (`AT_HWCAP`, as cpuinfo does); an `armeabi` CPU without it keeps the portable kernels.
    #[cfg(all(target_arch = "arm", target_os = "linux"))]
    fn native() -> Isa {
        const HWCAP_NEON: libc::c_ulong = 1 << 12;
        // SAFETY: getauxval has no preconditions; it returns 0 for an absent entry.
        let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
        Isa {
            neon: hwcap & HWCAP_NEON != 0,
            ..Isa::default()
        }
    }

    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "arm", target_os = "linux")
    )))]
    fn native() -> Isa {
        Isa::default()
    }
}

#[cfg(test)]
mod tests {
    use super::Isa;

    #[test]
    fn in_order_comes_from_the_core_catalog() {
        // FLEETSCOPE_CORE is not set under the tests.
        let isa = Isa::default();
        for (uarch, in_order) in [
            ("cortex-a53", true),
            ("cortex-a55", true),
            ("cortex-a7", true),
            ("cortex-a72", false),
            ("neoverse-n1", false),
            ("no-such-core", false),
        ] {
            assert_eq!(isa.on_core(uarch).in_order, in_order, "{uarch}");
        }
    }
}
