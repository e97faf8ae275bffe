//! Vectorised requantization of a row of accumulators, bit-exact with
//! [`super::Requant::apply`] (gemmlowp semantics), with a scalar fallback.

use super::Requant;

/// `out[j] = rq.apply(acc[j] + bias[j])` for `out.len()` columns.
pub fn requantize_row(acc: &[i32], bias: &[i32], rq: &Requant, out: &mut [u8]) {
    let n = out.len();
    #[allow(unused_mut)]
    let mut j = 0;
    #[cfg(target_arch = "x86_64")]
    if rq.multiplier >= 0 && std::is_x86_feature_detected!("avx512bw") {
        // SAFETY: AVX-512F/BW present; 16 values read at j < n - 15.
        while j + 16 <= n {
            unsafe {
                avx512::requant16(
                    acc.as_ptr().add(j),
                    bias.as_ptr().add(j),
                    rq,
                    out.as_mut_ptr().add(j),
                )
            };
            j += 16;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if rq.multiplier >= 0 && std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present; each call reads 8 values from acc and bias at j < n - 7.
        while j + 8 <= n {
            unsafe {
                avx2::requant8(
                    acc.as_ptr().add(j),
                    bias.as_ptr().add(j),
                    rq,
                    out.as_mut_ptr().add(j),
                )
            };
            j += 8;
        }
    }
    for c in j..n {
        out[c] = rq.apply(acc[c].wrapping_add(bias[c]));
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Requant;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2; 8 readable i32 at `acc` and `bias`, 8 writable bytes at `out`; multiplier >= 0.
    #[target_feature(enable = "avx2")]
    pub unsafe fn requant8(acc: *const i32, bias: *const i32, rq: &Requant, out: *mut u8) {
        let x = _mm256_add_epi32(
            _mm256_loadu_si256(acc as *const __m256i),
            _mm256_loadu_si256(bias as *const __m256i),
        );
        let m = _mm256_set1_epi64x(i64::from(rq.multiplier));
        // 64-bit products of even and odd lanes.
        let even = _mm256_mul_epi32(x, m);
        let odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), m);
        // Round half away from zero: nudge 2^30 for p >= 0, 1 - 2^30 for p < 0.
        let pos = _mm256_set1_epi64x(1 << 30);
        let neg = _mm256_set1_epi64x(1 - (1 << 30));
        let zero = _mm256_setzero_si256();
        let even = _mm256_add_epi64(
            even,
            _mm256_blendv_epi8(pos, neg, _mm256_cmpgt_epi64(zero, even)),
        );
        let odd = _mm256_add_epi64(
            odd,
            _mm256_blendv_epi8(pos, neg, _mm256_cmpgt_epi64(zero, odd)),
        );
        // Bits 31..62 of each product: the low 32 bits of a 64-bit shift by 31.
        let even = _mm256_srli_epi64(even, 31);
        let odd = _mm256_slli_epi64(_mm256_srli_epi64(odd, 31), 32);
        let mut y = _mm256_blend_epi32(even, odd, 0b1010_1010);
        // gemmlowp's int32 overflow case: both operands INT32_MIN (never with m >= 0).
        if rq.shift > 0 {
            let mask = _mm256_set1_epi32(((1i64 << rq.shift) - 1) as i32);
            let remainder = _mm256_and_si256(y, mask);
            let threshold =
                _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_cmpgt_epi32(zero, y));
            let count = _mm_cvtsi32_si128(rq.shift as i32);
            y = _mm256_sub_epi32(
                _mm256_sra_epi32(y, count),
                _mm256_cmpgt_epi32(remainder, threshold),
            );
        }
        y = _mm256_add_epi32(y, _mm256_set1_epi32(rq.zero_point));
        y = _mm256_max_epi32(y, _mm256_set1_epi32(i32::from(rq.min)));
        y = _mm256_min_epi32(y, _mm256_set1_epi32(i32::from(rq.max)));
        let w = _mm256_packs_epi32(y, y);
        let b = _mm256_packus_epi16(w, w);
        std::ptr::write_unaligned(out as *mut i32, _mm256_extract_epi32(b, 0));
        std::ptr::write_unaligned(out.add(4) as *mut i32, _mm256_extract_epi32(b, 4));
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    use super::Requant;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512F/BW; 16 readable i32 at `acc` and `bias`, 16 writable bytes; multiplier >= 0.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn requant16(acc: *const i32, bias: *const i32, rq: &Requant, out: *mut u8) {
        let x = _mm512_add_epi32(
            _mm512_loadu_si512(acc as *const _),
            _mm512_loadu_si512(bias as *const _),
        );
        _mm_storeu_si128(out as *mut __m128i, requant16_reg(x, rq));
    }

    /// Requantize 16 accumulators (bias already added) held in a register.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    pub unsafe fn requant16_reg(x: __m512i, rq: &Requant) -> __m128i {
        let m = _mm512_set1_epi64(i64::from(rq.multiplier));
        let even = _mm512_mul_epi32(x, m);
        let odd = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), m);
        let (pos, neg) = (_mm512_set1_epi64(1 << 30), _mm512_set1_epi64(1 - (1 << 30)));
        let zero = _mm512_setzero_si512();
        let even = _mm512_add_epi64(
            even,
            _mm512_mask_blend_epi64(_mm512_cmplt_epi64_mask(even, zero), pos, neg),
        );
        let odd = _mm512_add_epi64(
            odd,
            _mm512_mask_blend_epi64(_mm512_cmplt_epi64_mask(odd, zero), pos, neg),
        );
        let even = _mm512_srli_epi64(even, 31);
        let odd = _mm512_slli_epi64(_mm512_srli_epi64(odd, 31), 32);
        let mut y = _mm512_mask_blend_epi32(0xAAAA, even, odd);
        if rq.shift > 0 {
            let mask = _mm512_set1_epi32(((1i64 << rq.shift) - 1) as i32);
            let remainder = _mm512_and_si512(y, mask);
            let negative = _mm512_cmplt_epi32_mask(y, zero);
            let threshold = _mm512_mask_add_epi32(
                _mm512_srli_epi32(mask, 1),
                negative,
                _mm512_srli_epi32(mask, 1),
                _mm512_set1_epi32(1),
            );
            let round_up = _mm512_cmpgt_epi32_mask(remainder, threshold);
            y = _mm512_sra_epi32(y, _mm_cvtsi32_si128(rq.shift as i32));
            y = _mm512_mask_add_epi32(y, round_up, y, _mm512_set1_epi32(1));
        }
        y = _mm512_add_epi32(y, _mm512_set1_epi32(rq.zero_point));
        y = _mm512_max_epi32(y, _mm512_set1_epi32(i32::from(rq.min)));
        y = _mm512_min_epi32(y, _mm512_set1_epi32(i32::from(rq.max)));
        _mm512_cvtepi32_epi8(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    #[test]
    fn vector_requantization_is_bit_exact() {
        let mut r = Rng::new(3);
        for case in 0..2000 {
            let n = 1 + r.below(40) as usize;
            let acc: Vec<i32> = (0..n)
                .map(|i| match (case + i) % 7 {
                    0 => i32::MAX - r.below(3) as i32,
                    1 => i32::MIN + r.below(3) as i32,
                    _ => r.next_u64() as i32 >> r.below(24),
                })
                .collect();
            let bias: Vec<i32> = (0..n).map(|_| (r.below(2001) as i32) - 1000).collect();
            let mut rq =
                Requant::from_scale(1.0 / (1.0 + r.below(1 << 20) as f64), r.below(256) as u8);
            rq.min = r.below(64) as u8;
            rq.max = 192 + r.below(64) as u8;
            let mut got = vec![0u8; n];
            requantize_row(&acc, &bias, &rq, &mut got);
            let want: Vec<u8> = (0..n)
                .map(|j| rq.apply(acc[j].wrapping_add(bias[j])))
                .collect();
            assert_eq!(got, want, "case {case}: {rq:?}");
        }
    }
}
