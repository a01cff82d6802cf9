import Foundation

/// The running CPU as Linux describes it in /proc/cpuinfo.
public struct CPUInfo: Sendable {
    /// "model name", e.g. "AMD EPYC 9B45" or "Intel(R) Xeon(R) Platinum 8481C".
    public let model: String
    /// Logical CPUs this process may run on.
    public let cores: Int
    /// The instruction-set extensions that decide ckpt's kernels, of those the CPU has, in `relevantFeatures` order.
    public let features: [String]

    /// Extensions that change which kernels run: vector widths, bf16 and int8 dot products, AMX tiles.
    public static let relevantFeatures = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                                          "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"]

    /// Reads /proc/cpuinfo (its first processor); unknown fields stay empty where it is absent.
    public static func current() -> CPUInfo {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty && !fields.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let flags = Set((fields["flags"] ?? "").split(separator: " ").map(String.init))
        return CPUInfo(model: fields["model name"] ?? "unknown", cores: ProcessInfo.processInfo.activeProcessorCount,
                       features: relevantFeatures.filter(flags.contains))
    }
}
