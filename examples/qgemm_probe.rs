use fleetscope::probe::bench::{measure, pin_current_thread, summarise, Plan};
use fleetscope::probe::kernels::{qs8_gemm, Isa};
use std::time::Duration;
fn main() {
    pin_current_thread(&[1]).unwrap();
    let isa = Isa::detect();
    let plan = Plan {
        warmup: 5,
        min_samples: 20,
        min_time: Duration::from_millis(400),
        max_time: Duration::from_secs(3),
    };
    for &(m, n, k) in &[
        (512, 512, 512),
        (12544, 32, 16),
        (784, 128, 128),
        (196, 256, 256),
    ] {
        let a: Vec<u8> = (0..m * k).map(|i| (i * 7 % 251) as u8).collect();
        let b: Vec<i8> = (0..k * n)
            .map(|i| ((i * 5 % 128) as i32 - 64) as i8)
            .collect();
        let bias = vec![0i32; n];
        let mut c = vec![0u8; m * n];
        let q = qs8_gemm::QParams {
            a_zero_point: 128,
            bias: &bias,
            requant: qs8_gemm::Requant::from_scale(1.0 / 4096.0, 128),
        };
        for v in qs8_gemm::variants()
            .into_iter()
            .filter(|v| v.supported(&isa))
        {
            let pb = qs8_gemm::PackedQB::new(k, n, &b, n, &v);
            let s = summarise(&measure(&plan, || {
                qs8_gemm::gemm(&v, m, &a, k, &pb, &q, &mut c, n)
            }))
            .unwrap();
            println!(
                "{m}x{n}x{k} {:30} {:7.1} GOPS cv {:.3}",
                v.name,
                2.0 * (m * n * k) as f64 / s.p50 / 1e3,
                s.cv
            );
        }
    }
}
