import Foundation
import XCTest

/// ckpt as a Swift developer gets it: a package that depends on it through a git URL and a version
/// tag builds and calls `Checkpoint`, `Tokenizer` and `FeatureExtractor` (which also proves the
/// package needs no unsafe flags: SwiftPM refuses those in a versioned dependency).
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
        let output = try shell("cd '\(consumer)' && { swift build --scratch-path .build-consumer > build.log 2>&1 || { cat build.log; exit 1; }; }"
                               + " && .build-consumer/debug/Consumer '\(minilm)'")
        XCTAssertEqual(output, "104 4 384\n")
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
