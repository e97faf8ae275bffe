//! A small deterministic generator (xorshift64), so a test case, a simulated input or
//! a back-off delay is reproducible from its seed. Not for secrets: see `entropy`.

/// xorshift64 over a non-zero state.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A value in [-1, 1] in steps of 1/1000.
    pub fn f32(&mut self) -> f32 {
        (self.below(2001) as f32 - 1000.0) / 1000.0
    }
    pub fn f32s(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.f32()).collect()
    }
    pub fn i8_in(&mut self, lo: i32, hi: i32) -> i8 {
        (lo + self.below((hi - lo + 1) as u64) as i32) as i8
    }
    /// A value in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_seed_same_sequence_and_ranges_hold() {
        let (mut a, mut b) = (super::Rng::new(7), super::Rng::new(7));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let x = a.i8_in(-64, 63);
            assert!((-64..=63).contains(&x));
            let u = a.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(a.f32().abs() <= 1.0);
            b.i8_in(-64, 63);
            b.unit();
            b.f32();
        }
        assert_ne!(super::Rng::new(7).next_u64(), super::Rng::new(8).next_u64());
    }
}
