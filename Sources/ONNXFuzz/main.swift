// libFuzzer target for the ONNX reader and importer.
//
// Fuzzing build (see docs/onnx.md):
//   swift build --product ONNXFuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DONNX_FUZZ
//   SWIFT_BACKTRACE=enable=no .build/debug/ONNXFuzz CORPUS_DIR -max_total_time=300
// In a normal build (no ONNX_FUZZ) the same executable replays files given as arguments.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Graph
import ONNX
#if canImport(Glibc)
import Glibc
#endif

/// Small limits, so an input that asks for a huge allocation is rejected rather than slow.
let fuzzLimits = ONNXLimits(maxFileBytes: 1 << 22, maxElements: 1 << 20, maxTensorBytes: 1 << 23,
                            maxTotalBytes: 1 << 24, maxRank: 8, maxNodes: 4096)

/// Feeds one input to the reader: as a model (decode and import), then as a single tensor.
func fuzzOne(_ data: Data) {
    if let model = try? ONNXModelFile.decode(data, limits: fuzzLimits) {
        _ = try? ONNXImporter.importModel(model, options: ONNXImportOptions(limits: fuzzLimits))
        _ = try? ONNXImporter.importModel(model, options: ONNXImportOptions(initializersAsVariables: true, limits: fuzzLimits))
    }
    if let t = try? Onnx_TensorProto(serializedBytes: data) {
        _ = try? ONNXTensor.hostTensor(t, limits: fuzzLimits)
    }
}

#if ONNX_FUZZ
/// The entry libFuzzer's driver also links against.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let bytes else { return 0 }
    fuzzOne(Data(bytes: bytes, count: count))
    return 0
}

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzCallback) -> Int32

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let rc = LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
    guard let bytes else { return 0 }
    fuzzOne(Data(bytes: bytes, count: count))
    return 0
}
exit(rc)
#else
for path in CommandLine.arguments.dropFirst() {
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else {
        print("cannot read \(path)")
        continue
    }
    fuzzOne(data)
    print("ok \(path)")
}
#endif
