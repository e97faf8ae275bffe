//! The scalar reference for quantized GEMM and the one requantization step every
//! variant shares (gemmlowp: Q31 multiplier, rounding right shift, zero point, clamp).

/// Output quantization: `q = clamp(zero_point + round(acc * multiplier / 2^31 / 2^shift))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requant {
    pub multiplier: i32,
    pub shift: u32,
    pub zero_point: i32,
    pub min: u8,
    pub max: u8,
}

impl Requant {
    /// From a real scale in (0, 1) (`a_scale * b_scale / c_scale`).
    pub fn from_scale(scale: f64, zero_point: u8) -> Requant {
        let scale = scale.clamp(1e-9, 0.999_999);
        let mut shift = 0u32;
        let mut s = scale;
        while s < 0.5 && shift < 31 {
            s *= 2.0;
            shift += 1;
        }
        let multiplier = ((s * (1u64 << 31) as f64).round() as i64).min(i32::MAX as i64) as i32;
        Requant {
            multiplier,
            shift,
            zero_point: i32::from(zero_point),
            min: 0,
            max: 255,
        }
    }

    #[inline]
    pub fn apply(&self, acc: i32) -> u8 {
        let x = saturating_rounding_doubling_high_mul(acc, self.multiplier);
        let y = rounding_divide_by_pot(x, self.shift);
        (y.saturating_add(self.zero_point)).clamp(i32::from(self.min), i32::from(self.max)) as u8
    }
}

#[inline]
fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge = if ab >= 0 {
        1i64 << 30
    } else {
        1 - (1i64 << 30)
    };
    ((ab + nudge) >> 31) as i32
}

#[inline]
fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    if exponent == 0 {
        return x;
    }
    let mask = (1i32 << exponent) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `c = sum_k (a - a_zp) * b + bias`, the i32 accumulators (what onnxruntime's
/// `MatMulInteger` returns, plus a bias).
#[allow(clippy::too_many_arguments)]
pub fn gemm_i32(
    m: usize,
    n: usize,
    k: usize,
    a: &[u8],
    lda: usize,
    a_zp: u8,
    b: &[i8],
    ldb: usize,
    bias: &[i32],
    c: &mut [i32],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = bias.get(j).copied().unwrap_or(0);
            for p in 0..k {
                acc += (i32::from(a[i * lda + p]) - i32::from(a_zp)) * i32::from(b[p * ldb + j]);
            }
            c[i * ldc + j] = acc;
        }
    }
}

/// `c = requant(sum_k (a - a_zp) * b + bias)`; a: u8 `m x k`, b: i8 `k x n`, c: u8 `m x n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[u8],
    lda: usize,
    a_zp: u8,
    b: &[i8],
    ldb: usize,
    bias: &[i32],
    rq: &Requant,
    c: &mut [u8],
    ldc: usize,
) {
    let mut acc = vec![0i32; m * n];
    gemm_i32(m, n, k, a, lda, a_zp, b, ldb, bias, &mut acc, n);
    for i in 0..m {
        for j in 0..n {
            c[i * ldc + j] = rq.apply(acc[i * n + j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantization_rounds_half_away_from_zero() {
        let rq = Requant::from_scale(0.5, 0);
        assert_eq!((rq.multiplier, rq.shift), (1 << 30, 0));
        let rq = Requant {
            multiplier: 1 << 30,
            shift: 1,
            zero_point: 128,
            min: 0,
            max: 255,
        };
        // acc * 0.5 / 2 = acc / 4, rounded half away from zero, plus 128.
        assert_eq!(rq.apply(10), 128 + 3);
        assert_eq!(rq.apply(-10), 128 - 3);
        assert_eq!(rq.apply(6), 128 + 2);
        assert_eq!(rq.apply(1 << 20), 255);
        assert_eq!(rq.apply(-(1 << 20)), 0);
    }
}
