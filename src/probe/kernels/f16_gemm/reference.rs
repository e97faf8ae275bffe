//! The scalar reference every f16 GEMM variant is tested against: one fused
//! multiply-add per step, rounded to f16, in k order, as FP16 FMLA accumulates.

use half::f16;

/// `c[m x n] = a[m x k] * b[k x n]`, all row-major with the given leading dimensions.
///
/// Each step is `acc = round_f16(acc + a * b)` computed in f64. The product of two f16
/// values is exact in f64, and so is the sum whenever it spans at most 53 bits (true
/// for the self-test's data), so the result is then bit-identical to a fused f16 FMA.
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f16],
    lda: usize,
    b: &[f16],
    ldb: usize,
    c: &mut [f16],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = f16::ZERO;
            for p in 0..k {
                let prod = a[i * lda + p].to_f64() * b[p * ldb + j].to_f64();
                acc = round_to_f16(acc.to_f64() + prod);
            }
            c[i * ldc + j] = acc;
        }
    }
}

/// `x` rounded to the nearest f16, ties to even. (`half`'s software `from_f64` drops
/// the low 32 bits of the significand before rounding, so it misrounds values just
/// above a tie: exactly the sums a long accumulation produces.)
pub fn round_to_f16(x: f64) -> f16 {
    if !x.is_normal() {
        return f16::from_f64(x); // zero, NaN, infinities; f64 subnormals round to zero
    }
    // The f16 ulp at this magnitude (2^-24 throughout the subnormal range); scaling by
    // a power of two is exact, so the only rounding is round_ties_even.
    let exp = ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let ulp = 2f64.powi(exp.max(-14) - 10);
    f16::from_f64((x / ulp).round_ties_even() * ulp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_is_one_fused_multiply_add_rounded_to_f16() {
        // 2048 + 1 is not representable in f16 (11-bit significand): the sum stays 2048,
        // where an f32 accumulator would reach 2050 after two steps.
        let a = [f16::from_f32(2048.0), f16::ONE, f16::ONE];
        let b = [f16::ONE, f16::ONE, f16::ONE];
        let mut c = [f16::ZERO];
        gemm(1, 1, 3, &a, 3, &b, 1, &mut c, 1);
        assert_eq!(c[0].to_f32(), 2048.0);
        // Fused: -1 + (1 + 2^-10)(1 + 3 * 2^-10) = 2^-8 + 3 * 2^-20 rounds to 2^-8 + 2^-18;
        // rounding the product to f16 first would lose the 3 * 2^-20 and give 2^-8.
        let a = [f16::from_f32(-1.0), f16::from_f32(1.0 + 1.0 / 1024.0)];
        let b = [f16::ONE, f16::from_f32(1.0 + 3.0 / 1024.0)];
        gemm(1, 1, 2, &a, 2, &b, 1, &mut c, 1);
        assert_eq!(c[0].to_f64(), 2f64.powi(-8) + 2f64.powi(-18));
    }

    #[test]
    fn rounding_to_f16_is_to_nearest_even_and_sees_every_bit() {
        // Just above the tie between 1 and 1 + 2^-10, by 2^-40: rounds up.
        assert_eq!(
            round_to_f16(1.0 + 2f64.powi(-11) + 2f64.powi(-40)).to_f64(),
            1.0 + 2f64.powi(-10)
        );
        // Exactly on ties: to the even neighbour.
        assert_eq!(round_to_f16(1.0 + 2f64.powi(-11)).to_f64(), 1.0);
        assert_eq!(
            round_to_f16(1.0 + 3.0 * 2f64.powi(-11)).to_f64(),
            1.0 + 2f64.powi(-9)
        );
        // Subnormals (ulp 2^-24), overflow to infinity from 65520, signs kept.
        assert_eq!(
            round_to_f16(3.4 * 2f64.powi(-24)).to_f64(),
            3.0 * 2f64.powi(-24)
        );
        assert_eq!(round_to_f16(-65519.0).to_f64(), -65504.0);
        assert!(round_to_f16(65520.0).is_infinite());
        // Agrees with half wherever half is exact (values already on the f16 grid).
        for bits in (0u16..0x7c00).step_by(97) {
            let h = f16::from_bits(bits);
            assert_eq!(round_to_f16(h.to_f64()).to_bits(), bits);
            assert_eq!(round_to_f16(-h.to_f64()).to_bits(), bits | 0x8000);
        }
    }
}
