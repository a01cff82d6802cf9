import Foundation
import Synchronization

/// A one-line progress bar on stderr — done/total, rate and time left — drawn only when stderr is a
/// terminal and not silenced, at most ten times a second. Encoding threads may update it; draws
/// are serialised.
final class ProgressBar: Sendable {
    private let total: Int
    private let unit: Unit
    private let enabled: Bool
    private let start = Date()
    private let lastDraw = Mutex(Date.distantPast)

    enum Unit: Sendable {
        case bytes, items(String)
    }

    init(total: Int, unit: Unit, quiet: Bool) {
        self.total = max(total, 1)
        self.unit = unit
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int) {
        guard enabled else { return }
        lastDraw.withLock { last in
            guard done >= total || Date().timeIntervalSince(last) >= 0.1 else { return }
            last = Date()
            draw(done)
        }
    }

    private func draw(_ done: Int) {
        let elapsed = max(Date().timeIntervalSince(start), 1e-6)
        let rate = Double(done) / elapsed
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = min(width, width * done / total)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = "\r\(bar) \(format(done))/\(format(total))  \(format(Int(rate)))/s  ETA \(Int(left.rounded()))s  "
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Clears the bar's line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 79) + "\r").utf8))
    }

    private func format(_ n: Int) -> String {
        switch unit {
        case .bytes: return humanBytes(n)
        case .items(let name): return "\(n) \(name)"
        }
    }
}
