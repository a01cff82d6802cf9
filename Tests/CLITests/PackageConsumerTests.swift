import Foundation
import XCTest

/// ckpt as a Swift developer gets it: a package that depends on it through a git URL and a version
/// tag builds and calls `Checkpoint`, `Tokenizer` and `FeatureExtractor` (which also proves the
/// package needs no unsafe flags: SwiftPM refuses those in a versioned dependency), and the
/// README's library example compiles against it.
final class PackageConsumerTests: XCTestCase {
    let minilm = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"

    func testAPackageDependingOnATaggedCkptBuildsAndEmbeds() throws {
        let work = try Ckpt.temporaryDirectory(self)
        // The repository's tracked files, as a tag of their own.
        let library = work + "/ckpt"
        try shell("mkdir -p '\(library)' && git -C '\(Ckpt.repository.path)' ls-files -z | (cd '\(Ckpt.repository.path)' && xargs -0 cp --parents -t '\(library)')"
                  + " && cd '\(library)' && git init -q && git add -A && git -c user.name=test -c user.email=test@localhost commit -qm ckpt && git tag 1.0.0")
        let consumer = work + "/consumer"
        try FileManager.default.createDirectory(atPath: consumer + "/Sources/Consumer", withIntermediateDirectories: true)
        try write(consumer + "/Package.swift", """
            // swift-tools-version:6.0
            import PackageDescription
            let package = Package(
                name: "Consumer",
                dependencies: [.package(url: "file://\(library)", from: "1.0.0")],
                targets: [.executableTarget(name: "Consumer", dependencies: [
                    .product(name: "TensorFormats", package: "ckpt"),
                    .product(name: "Tokenizers", package: "ckpt"),
                    .product(name: "Transformers", package: "ckpt"),
                    .product(name: "Kernels", package: "ckpt"),
                    .product(name: "HeadTraining", package: "ckpt"),
                    .product(name: "Analysis", package: "ckpt"),
                    .product(name: "ExperimentLedger", package: "ckpt"),
                ])]
            )
            """)
        try write(consumer + "/Sources/Consumer/main.swift", """
            import TensorFormats
            import Tokenizers
            import Transformers
            let model = CommandLine.arguments[1]
            let checkpoint = try Checkpoint(path: model)
            let tokenizer = try Tokenizer(directory: model)
            let extractor = try FeatureExtractor(path: model)
            let features = extractor.features(["A sentence to embed."], threads: 2).values
            print(checkpoint.tensors.count, tokenizer.encode("hello world").ids.count, features.count)
            """)
        try write(consumer + "/Sources/Consumer/ReadmeLibrary.swift", try readmeLibraryExample())
        let output = try shell("cd '\(consumer)' && { swift build --scratch-path .build-consumer > build.log 2>&1 || { cat build.log; exit 1; }; }"
                               + " && .build-consumer/debug/Consumer '\(minilm)'")
        XCTAssertEqual(output, "104 4 384\n")
    }

    /// The README's "## Library" example as a function that compiles: its imports first, then its
    /// lines, with the names it leaves undefined (inputs a reader has) as parameters.
    private func readmeLibraryExample() throws -> String {
        let readme = try String(contentsOfFile: Ckpt.repository.path + "/README.md", encoding: .utf8)
        let block = try XCTUnwrap(readme.components(separatedBy: "## Library\n\n```swift\n").dropFirst().first?.components(separatedBy: "```").first)
        let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertGreaterThan(lines.count, 40, "the README's library example")
        return lines.filter { $0.hasPrefix("import ") }.joined(separator: "\n") + """

            func readmeLibrary(lines: [String], x: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int,
                               labels: [String], testFeatures: FeatureMatrix, testLabels: [String], bert: BERT, e: Encoding,
                               tokens: [String], corpus: FeatureMatrix, queries: FeatureMatrix) throws {

            """ + lines.filter { !$0.hasPrefix("import ") }.map { "    " + $0 }.joined(separator: "\n") + "\n}\n"
    }

    @discardableResult
    private func shell(_ command: String) throws -> String {
        let result = try Ckpt.run(["sh", "-c", "set -e; " + command], shell: true)
        XCTAssertEqual(result.status, 0, command + "\n" + result.stderr + result.stdout)
        return result.stdout
    }

    private func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}
