//! Independent accumulator chains, enough to cover FMA latency x throughput, so the
//! loop is bound by the FMA (or dot) units alone.

use super::super::isa::Isa;
use std::hint::black_box;

/// Which instruction a peak loop exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeakVariant {
    Avx512,
    Avx2,
    Avx512Vnni,
    Avx2Maddubs,
    Neon,
    Aarch32NeonVmla,
    NeonDot,
    Scalar,
}

impl PeakVariant {
    pub fn name(self) -> &'static str {
        match self {
            PeakVariant::Avx512 => "avx512-fma",
            PeakVariant::Avx2 => "avx2-fma",
            PeakVariant::Avx512Vnni => "avx512vnni-vpdpbusd",
            PeakVariant::Avx2Maddubs => "avx2-vpmaddubsw",
            PeakVariant::Neon => "neon-fmla",
            PeakVariant::Aarch32NeonVmla => "aarch32-neon-vmla",
            PeakVariant::NeonDot => "neondot-sdot",
            PeakVariant::Scalar => "scalar",
        }
    }
}

/// Run the best f32 FMA loop for `iters` iterations; returns (flops, variant).
pub fn peak_fma_f32(isa: &Isa, iters: usize) -> (u64, PeakVariant) {
    #[cfg(target_arch = "x86_64")]
    {
        if isa.avx512f {
            // SAFETY: the CPU supports AVX-512F.
            return (unsafe { x86::fma_avx512(iters) }, PeakVariant::Avx512);
        }
        if isa.avx2_fma {
            // SAFETY: the CPU supports AVX2 and FMA.
            return (unsafe { x86::fma_avx2(iters) }, PeakVariant::Avx2);
        }
    }
    #[cfg(target_arch = "aarch64")]
    if isa.neon {
        // SAFETY: NEON is present.
        return (unsafe { arm::fma_neon(iters) }, PeakVariant::Neon);
    }
    #[cfg(target_arch = "arm")]
    if isa.neon {
        // SAFETY: the CPU reports NEON.
        return (
            unsafe { aarch32::vmla_neon(iters) },
            PeakVariant::Aarch32NeonVmla,
        );
    }
    let _ = isa;
    (scalar_fma(iters), PeakVariant::Scalar)
}

/// Run the best int8 dot loop; returns (int8 multiply-add ops counted as 2, variant).
pub fn peak_dot_i8(isa: &Isa, iters: usize) -> (u64, PeakVariant) {
    #[cfg(target_arch = "x86_64")]
    {
        if isa.avx512vnni {
            // SAFETY: the CPU supports AVX-512 VNNI and BW.
            return (unsafe { x86::dot_vnni(iters) }, PeakVariant::Avx512Vnni);
        }
        if isa.avx2_fma {
            // SAFETY: the CPU supports AVX2.
            return (unsafe { x86::dot_maddubs(iters) }, PeakVariant::Avx2Maddubs);
        }
    }
    #[cfg(target_arch = "aarch64")]
    if isa.dotprod {
        // SAFETY: the CPU supports the dot-product extension.
        return (unsafe { arm::dot_sdot(iters) }, PeakVariant::NeonDot);
    }
    let _ = isa;
    (scalar_dot(iters), PeakVariant::Scalar)
}

fn scalar_fma(iters: usize) -> u64 {
    let mut acc = [1.0f32; 8];
    let (x, y) = (black_box(0.999_999f32), black_box(1e-7f32));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = a.mul_add(x, y);
        }
    }
    black_box(acc);
    iters as u64 * 8 * 2
}

