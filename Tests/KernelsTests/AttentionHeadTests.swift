import TensorFormats
import XCTest
@testable import Kernels

/// ckpt's kernels for one attention head, f32 and bf16: scores and context within 1e-5 of
/// double-precision sums (of the operands rounded to bf16, for the bf16 kernels), the scores past
/// the keys zero, and each query's results the same bits whether it runs alone or with others
/// (what lets a sequence's queries run in one call, whatever the batch).
final class AttentionHeadTests: XCTestCase {
    /// (queries, keys, channels): tiles of eight rows and a remainder, keys in whole and partial
    /// vectors, channels in pairs of vectors, one vector and a remainder.
    static let shapes = [(rows: 24, keys: 24, d: 32), (rows: 13, keys: 7, d: 32), (rows: 40, keys: 64, d: 64), (rows: 9, keys: 33, d: 24),
                         (rows: 3, keys: 1, d: 8), (rows: 17, keys: 50, d: 40), (rows: 6, keys: 40, d: 80)]

    /// The bf16 kernels take any number of keys: also more than 64, odd channel counts and partial pairs.
    static let bf16Shapes = shapes + [(rows: 21, keys: 130, d: 32), (rows: 70, keys: 97, d: 64), (rows: 5, keys: 19, d: 7)]

    func testScoresAndContextMatchDoublePrecisionSums() {
        for (rows, keys, d) in Self.shapes { checkSums(Head(rows: rows, keys: keys, d: d), inBF16: false) }
    }

    func testAQuerysResultsDoNotDependOnTheOtherQueries() {
        for (rows, keys, d) in Self.shapes { checkQueriesAlone(Head(rows: rows, keys: keys, d: d), inBF16: false) }
    }

    func testBF16ScoresAndContextMatchDoublePrecisionSumsOfRoundedOperands() throws {
        try XCTSkipUnless(AttentionHead.bf16Runs, "this CPU has no VDPBF16PS (AVX512-BF16)")
        for (rows, keys, d) in Self.bf16Shapes { checkSums(Head(rows: rows, keys: keys, d: d), inBF16: true) }
    }

    func testABF16QuerysResultsDoNotDependOnTheOtherQueries() throws {
        try XCTSkipUnless(AttentionHead.bf16Runs, "this CPU has no VDPBF16PS (AVX512-BF16)")
        for (rows, keys, d) in Self.bf16Shapes { checkQueriesAlone(Head(rows: rows, keys: keys, d: d), inBF16: true) }
    }

    /// A decoded token's scores: each the sixteen partial sums the kernel defines, added pairwise,
    /// to the bit — for any number of keys (whole groups of 16, partial ones, one or two alone) and
    /// channels (whole vectors and a remainder) — and nothing written past the keys.
    func testAQuerysScoresAreSixteenPartialSumsAddedPairwise() {
        for (keys, d) in [(1, 64), (2, 64), (3, 24), (16, 64), (17, 80), (40, 7), (300, 64), (1000, 64)] {
            let ldk = d + 3, scale = 1 / Float(d).squareRoot()
            let q = (0..<d).map { Float(sin(Double($0) * 0.71) * 1.3) }
            let k = (0..<(keys * ldk)).map { Float(cos(Double($0) * 0.37) * 1.5) }
            var scores = [Float](repeating: .nan, count: keys + 16)
            scores.withUnsafeMutableBufferPointer { AttentionHead.queryScores(q, k, ldk: ldk, keys: keys, d: d, scale: scale, into: $0.baseAddress!) }
            for j in 0..<keys {
                var partial = [Float](repeating: 0, count: 16)
                for c in stride(from: 0, to: (d + 15) / 16 * 16, by: 1) {
                    let (x, y) = c < d ? (q[c], k[j * ldk + c]) : (0, 0)
                    partial[c % 16] = partial[c % 16].addingProduct(x, y)
                }
                for width in [8, 4, 2, 1] { for l in 0..<width { partial[l] += partial[l + width] } }
                XCTAssertEqual(scores[j].bitPattern, (partial[0] * scale).bitPattern, "[\(keys) keys, d \(d)] key \(j)")
            }
            XCTAssertTrue(scores[keys...].allSatisfy(\.isNaN), "[\(keys) keys, d \(d)] written past the keys")
        }
    }

