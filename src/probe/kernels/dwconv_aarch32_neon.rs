//! 32-bit ARM NEON channel loops of a depthwise tap, in inline assembly (Rust's 32-bit
//! NEON intrinsics are unstable). Each returns how many leading elements it did; the
//! caller finishes the rest.

/// `o[i] += x[i] * k[i]` for the leading multiple of eight (`vmla.f32`, unfused as the
/// portable loop).
///
/// # Safety
/// The CPU must support NEON.
pub unsafe fn mac_f32(o: &mut [f32], x: &[f32], k: &[f32]) -> usize {
    let n = o.len().min(x.len()).min(k.len()) / 8 * 8;
    if n == 0 {
        return 0;
    }
    // SAFETY: the three slices hold at least n elements.
    std::arch::asm!(
        ".fpu neon",
        "1:",
        "vld1.32 {{d0-d3}}, [{x}]!",
        "vld1.32 {{d4-d7}}, [{k}]!",
        "vld1.32 {{d16-d19}}, [{o}]",
        "vmla.f32 q8, q0, q2",
        "vmla.f32 q9, q1, q3",
        "subs {n}, {n}, #8",
        "vst1.32 {{d16-d19}}, [{o}]!",
        "bne 1b",
        n = inout(reg) n => _,
        x = inout(reg) x.as_ptr() => _,
        k = inout(reg) k.as_ptr() => _,
        o = inout(reg) o.as_mut_ptr() => _,
        // d16-d19 (q8, q9) exist only for NEON; nothing else in the program uses them.
        out("d0") _, out("d1") _, out("d2") _, out("d3") _,
        out("d4") _, out("d5") _, out("d6") _, out("d7") _,
        options(nostack),
    );
    n
}

/// `acc[i] += (x[i] - zp) * k[i]` for the leading multiple of eight: `vsubl.u8` widens
/// `x - zp` to i16 (exact in [-255, 255]), `vmlal.s16` accumulates into i32.
///
/// # Safety
/// The CPU must support NEON.
pub unsafe fn mac_q8(acc: &mut [i32], x: &[u8], zp: u8, k: &[i16]) -> usize {
    let n = acc.len().min(x.len()).min(k.len()) / 8 * 8;
    if n == 0 {
        return 0;
    }
    // SAFETY: the three slices hold at least n elements.
    std::arch::asm!(
        ".fpu neon",
        "vdup.8 d7, {zp}",
        "1:",
        "vld1.8 {{d0}}, [{x}]!",
        "vld1.16 {{d2-d3}}, [{k}]!",
        "vld1.32 {{d16-d19}}, [{acc}]",
        "vsubl.u8 q2, d0, d7",
        "vmlal.s16 q8, d4, d2",
        "vmlal.s16 q9, d5, d3",
        "subs {n}, {n}, #8",
        "vst1.32 {{d16-d19}}, [{acc}]!",
        "bne 1b",
        n = inout(reg) n => _,
        x = inout(reg) x.as_ptr() => _,
        k = inout(reg) k.as_ptr() => _,
        acc = inout(reg) acc.as_mut_ptr() => _,
        zp = in(reg) u32::from(zp),
        out("d0") _, out("d1") _, out("d2") _, out("d3") _,
        out("d4") _, out("d5") _, out("d6") _, out("d7") _,
        options(nostack),
    );
    n
}
