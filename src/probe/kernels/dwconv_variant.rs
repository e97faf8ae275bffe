//! The depthwise kernels' variants: one generic body per dtype, compiled per ISA
//! through `target_feature` (AVX-512, AVX2+FMA; aarch64 NEON and portable builds use
//! the body as compiled; 32-bit ARM NEON runs each tap's channel loop in inline
//! assembly) and chosen at run time. Shared by `f32_dwconv` and `qs8_dwconv`.

use super::Isa;

#[cfg(target_arch = "arm")]
#[path = "dwconv_aarch32_neon.rs"]
mod aarch32_neon;

/// Which compilation of the depthwise kernel ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DwVariant {
    Avx512,
    Avx2,
    Neon,
    Aarch32Neon,
    Portable,
}

impl DwVariant {
    pub fn best(isa: &Isa) -> DwVariant {
        if isa.avx512f {
            DwVariant::Avx512
        } else if isa.avx2_fma {
            DwVariant::Avx2
        } else if isa.neon && cfg!(target_arch = "aarch64") {
            // 32-bit ARM compiles the body without NEON: it is the portable kernel there.
            DwVariant::Neon
        } else if isa.neon && cfg!(target_arch = "arm") {
            DwVariant::Aarch32Neon
        } else {
            DwVariant::Portable
        }
    }
    /// Every variant built for this target, fastest first.
    pub fn built() -> Vec<DwVariant> {
        let mut v = Vec::new();
        if cfg!(target_arch = "x86_64") {
            v.extend([DwVariant::Avx512, DwVariant::Avx2]);
        }
        if cfg!(target_arch = "aarch64") {
            v.push(DwVariant::Neon);
        }
        if cfg!(target_arch = "arm") {
            v.push(DwVariant::Aarch32Neon);
        }
        v.push(DwVariant::Portable);
        v
    }

    /// What the CPU must offer, in words (empty for the portable kernel).
    pub fn needs(self) -> &'static str {
        match self {
            DwVariant::Avx512 => "AVX-512F and AVX-512BW",
            DwVariant::Avx2 => "AVX2 and FMA",
            DwVariant::Neon | DwVariant::Aarch32Neon => "NEON",
            DwVariant::Portable => "",
        }
    }

    pub fn name(self, dtype: &str) -> String {
        let isa = match self {
            DwVariant::Avx512 => "avx512",
            DwVariant::Avx2 => "avx2",
            DwVariant::Neon => "neon",
            DwVariant::Aarch32Neon => "aarch32-neon",
            DwVariant::Portable => "portable",
        };
        format!("{dtype}-dwconv3x3-{isa}")
    }
}

/// One tap's channel loop, `o[i] += x[i] * k[i]`.
#[inline(always)]
pub(crate) fn mac_f32(neon32: bool, o: &mut [f32], x: &[f32], k: &[f32]) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "arm")]
    if neon32 {
        // SAFETY: chosen only when the CPU reports NEON.
        done = unsafe { aarch32_neon::mac_f32(o, x, k) };
    }
    let _ = neon32;
    for ((o, x), k) in o[done..].iter_mut().zip(&x[done..]).zip(&k[done..]) {
        *o += x * k;
    }
}

/// One tap's channel loop, `acc[i] += (x[i] - zp) * k[i]`, exact in i32.
#[inline(always)]
pub(crate) fn mac_q8(neon32: bool, acc: &mut [i32], x: &[u8], zp: u8, k: &[i16]) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "arm")]
    if neon32 {
        // SAFETY: chosen only when the CPU reports NEON.
        done = unsafe { aarch32_neon::mac_q8(acc, x, zp, k) };
    }
    let _ = neon32;
    let zp = i16::from(zp);
    for ((a, x), k) in acc[done..].iter_mut().zip(&x[done..]).zip(&k[done..]) {
        *a += i32::from(i16::from(*x) - zp) * i32::from(*k);
    }
}

/// `fn $name(variant, args...)`: `$body(neon32, args...)` compiled for the variant's
/// ISA; `neon32` tells the body's tap loops ([`mac_f32`], [`mac_q8`]) to use the
/// 32-bit ARM NEON assembly.
macro_rules! multiversion {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        fn $name(v: DwVariant, $($arg: $ty),*) {
            match v {
                #[cfg(target_arch = "x86_64")]
                DwVariant::Avx512 => {
                    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
                    unsafe fn f($($arg: $ty),*) { $body(false, $($arg),*) }
                    // SAFETY: chosen only when the CPU reports AVX-512F/BW.
                    unsafe { f($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                DwVariant::Avx2 => {
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn f($($arg: $ty),*) { $body(false, $($arg),*) }
                    // SAFETY: chosen only when the CPU reports AVX2 and FMA.
                    unsafe { f($($arg),*) }
                }
                // One copy of the body for both (the probe's size budget): the flag
                // is tested per tap, not per channel.
                _ => $body(matches!(v, DwVariant::Aarch32Neon), $($arg),*),
            }
        }
    };
}

pub(crate) use multiversion;