    /// A decoded token over a bf16 cache: the kernels that read bf16 bits give the bits of the f32
    /// kernels over the same values widened, scores and a one-row context alike.
    func testAQuerysKernelsOverBF16BitsEqualThoseOverTheWidenedValues() {
        for (keys, d) in [(1, 64), (3, 8), (17, 80), (40, 7), (300, 64), (129, 24)] {
            let ldk = d + 3, scale = 1 / Float(d).squareRoot()
            let q = (0..<d).map { Float(sin(Double($0) * 0.71) * 1.3) }
            let bits = (0..<(keys * ldk)).map { FloatBits.bfloat16(from: Float(cos(Double($0) * 0.37) * 1.5)) }
            let widened = bits.map { Float(bitPattern: UInt32($0) << 16) }
            let p = (0..<keys).map { Float(1 + cos(Double($0) * 0.11)) / Float(2 * keys) }
            var fromBits = [Float](repeating: .nan, count: keys + 16), fromWidened = fromBits
            fromBits.withUnsafeMutableBufferPointer { AttentionHead.queryScores(q, bf16Keys: bits, ldk: ldk, keys: keys, d: d, scale: scale, into: $0.baseAddress!) }
            fromWidened.withUnsafeMutableBufferPointer { AttentionHead.queryScores(q, widened, ldk: ldk, keys: keys, d: d, scale: scale, into: $0.baseAddress!) }
            XCTAssertEqual(fromBits.map(\.bitPattern), fromWidened.map(\.bitPattern), "scores [\(keys) keys, d \(d)]")
            var contextFromBits = [Float](repeating: .nan, count: d + 2), contextFromWidened = contextFromBits
            contextFromBits.withUnsafeMutableBufferPointer {
                AttentionHead.queryContext(p, bf16Values: bits, ldv: ldk, keys: keys, d: d, into: $0.baseAddress!)
            }
            contextFromWidened.withUnsafeMutableBufferPointer {
                AttentionHead.context(p, ldp: keys, widened, ldv: ldk, rows: 1, keys: keys, d: d, into: $0.baseAddress!, ldo: d)
            }
            XCTAssertEqual(contextFromBits.map(\.bitPattern), contextFromWidened.map(\.bitPattern), "context [\(keys) keys, d \(d)]")
            XCTAssertTrue(contextFromBits[d...].allSatisfy(\.isNaN), "context [\(keys) keys, d \(d)] written past d")
        }
    }

