use fleetscope::probe::bench::{measure, pin_current_thread, summarise, Plan};
use fleetscope::probe::kernels::{f32_gemm, roofline, Isa};
use std::time::Duration;
fn main() {
    pin_current_thread(&[1]).unwrap();
    let isa = Isa::detect();
    let plan = Plan {
        warmup: 5,
        min_samples: 20,
        min_time: Duration::from_millis(500),
        max_time: Duration::from_secs(3),
    };
    let mut fl = 0;
    let mut var = None;
    let s = summarise(&measure(&plan, || {
        let (f, v) = roofline::peak_fma_f32(&isa, 200_000);
        fl = f;
        var = Some(v);
    }))
    .unwrap();
    let peak = fl as f64 / s.p50 / 1e3;
    println!("peak fma {:?}: {:.1} GFLOPS (cv {:.3})", var, peak, s.cv);
    let (fl2, v2) = roofline::peak_dot_i8(&isa, 200_000);
    let s2 = summarise(&measure(&plan, || {
        roofline::peak_dot_i8(&isa, 200_000);
    }))
    .unwrap();
    println!("peak dot {:?}: {:.1} GOPS", v2, fl2 as f64 / s2.p50 / 1e3);
    for &(m, n, k) in &[
        (512, 512, 512),
        (12544, 32, 16),
        (3136, 64, 32),
        (784, 128, 128),
        (196, 256, 256),
        (49, 1024, 1024),
    ] {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32) * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32) * 0.1).collect();
        let mut c = vec![0f32; m * n];
        for v in f32_gemm::variants()
            .into_iter()
            .filter(|v| v.supported(&isa))
        {
            let pb = f32_gemm::PackedB::new(k, n, &b, n, v.nr);
            let s = summarise(&measure(&plan, || {
                f32_gemm::gemm(&v, m, &a, k, &pb, &mut c, n)
            }))
            .unwrap();
            let g = 2.0 * (m * n * k) as f64 / s.p50 / 1e3;
            println!(
                "{m}x{n}x{k} {:24} {:7.1} GFLOPS  {:5.1}% of peak  cv {:.3}",
                v.name,
                g,
                100.0 * g / peak,
                s.cv
            );
        }
    }
}
