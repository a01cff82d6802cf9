import Foundation
import XCTest
import Kernels
@testable import HeadTraining
import Transformers

/// The blocked C pass against the objective written out plainly in double precision, on shapes
/// that exercise every path: row counts that are not whole blocks, feature counts with vector
/// tails, every way class counts are taken (six or three at a time by the CPU's vector width, then
/// two and one; the gradient six, two and one), several slices of rows, precise and coarse (float32)
/// logits, and logits far enough apart that the smallest softmax terms underflow; and the same
/// result, bit for bit, at one, two and three threads.
final class SoftmaxObjectiveTests: XCTestCase {
    struct Problem {
        var features: FeatureMatrix, labels: [Int], weights: [Double], theta: [Double], classes: Int
    }

    func problem(rows: Int, dimension: Int, classes: Int, scale: Double, seed: UInt64) -> Problem {
        var random = SeededRandom(seed: seed)
        let values = (0..<(rows * dimension)).map { _ in random.nextFloat() * 2 - 1 }
        let labels = (0..<rows).map { _ in Int(random.next() % UInt64(classes)) }
        let weights = (0..<rows).map { _ in 0.5 + Double(random.nextFloat()) }
        let theta = (0..<(classes * (dimension + 1))).map { _ in scale * (Double(random.nextFloat()) - 0.5) }
        return Problem(features: FeatureMatrix(rows: rows, dimension: dimension, values: values), labels: labels,
                       weights: weights, theta: theta, classes: classes)
    }

    /// (1/n) Σᵢ sᵢ · −log softmax(W·xᵢ + b)[yᵢ] + (λ/2)·‖W‖², and its gradient, in float64.
    func reference(_ p: Problem, penalty: Double) -> (loss: Double, gradient: [Double]) {
        let n = p.features.rows, d = p.features.dimension, k = p.classes
        var loss = 0.0, gradient = [Double](repeating: 0, count: k * (d + 1))
        for i in 0..<n {
            let row = (0..<d).map { Double(p.features.values[i * d + $0]) }
            let logits = (0..<k).map { c in (0..<d).reduce(p.theta[k * d + c]) { $0 + p.theta[c * d + $1] * row[$1] } }
            let peak = logits.max()!
            let sum = logits.reduce(0) { $0 + exp($1 - peak) }
            let s = p.weights[i] / Double(n)
            loss += s * (peak + log(sum) - logits[p.labels[i]])
            for c in 0..<k {
                let g = s * (exp(logits[c] - peak) / sum - (c == p.labels[i] ? 1 : 0))
                for j in 0..<d { gradient[c * d + j] += g * row[j] }
                gradient[k * d + c] += g
            }
        }
        for j in 0..<(k * d) {
            gradient[j] += penalty * p.theta[j]
            loss += penalty / 2 * p.theta[j] * p.theta[j]
        }
        return (loss, gradient)
    }

    func testPassMatchesThePlainObjective() {
        let shapes: [(rows: Int, dimension: Int, classes: Int, scale: Double)] = [
            (5, 3, 2, 1), (300, 45, 1, 1), (300, 45, 3, 1), (300, 64, 6, 1), (300, 70, 7, 1),
            (300, 33, 13, 1), (300, 40, 6, 2_000), (301, 100, 2, 1), (1_100, 20, 6, 1),
            (300, 50, 4, 1), (300, 37, 5, 1), (300, 48, 8, 1),
        ]
        for (index, shape) in shapes.enumerated() {
            let p = problem(rows: shape.rows, dimension: shape.dimension, classes: shape.classes, scale: shape.scale,
                            seed: UInt64(index + 1))
            let expected = reference(p, penalty: 0.01)
            let gradientScale = expected.gradient.map(abs).max()!
            // Coarse: logits summed in float32, so the loss moves by ~1e-9 relative on these shapes.
            for coarse in [false, true] {
                let results = [1, 2, 3].map { threads in
                    let objective = SoftmaxObjective(features: p.features, labels: p.labels, classes: p.classes,
                                                     sampleWeights: p.weights, penalty: 0.01, threads: threads)
                    var gradient = [Double](repeating: .nan, count: objective.parameterCount)
                    let loss = objective.evaluate(p.theta, &gradient, coarse: coarse)
                    return (loss: loss, gradient: gradient)
                }
                let context = "shape \(shape), coarse \(coarse)"
                for other in results.dropFirst() {
                    XCTAssertEqual(other.loss, results[0].loss, "\(context): the loss depends on the thread count")
                    XCTAssertEqual(other.gradient, results[0].gradient, "\(context): the gradient depends on the thread count")
                }
                let (loss, gradient) = results[0]
                let lossTolerance = coarse ? 1e-6 : 1e-12, biasTolerance = coarse ? 1e-6 : 1e-12
                XCTAssertEqual(loss, expected.loss, accuracy: lossTolerance * max(1, abs(expected.loss)), context)
                let d = p.features.dimension, k = p.classes
                for j in 0..<(k * d) {   // summed in float32 over runs of rows
                    XCTAssertEqual(gradient[j], expected.gradient[j], accuracy: 1e-5 * gradientScale, "\(context), weight \(j)")
                }
                for c in 0..<k {
                    XCTAssertEqual(gradient[k * d + c], expected.gradient[k * d + c], accuracy: biasTolerance, "\(context), bias \(c)")
                }
            }
        }
    }
}
