// swift-tools-version:6.0
// A coverage-guided fuzzer (libFuzzer) for the loader. Kept out of the main package because it
// must be built with -sanitize=fuzzer: run scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "onnx-slim-fuzz",
    dependencies: [.package(name: "onnx-slim", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "LoaderFuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "OnnxSlim", package: "onnx-slim")]),
    ],
    swiftLanguageModes: [.v5]
)
