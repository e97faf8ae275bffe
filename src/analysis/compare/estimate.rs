//! The statistics of one compared cell, for skewed, heavy-tailed latencies, in
//! O(n log n) so a million-device fleet is seconds:
//! - two independent samples: the ratio of medians with the Price-Bonett (2002)
//!   distribution-free interval (each median's log-scale standard error from the
//!   order statistics that bound its binomial interval), and the Mann-Whitney U test
//!   (normal approximation, tie-corrected);
//! - paired samples (the same devices in both): the median of per-device log ratios
//!   with the sign-test (order statistic) interval, and the Wilcoxon signed-rank test
//!   (normal approximation, tie-corrected, zero differences dropped);
//! - across cells: Benjamini-Hochberg q-values.

/// 97.5 % point of the standard normal: 95 % intervals.
const Z: f64 = 1.959_963_984_540_054;

/// A change and its 95 % interval, as `new / base - 1`, with a two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub change: f64,
    pub low: f64,
    pub high: f64,
    pub p: f64,
}

/// Median of sorted values.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The index `c` (0-based lower, `n-1-c` upper) of the order statistics bounding a
/// 95 % distribution-free interval for the median.
fn bound_index(n: usize) -> usize {
    let c = ((n as f64 + 1.0) / 2.0 - Z * (n as f64).sqrt() / 2.0).round() as isize - 1;
    c.clamp(0, (n as isize - 1) / 2) as usize
}

/// Standard error of ln(median): the Price-Bonett estimate from the order statistics
/// around the median, or, when larger, the one from the spread of the whole sample
/// (1.2533 x 1.4826 MAD of the logs / sqrt(n)). Two order statistics alone vary a
/// lot between samples of a few dozen: a sample with a dense centre by chance got a
/// standard error of half the true one, and a cell of one SoC a q-value of 0.01
/// between two draws of one population.
fn log_median_se(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let c = bound_index(n);
    let order = (sorted[n - 1 - c].ln() - sorted[c].ln()) / (2.0 * Z);
    let centre = median_sorted(sorted).ln();
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x.ln() - centre).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let spread = 1.2533 * 1.4826 * median_sorted(&dev) / (n as f64).sqrt();
    order.max(spread)
}

/// Two-sided p-value of a standard normal statistic.
fn two_sided(z: f64) -> f64 {
    (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0)
}

/// Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Mid-ranks of `v` sorted ascending; returns the sum over tie groups of t^3 - t.
fn ranks_sorted<T>(v: &[(f64, T)], rank: &mut Vec<f64>) -> f64 {
    rank.clear();
    rank.resize(v.len(), 0.0);
    let (mut i, mut ties) = (0, 0.0);
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for r in &mut rank[i..=j] {
            *r = mid;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    ties
}

/// Two independent samples of positive latencies (each sorted in place).
pub fn unpaired(base: &mut [f64], new: &mut [f64]) -> Estimate {
    base.sort_by(f64::total_cmp);
    new.sort_by(f64::total_cmp);
    let d = (median_sorted(new) / median_sorted(base)).ln();
    let se = (log_median_se(base).powi(2) + log_median_se(new).powi(2)).sqrt();
    // Mann-Whitney U for `new` against `base`.
    let (n1, n2) = (base.len() as f64, new.len() as f64);
    let mut all: Vec<(f64, bool)> = Vec::with_capacity(base.len() + new.len());
    all.extend(base.iter().map(|&x| (x, false)));
    all.extend(new.iter().map(|&x| (x, true)));
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank = Vec::new();
    let ties = ranks_sorted(&all, &mut rank);
    let r_new: f64 = all
        .iter()
        .zip(&rank)
        .filter(|((_, is_new), _)| *is_new)
        .map(|(_, r)| r)
        .sum();
    let u = r_new - n2 * (n2 + 1.0) / 2.0;
    let n = n1 + n2;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let z = if var > 0.0 {
        (u - n1 * n2 / 2.0) / var.sqrt()
    } else {
        0.0
    };
    Estimate {
        change: d.exp() - 1.0,
        low: (d - Z * se).exp() - 1.0,
        high: (d + Z * se).exp() - 1.0,
        p: two_sided(z),
    }
}

/// Paired positive latencies (base_i, new_i) of the same devices.
pub fn paired(pairs: &[(f64, f64)]) -> Estimate {
    let mut d: Vec<f64> = pairs.iter().map(|(b, n)| (n / b).ln()).collect();
    d.sort_by(f64::total_cmp);
    let n = d.len();
    let mid = median_sorted(&d);
    let c = bound_index(n);
    // Wilcoxon signed-rank on the non-zero differences.
    let mut abs: Vec<(f64, bool)> = d
        .iter()
        .filter(|x| **x != 0.0)
        .map(|&x| (x.abs(), x > 0.0))
        .collect();
    abs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank = Vec::new();
    let ties = ranks_sorted(&abs, &mut rank);
    let m = abs.len() as f64;
    let w_plus: f64 = abs
        .iter()
        .zip(&rank)
        .filter(|((_, pos), _)| *pos)
        .map(|(_, r)| r)
        .sum();
    let var = m * (m + 1.0) * (2.0 * m + 1.0) / 24.0 - ties / 48.0;
    let z = if var > 0.0 {
        (w_plus - m * (m + 1.0) / 4.0) / var.sqrt()
    } else {
        0.0
    };
    Estimate {
        change: mid.exp() - 1.0,
        low: d[c].exp() - 1.0,
        high: d[n - 1 - c].exp() - 1.0,
        p: two_sided(z),
    }
}

/// Fewest devices of one SoC on each side for the SoC to enter a stratified estimate.
const MIN_PER_STRATUM: usize = 20;

/// Two independent samples tagged with their stratum (the device's SoC): the
/// Price-Bonett log ratio of medians within each stratum present on both sides with
/// enough devices, combined by inverse variance (fixed effect). Two samples of one
/// population of devices differ in their SoC mix by chance, and within a core type
/// SoCs differ in clock by a third: unstratified, that mix moved every cell of a core
/// type together by 5 % between two draws of one population. `None` when the strata
/// used hold less than half the devices of either side.
pub fn stratified(base: &[(u32, f64)], new: &[(u32, f64)]) -> Option<Estimate> {
    use std::collections::HashMap;
    let split = |s: &[(u32, f64)]| {
        let mut m: HashMap<u32, Vec<f64>> = HashMap::new();
        for &(st, v) in s {
            m.entry(st).or_default().push(v);
        }
        m
    };
    let (mut a, mut b) = (split(base), split(new));
    let (mut sum_w, mut sum_wd, mut used_a, mut used_b) = (0.0, 0.0, 0, 0);
    for (st, va) in a.iter_mut() {
        let Some(vb) = b.get_mut(st) else { continue };
        if va.len() < MIN_PER_STRATUM || vb.len() < MIN_PER_STRATUM {
            continue;
        }
        va.sort_by(f64::total_cmp);
        vb.sort_by(f64::total_cmp);
        let d = (median_sorted(vb) / median_sorted(va)).ln();
        let var = (log_median_se(va).powi(2) + log_median_se(vb).powi(2)).max(1e-12);
        sum_w += 1.0 / var;
        sum_wd += d / var;
        used_a += va.len();
        used_b += vb.len();
    }
    if sum_w == 0.0 || 2 * used_a < base.len() || 2 * used_b < new.len() {
        return None;
    }
    let d = sum_wd / sum_w;
    let se = (1.0 / sum_w).sqrt();
    Some(Estimate {
        change: d.exp() - 1.0,
        low: (d - Z * se).exp() - 1.0,
        high: (d + Z * se).exp() - 1.0,
        p: two_sided(d / se),
    })
}

/// Benjamini-Hochberg q-values of `p`, in the same order.
pub fn bh(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    /// Log-normal latencies around `median`.
    fn sample(rng: &mut Rng, n: usize, median: f64, sigma: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                // Box-Muller from two uniforms.
                let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                median * (sigma * z).exp()
            })
            .collect()
    }

    #[test]
    fn the_normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
        assert!((two_sided(1.959_964) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn a_known_shift_is_found_inside_its_interval() {
        let mut rng = Rng::new(7);
        let mut base = sample(&mut rng, 4000, 100.0, 0.3);
        let mut new = sample(&mut rng, 3000, 108.0, 0.3);
        let e = unpaired(&mut base, &mut new);
        assert!(e.low < 0.08 && 0.08 < e.high, "{e:?}");
        assert!((e.change - 0.08).abs() < 0.03, "{e:?}");
        assert!(e.p < 1e-6, "{e:?}");
    }

    #[test]
    fn no_change_is_rarely_significant_and_covered() {
        let mut rng = Rng::new(11);
        let (mut significant, mut covered) = (0, 0);
        for _ in 0..400 {
            let mut a = sample(&mut rng, 200, 50.0, 0.5);
            let mut b = sample(&mut rng, 150, 50.0, 0.5);
            let e = unpaired(&mut a, &mut b);
            significant += usize::from(e.p < 0.05);
            covered += usize::from(e.low <= 0.0 && 0.0 <= e.high);
        }
        // 5 % expected; 400 draws put 95 % of outcomes within about 2.8-7.5 %.
        assert!(significant <= 32, "{significant} of 400 significant at 5 %");
        assert!(covered >= 360, "{covered} of 400 intervals cover 0");
    }

    #[test]
    fn paired_differences_are_found_through_device_spread() {
        let mut rng = Rng::new(3);
        // Devices differ by 3x; the change is +5 % with 2 % run-to-run noise.
        let devices = sample(&mut rng, 60, 100.0, 0.6);
        let noise = sample(&mut rng, 120, 1.0, 0.02);
        let pairs: Vec<(f64, f64)> = devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d * noise[2 * i], d * 1.05 * noise[2 * i + 1]))
            .collect();
        let e = paired(&pairs);
        assert!(e.low < 0.05 && 0.05 < e.high && e.p < 1e-4, "{e:?}");
        let same: Vec<(f64, f64)> = devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d * noise[2 * i], d * noise[2 * i + 1]))
            .collect();
        let e = paired(&same);
        assert!(e.low <= 0.0 && 0.0 <= e.high && e.p > 0.01, "{e:?}");
    }

    #[test]
    fn bh_matches_the_textbook_example() {
        // Benjamini & Hochberg (1995), the first p-values of their example.
        let p = [
            0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
        ];
        let q = bh(&p);
        assert!((q[0] - 0.001).abs() < 1e-12);
        assert!((q[3] - 0.02375).abs() < 1e-12);
        assert!((q[8] - 0.0459 * 10.0 / 9.0).abs() < 1e-9, "{q:?}");
        assert!(q.windows(2).all(|w| w[0] <= w[1]));
        let shuffled = bh(&[0.0459, 0.0001, 0.3240]);
        assert!((shuffled[1] - 0.0003).abs() < 1e-12 && shuffled[2] == 0.324);
    }
}
