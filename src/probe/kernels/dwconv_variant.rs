//! The depthwise kernels' variants: one generic body per dtype, compiled per ISA
//! through `target_feature` (AVX-512, AVX2+FMA; NEON and portable builds use the body
//! as compiled) and chosen at run time. Shared by `f32_dwconv` and `qs8_dwconv`.

use super::Isa;

/// Which compilation of the depthwise kernel ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DwVariant {
    Avx512,
    Avx2,
    Neon,
    Portable,
}

impl DwVariant {
    pub fn best(isa: &Isa) -> DwVariant {
        if isa.avx512f {
            DwVariant::Avx512
        } else if isa.avx2_fma {
            DwVariant::Avx2
        } else if isa.neon {
            DwVariant::Neon
        } else {
            DwVariant::Portable
        }
    }
    pub fn name(self, dtype: &str) -> String {
        let isa = match self {
            DwVariant::Avx512 => "avx512",
            DwVariant::Avx2 => "avx2",
            DwVariant::Neon => "neon",
            DwVariant::Portable => "portable",
        };
        format!("{dtype}-dwconv3x3-{isa}")
    }
}

/// `fn $name(variant, args...)`: `$body(args...)` compiled for the variant's ISA.
macro_rules! multiversion {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        fn $name(v: DwVariant, $($arg: $ty),*) {
            match v {
                #[cfg(target_arch = "x86_64")]
                DwVariant::Avx512 => {
                    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
                    unsafe fn f($($arg: $ty),*) { $body($($arg),*) }
                    // SAFETY: chosen only when the CPU reports AVX-512F/BW.
                    unsafe { f($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                DwVariant::Avx2 => {
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn f($($arg: $ty),*) { $body($($arg),*) }
                    // SAFETY: chosen only when the CPU reports AVX2 and FMA.
                    unsafe { f($($arg),*) }
                }
                _ => $body($($arg),*),
            }
        }
    };
}

pub(crate) use multiversion;
