//! Latency statistics: min, p10, p50, p90, p99, max, mean, stddev, MAD and CV, with
//! percentiles by linear interpolation (numpy's default). Never rounded.

use crate::schema::LatencyStats;

/// Statistics of `samples` (any unit). `None` for an empty slice.
pub fn summarise(samples: &[f64]) -> Option<LatencyStats> {
    if samples.is_empty() {
        return None;
    }
    let mut s: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    let mean = s.iter().sum::<f64>() / n;
    let var = if s.len() > 1 {
        s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let stddev = var.sqrt();
    let p50 = percentile(&s, 50.0);
    let mut dev: Vec<f64> = s.iter().map(|x| (x - p50).abs()).collect();
    dev.sort_by(f64::total_cmp);
    Some(LatencyStats {
        min: s[0],
        p10: percentile(&s, 10.0),
        p50,
        p90: percentile(&s, 90.0),
        p99: percentile(&s, 99.0),
        max: s[s.len() - 1],
        mean,
        stddev,
        mad: percentile(&dev, 50.0),
        cv: if mean > 0.0 { stddev / mean } else { 0.0 },
    })
}

/// Percentile `q` (0-100) of sorted data, linear interpolation between closest ranks.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear_interpolation() {
        // numpy.percentile([1, 2, 3, 4, 10], [10, 50, 90, 99]) = [1.4, 3.0, 7.6, 9.76]
        let s = summarise(&[4.0, 1.0, 10.0, 3.0, 2.0]).unwrap();
        assert!((s.p10 - 1.4).abs() < 1e-12 && (s.p50 - 3.0).abs() < 1e-12);
        assert!((s.p90 - 7.6).abs() < 1e-12 && (s.p99 - 9.76).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.mean), (1.0, 10.0, 4.0));
        // sample stddev (ddof=1) of [1,2,3,4,10] = 3.5355...; MAD = median(|x-3|) = 1
        assert!((s.stddev - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.mad, 1.0);
        assert!((s.cv - 12.5f64.sqrt() / 4.0).abs() < 1e-12);
        assert!(summarise(&[]).is_none());
        assert_eq!(summarise(&[7.0]).unwrap().stddev, 0.0);
    }
}
