/// What an L-BFGS fit of a linear head learned about the objective's curvature: its last
/// correction pairs and the L2 penalty λ they were measured under. A fit of the same rows under a
/// nearby penalty λ' begins with them instead of with none. The data term's curvature changes
/// little between nearby minima, and the penalty's part of each gradient change is exactly λ·s
/// over the weights, so each y moves by (λ' − λ)·s there.
struct Curvature: Sendable {
    var pairs: [LBFGS.CorrectionPair]
    var penalty: Double

    /// The pairs for a fit under `penalty`, whose first `weights` parameters are penalised (W; the
    /// biases are not). A pair whose sᵀy would not stay positive is dropped.
    func pairs(under penalty: Double, weights: Int) -> [LBFGS.CorrectionPair] {
        let shift = penalty - self.penalty
        return pairs.compactMap { pair in
            var moved = pair
            for j in 0..<weights { moved.y[j] += shift * pair.s[j] }
            var sy = 0.0
            for j in moved.y.indices { sy += pair.s[j] * moved.y[j] }
            guard sy > 0 else { return nil }
            moved.rho = 1 / sy
            return moved
        }
    }
}
