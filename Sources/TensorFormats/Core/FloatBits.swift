/// Bit-level conversions between f32 and the narrow float formats.
///
/// Widening (f16, bf16, f8 → f32) is exact. Narrowing rounds to nearest, ties to even, the way
/// NumPy's `astype(np.float16)` and PyTorch's `.to(torch.bfloat16)` do; the golden tests compare
/// every f16 value and a sweep of f32 bit patterns with theirs, bit for bit.
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

    /// f32 → f16 bits, round to nearest even; overflow gives ±inf; NaN stays NaN with its top 10
    /// payload bits (NumPy's `npy_floatbits_to_halfbits`, bit for bit).
    @inline(__always)
    public static func half(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            // NaN: NumPy keeps the top 10 payload bits and only makes sure the result stays a NaN.
            let payload = UInt16(truncatingIfNeeded: (magnitude & 0x7F_FFFF) >> 13)
            return sign | 0x7C00 | (payload == 0 ? 1 : payload)
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

    /// f32 → bf16 bits, round to nearest even (PyTorch's `round_to_nearest_even`), bit for bit
    /// for every non-NaN value. NaN becomes the canonical quiet NaN 0x7FC0, as PyTorch's scalar
    /// path gives (its AVX-512 path gives 0xFFFF; both are NaN).
    @inline(__always)
    public static func bfloat16(from value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// float8 e5m2 bits → f32, exact (e5m2 is the top byte of an f16). NaNs come out quiet, as
    /// PyTorch gives them.
    @inline(__always)
    public static func float(fromE5M2 b: UInt8) -> Float {
        let value = float(fromHalf: UInt16(b) << 8)
        return value.isNaN ? Float(bitPattern: value.bitPattern | 0x0040_0000) : value
    }

    /// float8 e4m3fn bits → f32, exact. This format has no infinities; S.1111.111 is NaN, which
    /// widens to ±0x7FF00000 as PyTorch gives it.
    @inline(__always)
    public static func float(fromE4M3 b: UInt8) -> Float {
        let sign = UInt32(b & 0x80) << 24
        let exponent = Int((b >> 3) & 0xF)
        let mantissa = Float(b & 0x7)
        if exponent == 15 && b & 0x7 == 7 { return Float(bitPattern: sign | 0x7FF0_0000) }
        let magnitude = exponent == 0
            ? mantissa * 0x1p-9  // subnormal: m/8 × 2⁻⁶
            : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        return Float(bitPattern: sign | magnitude.bitPattern)
    }

    /// f64 → f16 bits, rounded once to nearest even (NumPy's `npy_doublebits_to_halfbits`; going
    /// through f32 would round twice and differ near ties and at the overflow threshold).
    @inline(__always)
    public static func half(from value: Double) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 48) & 0x8000)
        let exponentBits = bits & 0x7FF0_0000_0000_0000
        let significand = bits & 0x000F_FFFF_FFFF_FFFF
        if exponentBits >= 0x40F0_0000_0000_0000 {  // ≥ 2¹⁶, inf or NaN
            guard exponentBits == 0x7FF0_0000_0000_0000, significand != 0 else { return sign | 0x7C00 }
            let payload = UInt16(truncatingIfNeeded: significand >> 42)
            return sign | 0x7C00 | (payload == 0 ? 1 : payload)
        }
        if exponentBits <= 0x3F00_0000_0000_0000 {  // ≤ 2⁻¹⁵: a half subnormal or zero
            if exponentBits < 0x3E60_0000_0000_0000 { return sign }
            var shifted = (0x0010_0000_0000_0000 | significand) << ((exponentBits >> 52) - 998)
            // Round bit is bit 52, the lowest kept bit 53; a tie with an even result stays.
            if shifted & 0x003F_FFFF_FFFF_FFFF != 0x0010_0000_0000_0000 { shifted &+= 0x0010_0000_0000_0000 }
            return sign | UInt16(truncatingIfNeeded: shifted >> 53)
        }
        let exponent = UInt16(truncatingIfNeeded: (exponentBits - 0x3F00_0000_0000_0000) >> 42)
        var rounded = significand
        if rounded & 0x0000_07FF_FFFF_FFFF != 0x0000_0200_0000_0000 { rounded &+= 0x0000_0200_0000_0000 }
        return sign | (UInt16(truncatingIfNeeded: rounded >> 42) &+ exponent)
    }
}
