// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SymGraph",
    products: [
        .library(name: "SymGraph", targets: ["SymGraph"]),
        .executable(name: "symgraph", targets: ["symgraph"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libgraphviz-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CGraphviz", path: "Sources/CGraphviz", pkgConfig: "libgvc",
                       providers: [.apt(["libgraphviz-dev"])]),
        // Hot elementwise kernels in C, compiled per CPU level with runtime dispatch.
        .target(name: "CKernels", path: "Sources/CKernels"),

        .target(name: "Graph"),
        .target(name: "Optimizer", dependencies: ["Graph"]),
        .target(name: "Runtime", dependencies: ["Graph", "Optimizer", "CBLAS", "CKernels"]),
        .target(name: "Viz", dependencies: ["Graph", "Optimizer", "CGraphviz"]),
        .target(name: "NN", dependencies: ["Graph"], resources: [.copy("Data/README.md")]),
        .target(name: "ONNX", dependencies: [
            "Graph", "Runtime", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "SymGraph", dependencies: ["Graph", "Optimizer", "Runtime", "Viz", "NN", "ONNX"]),
        .target(name: "Bench", dependencies: ["SymGraph", "CBLAS"]),
        .executableTarget(name: "symgraph", dependencies: [
            "SymGraph", "Bench", "ONNX",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TestSupport", dependencies: ["Graph"], path: "Sources/TestSupport"),
        .testTarget(name: "GraphTests", dependencies: ["Graph", "TestSupport"]),
        .testTarget(name: "OptimizerTests", dependencies: ["Optimizer", "Runtime", "NN", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "NN", "TestSupport"]),
        .testTarget(name: "AutodiffTests", dependencies: ["Runtime", "NN", "TestSupport"]),
        .testTarget(name: "VizTests", dependencies: ["Viz", "NN", "TestSupport"]),
        // libFuzzer target for the ONNX reader; a plain replay tool unless built with -DONNX_FUZZ (docs/onnx.md).
        .executableTarget(name: "ONNXFuzz", dependencies: ["ONNX"]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "Runtime", "NN", "TestSupport"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Runtime", "TestSupport"]),
    ]
)
