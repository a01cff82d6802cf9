/// Bit-level conversions between f32 and the narrow float formats.
///
/// Widening (f16, bf16, f8 → f32) is exact. Narrowing rounds to nearest, ties to even, the way
/// NumPy's `astype(np.float16)` and PyTorch's `.to(torch.bfloat16)` do on x86-64; the golden
/// tests compare every f16 value and a sweep of f32 bit patterns bit for bit.
public enum FloatBits {
    /// f16 bits → f32, exact. NaN payloads are kept (shifted into the wider significand).
    @inline(__always)
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2⁻²⁴, exact in f32.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// f32 → f16 bits, round to nearest even; overflow gives ±inf; NaN stays NaN with the quiet
    /// bit set and the top payload bits kept (as F16C's `vcvtps2ph`, which NumPy uses).
    @inline(__always)
    public static func half(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x3FF)
        }
        if magnitude >= 0x4780_0000 { return sign | 0x7C00 }  // ≥ 2¹⁶: beyond the largest half
        if magnitude < 0x3880_0000 {  // below 2⁻¹⁴: a half subnormal or zero
            if magnitude < 0x3300_0000 { return sign }  // below 2⁻²⁵: rounds to zero
            let exponent = magnitude >> 23
            let significand = (magnitude & 0x7F_FFFF) | 0x80_0000
            let shift = 126 - exponent  // 14 … 24: significand × 2^(e−150) in units of 2⁻²⁴
            var result = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && result & 1 == 1) { result += 1 }
            return sign | UInt16(truncatingIfNeeded: result)
        }
        // Normal: add just under half an ulp (plus the lowest kept bit, for ties to even), rebias.
        let rounded = magnitude &+ 0xFFF &+ ((magnitude >> 13) & 1)
        return sign | UInt16(truncatingIfNeeded: (rounded &- 0x3800_0000) >> 13)
    }

    /// bf16 bits → f32, exact.
    @inline(__always)
    public static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// f32 → bf16 bits, round to nearest even (PyTorch's `round_to_nearest_even`); NaN becomes
    /// the canonical quiet NaN 0x7FC0, as PyTorch gives.
    @inline(__always)
    public static func bfloat16(from value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// float8 e5m2 bits → f32, exact (e5m2 is the top byte of an f16).
    @inline(__always)
    public static func float(fromE5M2 b: UInt8) -> Float {
        float(fromHalf: UInt16(b) << 8)
    }

    /// float8 e4m3fn bits → f32, exact. This format has no infinities; S.1111.111 is NaN.
    @inline(__always)
    public static func float(fromE4M3 b: UInt8) -> Float {
        let negative = b & 0x80 != 0
        let exponent = Int((b >> 3) & 0xF)
        let mantissa = Float(b & 0x7)
        let magnitude: Float
        if exponent == 15 && b & 0x7 == 7 {
            magnitude = .nan
        } else if exponent == 0 {
            magnitude = mantissa * 0x1p-9  // subnormal: m/8 × 2⁻⁶
        } else {
            magnitude = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        }
        return negative ? -magnitude : magnitude
    }
}
