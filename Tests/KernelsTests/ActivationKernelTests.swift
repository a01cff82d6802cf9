import Foundation
import XCTest
@testable import Kernels

/// The activation kernel against each activation in double precision, over the range a hidden
/// state spans and past it, with a bias added per column.
final class ActivationKernelTests: XCTestCase {
    func testActivationsMatchDoublePrecision() {
        let exact: [(RowKernels.Activation, (Double) -> Double)] = [
            (.gelu, { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
            (.geluNew, { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
            (.relu, { max($0, 0) }),
            (.tanh, { tanh($0) }),
        ]
        let n = 64, rows = 400
        let bias = (0..<n).map { Float($0) / 1024 }
        let inputs = (0..<(rows * n)).map { Float(-20 + 40 * Double($0) / Double(rows * n)) }
        for (activation, reference) in exact {
            var x = inputs
            x.withUnsafeMutableBufferPointer { RowKernels.apply(activation, $0.baseAddress!, rows: rows, n: n, bias: bias) }
            var worst = 0.0
            for i in x.indices {
                let v = Double(inputs[i] + bias[i % n])
                worst = max(worst, abs(Double(x[i]) - reference(v)) / max(1, abs(v)))
            }
            // 2e-7 is about 2 ulp of a value near 1.
            XCTAssertLessThan(worst, 2e-7, "\(activation): error / max(1, |v|) up to \(worst)")
        }
    }
}
