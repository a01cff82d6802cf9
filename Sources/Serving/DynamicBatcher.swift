import Foundation
import Tokenizers
import Transformers

/// Requests from many clients, queued and run on the model in rounds: a round takes queued requests
/// in arrival order while their tokens fit `maxBatchTokens` (at least one request), runs them as one
/// call of the feature extractor (length-sorted batches, as `ckpt embed`), and answers each with its
/// own rows. A text's features do not depend on its batch mates (see `FeatureExtractor`), so the
/// answers are the bits `ckpt embed` writes. The model runs on a thread of its own, away from the
/// server's event loops.
final class DynamicBatcher: @unchecked Sendable {
    private struct Job {
        let inputs: [Encoding]
        let normalize: Bool
        let tokens: Int
        let enqueued: Date
        let continuation: CheckedContinuation<[Float], Error>
    }

    private let extractor: FeatureExtractor
    private let threads: Int
    private let maxBatchTokens: Int
    private let capacity: Int
    private let metrics: ServerMetrics
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var running = 0

    init(extractor: FeatureExtractor, threads: Int, maxBatchTokens: Int, capacity: Int, metrics: ServerMetrics) {
        (self.extractor, self.threads, self.maxBatchTokens, self.capacity, self.metrics) = (extractor, threads, maxBatchTokens, capacity, metrics)
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "ckpt-model"
        thread.start()
    }

    /// Features of `inputs` ([inputs.count × dimension]); throws `APIError.overloaded` when
    /// `capacity` requests are already queued or running.
    func features(_ inputs: [Encoding], normalize: Bool) async throws -> [Float] {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard queue.count + running < capacity else {
                continuation.resume(throwing: APIError.overloaded)
                return
            }
            queue.append(Job(inputs: inputs, normalize: normalize, tokens: inputs.reduce(0) { $0 + $1.count }, enqueued: Date(), continuation: continuation))
            metrics.setQueueDepth(queue.count)
            condition.signal()
        }
    }

    private func serve() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            var round = [queue.removeFirst()]
            var tokens = round[0].tokens
            while let next = queue.first, next.normalize == round[0].normalize, tokens + next.tokens <= maxBatchTokens {
                round.append(queue.removeFirst())
                tokens += next.tokens
            }
            running = round.count
            metrics.setQueueDepth(queue.count)
            condition.unlock()

            let started = Date()
            for job in round { metrics.observe(.queue, started.timeIntervalSince(job.enqueued)) }
            let values = extractor.features(encoded: round.flatMap(\.inputs), batchSize: 32, threads: threads, normalize: round[0].normalize)
            metrics.observe(.inference, Date().timeIntervalSince(started))
            metrics.recordBatch(texts: round.reduce(0) { $0 + $1.inputs.count }, tokens: tokens)
            var offset = 0
            let D = extractor.dimension
            for job in round {
                let count = job.inputs.count * D
                job.continuation.resume(returning: Array(values[offset..<(offset + count)]))
                offset += count
            }
            condition.lock()
            running = 0
            condition.unlock()
        }
    }
}