fn scalar_dot(iters: usize) -> u64 {
    let mut acc = [0i32; 8];
    let (x, y) = (black_box(3i8), black_box(-5i8));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = a.wrapping_add(i32::from(x) * i32::from(y));
        }
    }
    black_box(acc);
    iters as u64 * 8 * 2
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iters: usize) -> u64 {
        let x = _mm256_set1_ps(black_box(0.999_999));
        let y = _mm256_set1_ps(black_box(1e-7));
        let mut a = [_mm256_set1_ps(1.0); 12];
        for _ in 0..iters {
            for v in a.iter_mut() {
                *v = _mm256_fmadd_ps(*v, x, y);
            }
        }
        black_box(a);
        iters as u64 * 12 * 8 * 2
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(iters: usize) -> u64 {
        let x = _mm512_set1_ps(black_box(0.999_999));
        let y = _mm512_set1_ps(black_box(1e-7));
        let mut a = [_mm512_set1_ps(1.0); 12];
        for _ in 0..iters {
            for v in a.iter_mut() {
                *v = _mm512_fmadd_ps(*v, x, y);
            }
        }
        black_box(a);
        iters as u64 * 12 * 16 * 2
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dot_vnni(iters: usize) -> u64 {
        let x = _mm512_set1_epi8(black_box(3));
        let y = _mm512_set1_epi8(black_box(-5));
        let mut a = [_mm512_setzero_si512(); 12];
        for _ in 0..iters {
            for v in a.iter_mut() {
                *v = _mm512_dpbusd_epi32(*v, x, y);
            }
        }
        black_box(a);
        iters as u64 * 12 * 64 * 2
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_maddubs(iters: usize) -> u64 {
        let x = _mm256_set1_epi8(black_box(3));
        let y = _mm256_set1_epi8(black_box(-5));
        let ones = _mm256_set1_epi16(1);
        let mut a = [_mm256_setzero_si256(); 8];
        for _ in 0..iters {
            for v in a.iter_mut() {
                let p = _mm256_maddubs_epi16(x, y);
                *v = _mm256_add_epi32(*v, _mm256_madd_epi16(p, ones));
            }
        }
        black_box(a);
        iters as u64 * 8 * 32 * 2
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use std::arch::aarch64::*;
    use std::hint::black_box;

    #[target_feature(enable = "neon")]
    pub unsafe fn fma_neon(iters: usize) -> u64 {
        let x = vdupq_n_f32(black_box(0.999_999));
        let y = vdupq_n_f32(black_box(1e-7));
        let mut a = [vdupq_n_f32(1.0); 16];
        for _ in 0..iters {
            for v in a.iter_mut() {
                *v = vfmaq_f32(y, *v, x);
            }
        }
        black_box(a);
        iters as u64 * 16 * 4 * 2
    }

    #[target_feature(enable = "neon,dotprod")]
    pub unsafe fn dot_sdot(iters: usize) -> u64 {
        let x = vdupq_n_s8(black_box(3));
        let y = vdupq_n_s8(black_box(-5));
        let mut a = [vdupq_n_s32(0); 16];
        for _ in 0..iters {
            for v in a.iter_mut() {
                std::arch::asm!("sdot {acc:v}.4s, {x:v}.16b, {y:v}.16b", acc = inout(vreg) *v, x = in(vreg) x, y = in(vreg) y, options(pure, nomem, nostack));
            }
        }
        black_box(a);
        iters as u64 * 16 * 16 * 2
    }
}

/// 32-bit ARM: `vmla.f32` (ARMv7 has no fused multiply-add by scalar, and its GEMM
/// kernel uses this instruction) into twelve independent q accumulators.
#[cfg(target_arch = "arm")]
mod aarch32 {
    /// # Safety
    /// The CPU must support NEON.
    pub unsafe fn vmla_neon(iters: usize) -> u64 {
        if iters == 0 {
            return 0;
        }
        std::arch::asm!(
            ".fpu neon",
            "vmov.f32 q12, #1.0",
            "vmov.f32 q13, #0.5",
            "vmov.i32 q0, #0",
            "vmov.i32 q1, #0",
            "vmov.i32 q2, #0",
            "vmov.i32 q3, #0",
            "vmov.i32 q4, #0",
            "vmov.i32 q5, #0",
            "vmov.i32 q6, #0",
            "vmov.i32 q7, #0",
            "vmov.i32 q8, #0",
            "vmov.i32 q9, #0",
            "vmov.i32 q10, #0",
            "vmov.i32 q11, #0",
            "1:",
            "vmla.f32 q0, q12, q13",
            "vmla.f32 q1, q12, q13",
            "vmla.f32 q2, q12, q13",
            "vmla.f32 q3, q12, q13",
            "vmla.f32 q4, q12, q13",
            "vmla.f32 q5, q12, q13",
            "vmla.f32 q6, q12, q13",
            "vmla.f32 q7, q12, q13",
            "vmla.f32 q8, q12, q13",
            "vmla.f32 q9, q12, q13",
            "vmla.f32 q10, q12, q13",
            "vmla.f32 q11, q12, q13",
            "subs {n}, {n}, #1",
            "bne 1b",
            n = inout(reg) iters => _,
            // As d registers so the callee-saved d8-d15 are saved; d16-d31 are NEON's own.
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            options(nostack, nomem),
        );
        iters as u64 * 12 * 4 * 2
    }
}