    /// A prompt's head packed once (from f32 values, or from bf16 bits as a bf16 cache holds them):
    /// scores and context over any prefix of its keys are the bits of the unpacked kernels over
    /// those keys alone (odd prefixes, partial vectors and pairs included), and nothing is written
    /// past a prefix's keys rounded up to 16 or past d.
    func testAHeadPackedOnceGivesTheBitsOfEachPrefixAlone() throws {
        try XCTSkipUnless(AttentionHead.bf16Runs, "this CPU has no VDPBF16PS (AVX512-BF16)")
        for (keys, d, prefixes) in [(130, 64, [1, 16, 17, 64, 65, 97, 130]), (45, 24, [2, 33, 45]), (19, 7, [3, 19])] {
            let rows = 11, ld = d + 3, scale = 1 / Float(d).squareRoot()
            let q = (0..<(rows * ld)).map { Float(sin(Double($0) * 0.71) * 1.3) }
            let bits = (0..<(2 * keys * ld)).map { FloatBits.bfloat16(from: Float(cos(Double($0) * 0.37) * 1.5)) }
            let widened = bits.map { Float(bitPattern: UInt32($0) << 16) }
            for fromBits in [false, true] {
                var scratch = [UInt32](repeating: 0xffff_ffff, count: AttentionHead.PackedBF16Head.scratch(queries: rows, keys: keys, d: d))
                bits.withUnsafeBufferPointer { bits in
                    widened.withUnsafeBufferPointer { widened in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            let (k, v) = (widened.baseAddress!, widened.baseAddress! + keys * ld)
                            let source: AttentionHead.KeyValueRows = fromBits
                                ? .bf16(keys: bits.baseAddress!, values: bits.baseAddress! + keys * ld) : .f32(keys: k, values: v)
                            let packed = AttentionHead.PackedBF16Head(source, ld: ld, keys: keys, d: d, queries: rows, scratch: scratch.baseAddress!)
                            for n in prefixes {
                                checkPrefix(packed, q: q, k: k, v: v, ld: ld, rows: rows, keys: n, d: d, scale: scale,
                                            label: "[\(keys) keys, d \(d), prefix \(n), from bits: \(fromBits)]")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Scores and context of `rows` queries over the first `keys` keys and values, from `packed`
    /// and from the rows k and v themselves.
    private func checkPrefix(_ packed: AttentionHead.PackedBF16Head, q: [Float], k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                             rows: Int, keys n: Int, d: Int, scale: Float, label: String) {
        let whole = (n + 15) / 16 * 16, stride = whole + 16
        let p = (0..<(rows * stride)).map { i in i % stride < n ? Float(1 + cos(Double(i) * 0.11)) / Float(2 * n) : 0 }
        var scores = [Float](repeating: .nan, count: rows * stride), alone = scores
        var context = [Float](repeating: .nan, count: rows * (d + 2)), contextAlone = context
        var scratch = [UInt32](repeating: 0xffff_ffff, count: AttentionHead.bf16Scratch(rows: rows, keys: n, d: d))
        AttentionHead.scoresInBF16(q, ldq: ld, packed, rows: rows, keys: n, scale: scale, into: &scores, stride: stride)
        AttentionHead.scoresInBF16(q, ldq: ld, k, ldk: ld, rows: rows, keys: n, d: d, scale: scale, into: &alone, stride: stride, scratch: &scratch)
        AttentionHead.contextInBF16(p, ldp: stride, packed, rows: rows, keys: n, into: &context, ldo: d + 2)
        AttentionHead.contextInBF16(p, ldp: stride, v, ldv: ld, rows: rows, keys: n, d: d, into: &contextAlone, ldo: d + 2, scratch: &scratch)
        for i in 0..<rows {
            let row = (i * stride)..<(i * stride + n), past = (i * stride + whole)..<((i + 1) * stride)
            XCTAssertEqual(scores[row].map(\.bitPattern), alone[row].map(\.bitPattern), "scores \(label) row \(i)")
            XCTAssertTrue(scores[past].allSatisfy(\.isNaN), "scores \(label) row \(i) written past the keys")
            let out = (i * (d + 2))..<(i * (d + 2) + d)
            XCTAssertEqual(context[out].map(\.bitPattern), contextAlone[out].map(\.bitPattern), "context \(label) row \(i)")
            XCTAssertTrue(context[out.upperBound..<(out.upperBound + 2)].allSatisfy(\.isNaN), "context \(label) row \(i) written past d")
        }
    }

    /// The value a kernel multiplies: x itself in f32, else x rounded to the nearest bf16 (ties to even).
    private func operand(_ x: Float, inBF16: Bool) -> Double {
        inBF16 ? Double(Float(bitPattern: UInt32(FloatBits.bfloat16(from: x)) << 16)) : Double(x)
    }

    private func checkSums(_ head: Head, inBF16: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let (rows, keys, d) = (head.rows, head.keys, head.d)
        let (scores, context) = head.run(queries: 0..<rows, inBF16: inBF16)
        for i in 0..<rows {
            for j in 0..<head.stride {
                let expected = j < keys
                    ? head.scale * (0..<d).reduce(0.0) { $0 + operand(head.q(i, $1), inBF16: inBF16) * operand(head.k(j, $1), inBF16: inBF16) } : 0
                XCTAssertEqual(Double(scores[i * head.stride + j]), expected, accuracy: 1e-5, "scores [\(rows), \(keys), \(d)] (\(i), \(j))",
                               file: file, line: line)
            }
            for c in 0..<d {
                let expected = (0..<keys).reduce(0.0) { $0 + operand(head.p(i, $1), inBF16: inBF16) * operand(head.v($1, c), inBF16: inBF16) }
                XCTAssertEqual(Double(context[i * head.ldo + c]), expected, accuracy: 1e-5, "context [\(rows), \(keys), \(d)] (\(i), \(c))",
                               file: file, line: line)
            }
            // Past a row's d channels: the next head's, untouched.
            XCTAssertTrue(context[(i * head.ldo + d)..<((i + 1) * head.ldo)].allSatisfy(\.isNaN), "context [\(rows), \(keys), \(d)] row \(i)",
                          file: file, line: line)
        }
    }

    private func checkQueriesAlone(_ head: Head, inBF16: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let (rows, keys, d) = (head.rows, head.keys, head.d)
        let (scores, context) = head.run(queries: 0..<rows, inBF16: inBF16)
        for i in 0..<rows {
            let (alone, aloneContext) = head.run(queries: i..<(i + 1), inBF16: inBF16)
            XCTAssertEqual(Array(alone[0..<head.stride]), Array(scores[(i * head.stride)..<((i + 1) * head.stride)]), "[\(rows), \(keys), \(d)] query \(i)",
                           file: file, line: line)
            XCTAssertEqual(Array(aloneContext[0..<d]), Array(context[(i * head.ldo)..<(i * head.ldo + d)]), "[\(rows), \(keys), \(d)] query \(i)",
                           file: file, line: line)
        }
    }
}

/// A head's q, k and v in one strided buffer (as BERT's qkv rows hold them), probabilities p, and
/// the kernels run over a range of its queries.
private struct Head {
    let rows: Int, keys: Int, d: Int
    let ld: Int, stride: Int, ldo: Int
    let scale: Double
    var qkv: [Float], probabilities: [Float]

    init(rows: Int, keys: Int, d: Int) {
        (self.rows, self.keys, self.d) = (rows, keys, d)
        ld = 3 * d + 5
        let stride = (keys + 15) / 16 * 16
        self.stride = stride
        ldo = d + 3
        scale = 1 / Double(d).squareRoot()
        qkv = (0..<(max(rows, keys) * ld)).map { Float(sin(Double($0) * 0.37) * 1.5) }
        probabilities = (0..<(rows * stride)).map { i in i % stride < keys ? Float(1 + cos(Double(i) * 0.11)) / Float(2 * keys) : 0 }
    }

    func q(_ i: Int, _ c: Int) -> Float { qkv[i * ld + c] }
    func k(_ j: Int, _ c: Int) -> Float { qkv[j * ld + d + c] }
    func v(_ j: Int, _ c: Int) -> Float { qkv[j * ld + 2 * d + c] }
    func p(_ i: Int, _ j: Int) -> Float { probabilities[i * stride + j] }

    /// Scores (rows `stride` apart, NaN where nothing should be written) and the context of
    /// `probabilities` (rows `ldo` apart) for these queries, by the f32 or the bf16 kernels.
    func run(queries: Range<Int>, inBF16: Bool) -> (scores: [Float], context: [Float]) {
        var scores = [Float](repeating: .nan, count: queries.count * stride)
        var context = [Float](repeating: .nan, count: queries.count * ldo)
        var transposed = [Float](repeating: .nan, count: d * stride)
        var pairs = [UInt32](repeating: 0xffff_ffff, count: AttentionHead.bf16Scratch(rows: queries.count, keys: keys, d: d))
        qkv.withUnsafeBufferPointer { qkv in
            let base = qkv.baseAddress!, q = base + queries.lowerBound * ld
            scores.withUnsafeMutableBufferPointer { s in
                if inBF16 {
                    pairs.withUnsafeMutableBufferPointer { scratch in
                        AttentionHead.scoresInBF16(q, ldq: ld, base + d, ldk: ld, rows: queries.count, keys: keys, d: d, scale: Float(scale),
                                                   into: s.baseAddress!, stride: stride, scratch: scratch.baseAddress!)
                    }
                } else {
                    transposed.withUnsafeMutableBufferPointer { t in
                        AttentionHead.scores(q, ldq: ld, base + d, ldk: ld, rows: queries.count, keys: keys, d: d, scale: Float(scale),
                                             into: s.baseAddress!, stride: stride, transposedKeys: t.baseAddress!)
                    }
                }
            }
            probabilities.withUnsafeBufferPointer { p in
                context.withUnsafeMutableBufferPointer { o in
                    let p = p.baseAddress! + queries.lowerBound * stride
                    if inBF16 {
                        pairs.withUnsafeMutableBufferPointer { scratch in
                            AttentionHead.contextInBF16(p, ldp: stride, base + 2 * d, ldv: ld, rows: queries.count, keys: keys, d: d,
                                                        into: o.baseAddress!, ldo: ldo, scratch: scratch.baseAddress!)
                        }
                    } else {
                        AttentionHead.context(p, ldp: stride, base + 2 * d, ldv: ld, rows: queries.count, keys: keys, d: d, into: o.baseAddress!, ldo: ldo)
                    }
                }
            }
        }
        return (scores, context)
    }
}
