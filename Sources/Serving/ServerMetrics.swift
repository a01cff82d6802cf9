import Foundation
import Synchronization

/// The server's counters and histograms, in Prometheus' text exposition format (version 0.0.4).
final class ServerMetrics: Sendable {
    enum Stage: String, CaseIterable { case tokenization, queue, inference }

    private struct Histogram {
        static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        var counts = [Int](repeating: 0, count: bounds.count)
        var sum = 0.0, total = 0

        mutating func observe(_ value: Double, bounds: [Double] = Histogram.bounds) {
            for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            total += 1
        }
    }

    private struct State {
        var requests: [String: Int] = [:]  // "route|status" → count
        var queueDepth = 0
        var stages: [Stage: Histogram] = [:]
        var batchTexts = Histogram(), batchTokens = Histogram()
        var tokens = 0, batches = 0
    }

    private static let textBounds: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    private static let tokenBounds: [Double] = [16, 64, 256, 1024, 4096, 16384, 65536]
    private let state = Mutex(State())

    func countRequest(route: String, status: Int) { state.withLock { $0.requests["\(route)|\(status)", default: 0] += 1 } }
    func setQueueDepth(_ depth: Int) { state.withLock { $0.queueDepth = depth } }
    func observe(_ stage: Stage, _ seconds: Double) { state.withLock { $0.stages[stage, default: Histogram()].observe(seconds) } }
    func countTokens(_ n: Int) { state.withLock { $0.tokens += n } }

    func recordBatch(texts: Int, tokens: Int) {
        state.withLock {
            $0.batchTexts.observe(Double(texts), bounds: Self.textBounds)
            $0.batchTokens.observe(Double(tokens), bounds: Self.tokenBounds)
            $0.batches += 1
        }
    }

    /// The exposition text.
    var text: String {
        state.withLock { s in
            var out = "# HELP ckpt_requests_total Requests answered, by route and HTTP status.\n# TYPE ckpt_requests_total counter\n"
            for key in s.requests.keys.sorted() {
                let parts = key.split(separator: "|", maxSplits: 1)
                out += "ckpt_requests_total{route=\"\(parts[0])\",status=\"\(parts[1])\"} \(s.requests[key]!)\n"
            }
            out += "# HELP ckpt_queue_depth Requests waiting for the model.\n# TYPE ckpt_queue_depth gauge\nckpt_queue_depth \(s.queueDepth)\n"
            out += "# HELP ckpt_tokens_total Tokens of the texts embedded.\n# TYPE ckpt_tokens_total counter\nckpt_tokens_total \(s.tokens)\n"
            out += "# HELP ckpt_batches_total Rounds of the model.\n# TYPE ckpt_batches_total counter\nckpt_batches_total \(s.batches)\n"
            out += Self.histogram("ckpt_batch_texts", "Texts per round of the model.", s.batchTexts, bounds: Self.textBounds)
            out += Self.histogram("ckpt_batch_tokens", "Tokens per round of the model.", s.batchTokens, bounds: Self.tokenBounds)
            out += "# HELP ckpt_request_duration_seconds Time per request in each stage: tokenization, queue, inference.\n"
            out += "# TYPE ckpt_request_duration_seconds histogram\n"
            for stage in Stage.allCases {
                out += Self.series("ckpt_request_duration_seconds", labels: "stage=\"\(stage.rawValue)\",", s.stages[stage] ?? Histogram(), bounds: Histogram.bounds)
            }
            return out
        }
    }

    private static func histogram(_ name: String, _ help: String, _ h: Histogram, bounds: [Double]) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) histogram\n" + series(name, labels: "", h, bounds: bounds)
    }

    private static func series(_ name: String, labels: String, _ h: Histogram, bounds: [Double]) -> String {
        var out = ""
        for (bound, count) in zip(bounds, h.counts) { out += "\(name)_bucket{\(labels)le=\"\(bound)\"} \(count)\n" }
        out += "\(name)_bucket{\(labels)le=\"+Inf\"} \(h.total)\n"
        let plain = labels.isEmpty ? "" : "{\(labels.dropLast())}"
        out += "\(name)_sum\(plain) \(h.sum)\n\(name)_count\(plain) \(h.total)\n"
        return out
    }
}
