import Foundation
import XCTest

/// Runs the built `ckpt` executable and captures what it prints.
struct CkptResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Ckpt {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("fixtures").path

    /// The executable beside the test bundle (`.build/<config>/ckpt`).
    static var executable: URL { Bundle.main.bundleURL.appendingPathComponent("ckpt") }

    /// Runs `ckpt ARGUMENTS`; with `shell`, runs `/bin/sh` with ARGUMENTS instead (for redirections);
    /// `input` is given on stdin (otherwise stdin is empty).
    static func run(_ arguments: [String], in directory: String? = nil, shell: Bool = false, input: String = "") throws -> CkptResult {
        let process = Process()
        process.executableURL = shell ? URL(fileURLWithPath: "/bin/sh") : executable
        process.arguments = shell ? Array(arguments.dropFirst()) : arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // Runs record in a ledger of the test run's own unless a test names one.
        var environment = ProcessInfo.processInfo.environment
        environment["CKPT_LEDGER"] = environment["CKPT_LEDGER"] ?? testLedger
        process.environment = environment
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CkptResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The ledger of this test process, removed when its tests finish.
    static let testLedger: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-cli-ledger-\(getpid()).sqlite").path
        XCTestObservationCenter.shared.addTestObserver(RemovalAtTheEnd(paths: ["", "-journal", "-wal", "-shm"].map { path + $0 }))
        return path
    }()

    static func temporaryDirectory(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }
}

/// Removes `paths` (files the tests' runs wrote) when the test bundle finishes.
private final class RemovalAtTheEnd: NSObject, XCTestObservation {
    let paths: [String]

    init(paths: [String]) { self.paths = paths }

    func testBundleDidFinish(_ testBundle: Bundle) {
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}
