// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ckpt",
    products: [
        .library(name: "CkptSupport", targets: ["CkptSupport"]),
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "TensorFormats", targets: ["TensorFormats"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Transformers", targets: ["Transformers"]),
        .library(name: "HeadTraining", targets: ["HeadTraining"]),
        .library(name: "ExperimentLedger", targets: ["ExperimentLedger"]),
        .library(name: "Analysis", targets: ["Analysis"]),
        .library(name: "Serving", targets: ["Serving"]),
        .executable(name: "ckpt", targets: ["ckpt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // System libraries from Debian: libopenblas-dev (cblas.h), libdnnl-dev (oneDNN's dnnl.h) and zlib1g-dev (zlib.h).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // The foundation: JSON, mapped files, file-system helpers, the file error and atomic output, text datasets.
        .target(name: "CkptSupport", dependencies: ["CKernels"]),
        .target(name: "TensorFormats", dependencies: ["CKernels", "CkptSupport", "CZlib"]),
        // Hot loops in C, compiled per instruction set (AVX-512, AVX2, baseline) and picked at run time.
        .target(name: "CKernels"),
        // oneDNN's matrix product behind a few C calls; linked with libgomp, whose thread limit it sets.
        .target(name: "COneDNN", dependencies: ["CDNNL", "CKernels"], linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        // The compute layer: products with explicit thread counts on oneDNN or OpenBLAS, row kernels, buffers.
        .target(name: "Kernels", dependencies: ["CBLAS", "CKernels", "CkptSupport", "COneDNN"]),
        .target(name: "Tokenizers", dependencies: ["CkptSupport"]),
        .target(name: "Transformers", dependencies: ["CkptSupport", "Kernels", "TensorFormats", "Tokenizers"]),
        // The experiment ledger: studies and trials in an SQLite file (libsqlite3-dev).
        .target(name: "ExperimentLedger", dependencies: ["CkptSupport", "CSQLite"]),
        .target(name: "HeadTraining", dependencies: ["CKernels", "CkptSupport", "Kernels", "TensorFormats", "Transformers"]),
        // Seeing inside: attention views, projections (PCA, t-SNE), similarity and search, plots (SVG, PNG, HTML).
        .target(name: "Analysis", dependencies: ["CkptSupport", "CZlib", "HeadTraining", "Kernels", "Transformers"]),
        // The HTTP server: OpenAI and TEI embedding routes, head predictions, dynamic batching, limits, metrics.
        .target(name: "Serving", dependencies: [
            "CkptSupport", "HeadTraining", "Kernels", "Tokenizers", "Transformers",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "ckpt", dependencies: [
            "Analysis",
            "Serving",
            "CkptSupport",
            "Kernels",
            "TensorFormats",
            "Tokenizers",
            "Transformers",
            "HeadTraining",
            "ExperimentLedger",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "KernelsTests", dependencies: ["CkptSupport", "Kernels", "TensorFormats"]),
        .testTarget(name: "TensorFormatsTests", dependencies: ["CkptSupport", "TensorFormats"]),
        .testTarget(name: "TokenizersTests", dependencies: ["CkptSupport", "Tokenizers", "TensorFormats"]),
        .testTarget(name: "TransformersTests", dependencies: ["CkptSupport", "Transformers", "Kernels", "TensorFormats"]),
        .testTarget(name: "HeadTrainingTests", dependencies: ["CkptSupport", "HeadTraining", "Kernels", "Transformers", "TensorFormats"]),
        .testTarget(name: "ExperimentLedgerTests", dependencies: ["CkptSupport", "ExperimentLedger"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "CkptSupport", "CZlib", "HeadTraining", "Kernels", "TensorFormats", "Transformers"]),
        .testTarget(name: "CLITests", dependencies: ["ckpt", "CkptSupport", "TensorFormats"]),
    ]
)
