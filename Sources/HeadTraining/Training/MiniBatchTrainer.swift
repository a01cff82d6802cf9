import Kernels
#if canImport(Glibc)
import Glibc
#endif
import Transformers

/// AdamW on shuffled mini-batches for a linear or MLP head, with dropout on the hidden layer and
/// early stopping on the validation loss. Shapes: `B` batch rows, `D` features, `H` hidden, `K` classes.
struct MiniBatchTrainer {
    let features: FeatureMatrix
    let labels: [Int]
    let classes: [String]
    let sampleWeights: [Double]
    let settings: TrainingSettings

    func fit(validation: (FeatureMatrix, [Int])?, progress: ((Int) -> Void)?) -> TrainingOutcome {
        var random = SeededRandom(seed: settings.seed)
        let D = features.dimension, K = classes.count
        var layers = settings.head == .linear
            ? [DenseLayer(inputs: D, outputs: K, random: &random)]
            : [DenseLayer(inputs: D, outputs: settings.hiddenSize, random: &random),
               DenseLayer(inputs: settings.hiddenSize, outputs: K, random: &random)]
        var optimizer = AdamW(learningRate: settings.learningRate, weightDecay: Float(settings.resolvedWeightDecay(rows: features.rows)))
        var best: (layers: [DenseLayer], loss: Double, epoch: Int)?
        var epochLoss = 0.0, epochsRun = 0
        for epoch in 1...max(1, settings.resolvedEpochs) {
            let order = random.permutation(features.rows)
            epochLoss = 0
            for start in stride(from: 0, to: order.count, by: max(1, settings.batchSize)) {
                let batch = Array(order[start..<min(order.count, start + max(1, settings.batchSize))])
                epochLoss += step(&layers, batch, &optimizer, &random) * Double(batch.count) / Double(order.count)
            }
            epochsRun = epoch
            progress?(epoch)
            guard let (vf, vy) = validation, vf.rows > 0 else { continue }
            let loss = meanLoss(ClassifierHead(labels: classes, layers: layers), vf, vy)
            if best == nil || loss < best!.loss {
                best = (layers, loss, epoch)
            } else if epoch - best!.epoch >= settings.patience {
                break
            }
        }
        return TrainingOutcome(head: ClassifierHead(labels: classes, layers: best?.layers ?? layers), iterations: epochsRun,
                               loss: epochLoss, converged: true, bestEpoch: best?.epoch, validationLoss: best?.loss)
    }

    /// One forward and backward pass over `batch` and an AdamW update; returns the batch's mean weighted loss.
    private func step(_ layers: inout [DenseLayer], _ batch: [Int], _ optimizer: inout AdamW, _ random: inout SeededRandom) -> Double {
        let B = batch.count, K = classes.count
        // Activations entering each layer; for the hidden layer, the dropout-and-ReLU factor of each unit.
        var inputs = [features.subset(batch).values]
        var gates: [Float] = []
        for layer in layers.dropLast() {
            var h = layer.forward(inputs.last!, rows: B)    // h: [B, H]
            gates = [Float](repeating: 0, count: h.count)
            let keep = 1 - settings.dropout
            for i in h.indices where h[i] > 0 && random.nextFloat() >= settings.dropout {
                gates[i] = 1 / keep
            }
            for i in h.indices { h[i] *= gates[i] }
            inputs.append(h)
        }
        var z = layers.last!.forward(inputs.last!, rows: B)   // z: [B, K]
        RowKernels.softmaxRows(&z, n: K)
        var loss = 0.0
        for (r, row) in batch.enumerated() {
            let weight = sampleWeights[row]
            loss += weight * crossEntropy(z[r * K + labels[row]])
            // z becomes ∂loss/∂logits: weight · (softmax − one-hot) / B
            z[r * K + labels[row]] -= 1
            for k in 0..<K { z[r * K + k] *= Float(weight) / Float(B) }
        }
        var gradients: [(weight: [Float], bias: [Float])] = []
        var upstream = z
        for l in layers.indices.reversed() {
            let layer = layers[l], x = inputs[l]
            var dW = [Float](repeating: 0, count: layer.outputs * layer.inputs)
            var db = [Float](repeating: 0, count: layer.outputs)
            for r in 0..<B { for o in 0..<layer.outputs { db[o] += upstream[r * layer.outputs + o] } }
            // dW: [out, in] = upstreamᵀ: [out, B] · x: [B, in]
            upstream.withUnsafeBufferPointer { u in x.withUnsafeBufferPointer { x in dW.withUnsafeMutableBufferPointer { dW in
                BLAS.product(u.baseAddress!, transposeA: true, x.baseAddress!, into: dW.baseAddress!, m: layer.outputs, n: layer.inputs, k: B)
            } } }
            gradients.insert((dW, db), at: 0)
            if l > 0 {
                // ∂/∂h: [B, in] = upstream: [B, out] · W: [out, in], through the dropout-and-ReLU gates
                var dx = [Float](repeating: 0, count: B * layer.inputs)
                upstream.withUnsafeBufferPointer { u in layer.weight.withUnsafeBufferPointer { w in dx.withUnsafeMutableBufferPointer { dx in
                    BLAS.product(u.baseAddress!, w.baseAddress!, into: dx.baseAddress!, m: B, n: layer.inputs, k: layer.outputs)
                } } }
                for i in dx.indices { dx[i] *= gates[i] }
                upstream = dx
            }
        }
        optimizer.update(&layers, gradients: gradients)
        return loss / Double(B)
    }
}

/// Mean cross-entropy of `head` on labelled rows (unweighted), in nats.
func meanLoss(_ head: ClassifierHead, _ features: FeatureMatrix, _ labels: [Int]) -> Double {
    guard let p = try? head.probabilities(features), !labels.isEmpty else { return .nan }
    let K = head.labels.count
    var total = 0.0
    for (row, label) in labels.enumerated() { total += crossEntropy(p[row * K + label]) }
    return total / Double(labels.count)
}

/// −log p of the true class's probability, in nats (p clamped away from 0).
private func crossEntropy(_ p: Float) -> Double { -log(Double(max(p, .leastNormalMagnitude))) }
