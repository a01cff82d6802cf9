import XCTest
@testable import Kernels

/// ckpt's kernels for one attention head: scores and context within 1e-5 of double-precision sums,
/// the scores past the keys zero, and each query's results the same bits whether it runs alone or
/// with others (what lets a sequence's queries run in one call, whatever the batch).
final class AttentionHeadTests: XCTestCase {
    /// (queries, keys, channels): tiles of eight rows and a remainder, keys in whole and partial
    /// vectors, channels in pairs of vectors, one vector and a remainder.
    static let shapes = [(rows: 24, keys: 24, d: 32), (rows: 13, keys: 7, d: 32), (rows: 40, keys: 64, d: 64), (rows: 9, keys: 33, d: 24),
                         (rows: 3, keys: 1, d: 8), (rows: 17, keys: 50, d: 40)]

    func testScoresAndContextMatchDoublePrecisionSums() {
        for (rows, keys, d) in Self.shapes {
            let head = Head(rows: rows, keys: keys, d: d)
            let (scores, context) = head.run(queries: 0..<rows)
            for i in 0..<rows {
                for j in 0..<head.stride {
                    let expected = j < keys ? head.scale * (0..<d).reduce(0.0) { $0 + Double(head.q(i, $1)) * Double(head.k(j, $1)) } : 0
                    XCTAssertEqual(Double(scores[i * head.stride + j]), expected, accuracy: 1e-5, "scores [\(rows), \(keys), \(d)] (\(i), \(j))")
                }
                for c in 0..<d {
                    let expected = (0..<keys).reduce(0.0) { $0 + Double(head.p(i, $1)) * Double(head.v($1, c)) }
                    XCTAssertEqual(Double(context[i * head.ldo + c]), expected, accuracy: 1e-5, "context [\(rows), \(keys), \(d)] (\(i), \(c))")
                }
            }
        }
    }

    func testAQuerysResultsDoNotDependOnTheOtherQueries() {
        for (rows, keys, d) in Self.shapes {
            let head = Head(rows: rows, keys: keys, d: d)
            let (scores, context) = head.run(queries: 0..<rows)
            for i in 0..<rows {
                let (alone, aloneContext) = head.run(queries: i..<(i + 1))
                XCTAssertEqual(Array(alone[0..<head.stride]), Array(scores[(i * head.stride)..<((i + 1) * head.stride)]), "[\(rows), \(keys), \(d)] query \(i)")
                XCTAssertEqual(Array(aloneContext[0..<d]), Array(context[(i * head.ldo)..<(i * head.ldo + d)]), "[\(rows), \(keys), \(d)] query \(i)")
            }
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
    /// `probabilities` (rows `ldo` apart) for these queries.
    func run(queries: Range<Int>) -> (scores: [Float], context: [Float]) {
        var scores = [Float](repeating: .nan, count: queries.count * stride)
        var context = [Float](repeating: .nan, count: queries.count * ldo)
        var transposed = [Float](repeating: .nan, count: d * stride)
        qkv.withUnsafeBufferPointer { qkv in
            let base = qkv.baseAddress!
            scores.withUnsafeMutableBufferPointer { s in
                transposed.withUnsafeMutableBufferPointer { t in
                    AttentionHead.scores(base + queries.lowerBound * ld, ldq: ld, base + d, ldk: ld, rows: queries.count, keys: keys, d: d,
                                         scale: Float(scale), into: s.baseAddress!, stride: stride, transposedKeys: t.baseAddress!)
                }
            }
            probabilities.withUnsafeBufferPointer { p in
                context.withUnsafeMutableBufferPointer { o in
                    AttentionHead.context(p.baseAddress! + queries.lowerBound * stride, ldp: stride, base + 2 * d, ldv: ld, rows: queries.count,
                                          keys: keys, d: d, into: o.baseAddress!, ldo: ldo)
                }
            }
        }
        return (scores, context)
    }
}
