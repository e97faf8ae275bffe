//! A known slowdown, injected on purpose: how a lab checks that its A/B setup
//! (`fleetscope run` with two probe dirs, then `compare --by device`) finds a change
//! of a given size on its own phones. `FLEETSCOPE_PROBE_SLOWDOWN=KERNEL[/DTYPE]=PCT`
//! (comma-separated for several) makes each timed call of the matching kernels PCT
//! percent longer by spinning after it; the report says so in its `errors`.

use crate::schema::Dtype;
use std::time::Instant;

/// The environment variable that asks for a slowdown.
pub const SLOWDOWN_ENV: &str = "FLEETSCOPE_PROBE_SLOWDOWN";

/// Kernels to slow down: (kernel, dtype or any, extra fraction).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slowdown(Vec<(String, Option<Dtype>, f64)>);

impl Slowdown {
    /// From `FLEETSCOPE_PROBE_SLOWDOWN`; none when it is unset.
    pub fn from_env() -> Result<Slowdown, String> {
        match std::env::var(SLOWDOWN_ENV) {
            Ok(s) => Slowdown::parse(&s).map_err(|e| format!("{SLOWDOWN_ENV}: {e}")),
            Err(_) => Ok(Slowdown::default()),
        }
    }

    /// `gemm/f32=5,dwconv3x3=10`: kernel, optional dtype, percent (0 to 1000).
    pub fn parse(spec: &str) -> Result<Slowdown, String> {
        let mut out = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (what, pct) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: write KERNEL[/DTYPE]=PCT, e.g. gemm/f32=5"))?;
            let pct: f64 = pct
                .trim()
                .trim_start_matches('+')
                .trim_end_matches('%')
                .parse()
                .map_err(|_| format!("{part:?}: the percentage is not a number"))?;
            if !(0.0..=1000.0).contains(&pct) {
                return Err(format!("{part:?}: the percentage must be 0 to 1000"));
            }
            let (kernel, dtype) = match what.split_once('/') {
                Some((k, d)) => {
                    let dtype = Dtype::parse(d.trim())
                        .ok_or_else(|| format!("{part:?}: dtype {d:?} is not f32, f16 or i8"))?;
                    (k.trim(), Some(dtype))
                }
                None => (what.trim(), None),
            };
            if kernel.is_empty() {
                return Err(format!("{part:?}: name the kernel"));
            }
            out.push((kernel.to_string(), dtype, pct / 100.0));
        }
        Ok(Slowdown(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The extra fraction for a kernel and dtype (0 when it is not slowed down).
    pub fn extra(&self, kernel: &str, dtype: Dtype) -> f64 {
        self.0
            .iter()
            .filter(|(k, d, _)| k == kernel && d.is_none_or(|d| d == dtype))
            .map(|(_, _, x)| x)
            .sum()
    }

    /// What the report says about it.
    pub fn describe(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(k, d, x)| {
                let d = d.map(|d| format!("/{}", d.as_str())).unwrap_or_default();
                format!("{k}{d} +{}%", x * 100.0)
            })
            .collect();
        format!(
            "slowdown injected on purpose ({SLOWDOWN_ENV}): {}; these latencies are not the device's own",
            items.join(", ")
        )
    }
}

/// Run `f`, then spin until it has taken `1 + extra` times as long. Each turn of the
/// spin reads the clock, so it overshoots by up to one read (tens of nanoseconds on a
/// phone; a microsecond or two under an emulator, where a read is a syscall).
pub fn stretched(extra: f64, f: impl FnOnce()) {
    if extra <= 0.0 {
        return f();
    }
    let start = Instant::now();
    f();
    let until = start + start.elapsed().mul_f64(1.0 + extra);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_kernels_dtypes_and_percentages() {
        let s = Slowdown::parse("gemm/f32=5, dwconv3x3=+10%").unwrap();
        assert_eq!(s.extra("gemm", Dtype::F32), 0.05);
        assert_eq!(s.extra("gemm", Dtype::I8), 0.0);
        assert_eq!(s.extra("dwconv3x3", Dtype::I8), 0.10);
        assert!(Slowdown::parse("gemm").unwrap_err().contains("KERNEL"));
        assert!(Slowdown::parse("gemm/f64=5").unwrap_err().contains("dtype"));
        assert!(Slowdown::parse("gemm=-3").is_err());
        assert!(Slowdown::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_stretched_call_takes_the_asked_share_longer() {
        let took = |extra| {
            let t = Instant::now();
            stretched(extra, || std::thread::sleep(Duration::from_millis(20)));
            t.elapsed()
        };
        // The call itself sleeps 20 ms, so half as long again is at least 30 ms.
        assert!(took(0.5) >= Duration::from_millis(30));
    }
}
