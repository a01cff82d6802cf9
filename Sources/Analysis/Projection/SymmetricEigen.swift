/// Leading eigenvectors of a symmetric positive semi-definite matrix, in double precision.
enum SymmetricEigen {
    /// The `count` eigenvectors of largest eigenvalue of `matrix` [size, size] (row-major,
    /// symmetric), as unit rows [count, size], and their eigenvalues, largest first. Subspace
    /// iteration on a block wider than `count` with Rayleigh–Ritz steps (Jacobi on the small
    /// projected matrix). Ritz values converge twice as fast as vectors, so once the leading values
    /// settle to 1e-13 relative the iteration runs as many steps again.
    static func leading(_ count: Int, of matrix: [Double], size n: Int) -> (vectors: [Double], values: [Double]) {
        let p = min(n, max(count + 8, 2 * count))
        // A fixed, well-spread start: column j of the block is a deterministic pseudo-random vector.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var block = (0..<(n * p)).map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        }
        var ritz = [Double](repeating: 0, count: p), previous = [Double](repeating: .infinity, count: p)
        var vectors = [Double](repeating: 0, count: p * n)
        var settledAt: Int? = nil
        for iteration in 0..<3000 {
            orthonormalise(&block, rows: n, columns: p)
            // Rayleigh–Ritz: S = Vᵀ A V (p × p), S = W Λ Wᵀ, V ← V W.
            let product = multiply(matrix, block, n: n, p: p)
            var small = [Double](repeating: 0, count: p * p)
            for a in 0..<p { for b in 0..<p { var s = 0.0; for i in 0..<n { s += block[i * p + a] * product[i * p + b] }; small[a * p + b] = s } }
            let (w, lambda) = jacobi(small, size: p)
            ritz = lambda
            var rotated = [Double](repeating: 0, count: n * p), rotatedProduct = [Double](repeating: 0, count: n * p)
            for i in 0..<n {
                for b in 0..<p {
                    var s = 0.0, t = 0.0
                    for a in 0..<p { s += block[i * p + a] * w[a * p + b]; t += product[i * p + a] * w[a * p + b] }
                    rotated[i * p + b] = s; rotatedProduct[i * p + b] = t
                }
            }
            for c in 0..<p { for i in 0..<n { vectors[c * n + i] = rotated[i * p + c] } }
            let settled = (0..<count).allSatisfy { abs(ritz[$0] - previous[$0]) <= 1e-13 * max(abs(ritz[0]), 1e-300) }
            if settled && iteration > 2 && settledAt == nil { settledAt = iteration }
            if let settledAt, iteration >= 2 * settledAt { break }
            previous = ritz
            block = rotatedProduct
        }
        return (Array(vectors[0..<(count * n)]), Array(ritz[0..<count]))
    }

    /// A · B for A [n, n] and B [n, p], row-major.
    private static func multiply(_ a: [Double], _ b: [Double], n: Int, p: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * p)
        for i in 0..<n {
            for k in 0..<n where a[i * n + k] != 0 {
                let x = a[i * n + k]
                for j in 0..<p { out[i * p + j] += x * b[k * p + j] }
            }
        }
        return out
    }

    /// Modified Gram–Schmidt on the columns of `m` [rows, columns], twice for stability.
    private static func orthonormalise(_ m: inout [Double], rows n: Int, columns p: Int) {
        for _ in 0..<2 {
            for c in 0..<p {
                for prior in 0..<c {
                    var dot = 0.0
                    for i in 0..<n { dot += m[i * p + c] * m[i * p + prior] }
                    for i in 0..<n { m[i * p + c] -= dot * m[i * p + prior] }
                }
                var norm = 0.0
                for i in 0..<n { norm += m[i * p + c] * m[i * p + c] }
                norm = norm.squareRoot()
                for i in 0..<n { m[i * p + c] = norm > 0 ? m[i * p + c] / norm : 0 }
            }
        }
    }

    /// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: eigenvectors as the
    /// columns of W [size, size], eigenvalues sorted largest first (columns in the same order).
    static func jacobi(_ matrix: [Double], size n: Int) -> (w: [Double], values: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where a[p * n + q] != 0 {
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        var w = [Double](repeating: 0, count: n * n)
        for (column, source) in order.enumerated() { for k in 0..<n { w[k * n + column] = v[k * n + source] } }
        return (w, order.map { a[$0 * n + $0] })
    }
}
