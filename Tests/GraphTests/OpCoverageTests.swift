import XCTest
@testable import Graph

/// One inference check per `Op` case, through `Op.infer` directly (the path the runtime uses
/// with concrete shapes). `caseName` is an exhaustive switch: adding an `Op` case breaks this
/// file's build until the case gets an entry here.
final class OpCoverageTests: XCTestCase {
    private func caseName(_ op: Op) -> String {
        switch op {
        case .placeholder: return "placeholder"
        case .variable: return "variable"
        case .constant: return "constant"
        case .unary: return "unary"
        case .binary: return "binary"
        case .select: return "select"
        case .cast: return "cast"
        case .identity: return "identity"
        case .stopGradient: return "stopGradient"
        case .matmul: return "matmul"
        case .reduce: return "reduce"
        case .argReduce: return "argReduce"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .broadcastTo: return "broadcastTo"
        case .squeeze: return "squeeze"
        case .expandDims: return "expandDims"
        case .concat: return "concat"
        case .slice: return "slice"
        case .gather: return "gather"
        case .pad: return "pad"
        case .tile: return "tile"
        case .softmax: return "softmax"
        case .logSoftmax: return "logSoftmax"
        case .conv2d: return "conv2d"
        case .maxPool2d: return "maxPool2d"
        case .avgPool2d: return "avgPool2d"
        case .oneHot: return "oneHot"
        case .softmaxCrossEntropy: return "softmaxCrossEntropy"
        case .random: return "random"
        case .assign: return "assign"
        case .group: return "group"
        case .broadcastLike: return "broadcastLike"
        case .sumLike: return "sumLike"
        case .reshapeLike: return "reshapeLike"
        case .sliceBackward: return "sliceBackward"
        case .gatherBackward: return "gatherBackward"
        case .conv2dBackwardInput: return "conv2dBackwardInput"
        case .conv2dBackwardFilter: return "conv2dBackwardFilter"
        case .maxPool2dBackward: return "maxPool2dBackward"
        case .avgPool2dBackward: return "avgPool2dBackward"
        case .fused: return "fused"
        case .linear: return "linear"
        case .fusedReduce: return "fusedReduce"
        case .assignMatMul: return "assignMatMul"
        }
    }
    private static let caseCount = 45

    func testEveryOpCaseInfersWithConcreteShapes() {
        let f32 = DType.float32
        let prog = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1)], dtypes: [f32, f32, f32])
        let cases: [(Op, [(DType, Shape)], TypeInfo)] = [
            (.constant(HostTensor([1, 2] as [Int32])), [], TypeInfo(.int32, [2])),
            (.unary(.exp), [(f32, [2, 3])], TypeInfo(f32, [2, 3])),
            (.binary(.add), [(f32, [2, 1]), (f32, [3])], TypeInfo(f32, [2, 3])),
            (.select, [(.bool, [2, 1]), (f32, [3]), (f32, [])], TypeInfo(f32, [2, 3])),
            (.cast(.int64), [(f32, [4])], TypeInfo(.int64, [4])),
            (.identity, [(.int32, [4])], TypeInfo(.int32, [4])),
            (.stopGradient, [(f32, [4])], TypeInfo(f32, [4])),
            (.matmul(transposeA: true, transposeB: false), [(f32, [3, 2]), (f32, [3, 5])], TypeInfo(f32, [2, 5])),
            (.reduce(.sum, axes: [0, 2], keepDims: false), [(f32, [2, 3, 4])], TypeInfo(f32, [3])),
            (.argReduce(.argmin, axis: 1, keepDims: true), [(f32, [2, 3])], TypeInfo(.int64, [2, 1])),
            (.reshape([-1, 2]), [(f32, [3, 4])], TypeInfo(f32, [6, 2])),
            (.transpose([1, 0]), [(f32, [3, 4])], TypeInfo(f32, [4, 3])),
            (.broadcastTo([2, 3]), [(f32, [3])], TypeInfo(f32, [2, 3])),
            (.squeeze(axes: [0]), [(f32, [1, 3])], TypeInfo(f32, [3])),
            (.expandDims(axis: 1), [(f32, [3])], TypeInfo(f32, [3, 1])),
            (.concat(axis: 0), [(f32, [1, 3]), (f32, [2, 3])], TypeInfo(f32, [3, 3])),
            (.slice(SliceSpec(begin: [nil], end: [nil], stride: [2])), [(f32, [5])], TypeInfo(f32, [3])),
            (.gather(axis: 0), [(f32, [10, 4]), (.int32, [2, 3])], TypeInfo(f32, [2, 3, 4])),
            (.pad([PadWidth(1, 2)], value: 0), [(f32, [3])], TypeInfo(f32, [6])),
            (.tile([3]), [(f32, [2])], TypeInfo(f32, [6])),
            (.softmax(axis: 1), [(f32, [2, 3])], TypeInfo(f32, [2, 3])),
            (.logSoftmax(axis: 0), [(f32, [2, 3])], TypeInfo(f32, [2, 3])),
            (.conv2d(Conv2DConfig(strides: (2, 2), padding: .same)), [(f32, [1, 3, 9, 9]), (f32, [8, 3, 3, 3])], TypeInfo(f32, [1, 8, 5, 5])),
            (.maxPool2d(Pool2DConfig(kernel: (2, 2))), [(f32, [1, 3, 9, 9])], TypeInfo(f32, [1, 3, 4, 4])),
            (.avgPool2d(Pool2DConfig(kernel: (3, 3), strides: (1, 1), padding: .same)), [(f32, [1, 3, 9, 9])], TypeInfo(f32, [1, 3, 9, 9])),
            (.oneHot(depth: 5, dtype: .float64), [(.int64, [3])], TypeInfo(.float64, [3, 5])),
            (.softmaxCrossEntropy, [(f32, [4, 10]), (.int32, [4])], TypeInfo(f32, [4])),
            (.random(.normal(mean: 0, std: 1), seed: 1, shape: [2, 2]), [], TypeInfo(f32, [2, 2])),
            (.random(.uniform(low: 0, high: 1), seed: 1, shape: [nil]), [(f32, [7])], TypeInfo(f32, [7])),
            (.assign(.sub), [(f32, [2, 2]), (f32, [2])], TypeInfo(f32, [2, 2])),
            (.group, [(f32, [2]), (.int32, [])], TypeInfo(f32, [])),
            (.broadcastLike, [(f32, [3]), (f32, [2, 3])], TypeInfo(f32, [2, 3])),
            (.sumLike, [(f32, [2, 3]), (f32, [3])], TypeInfo(f32, [3])),
            (.reshapeLike, [(f32, [6]), (f32, [2, 3])], TypeInfo(f32, [2, 3])),
            (.sliceBackward(SliceSpec(begin: [1], end: [3])), [(f32, [2]), (f32, [5])], TypeInfo(f32, [5])),
            (.gatherBackward(axis: 0), [(f32, [2, 4]), (.int64, [2]), (f32, [10, 4])], TypeInfo(f32, [10, 4])),
            (.conv2dBackwardInput(Conv2DConfig()), [(f32, [1, 8, 7, 7]), (f32, [8, 3, 3, 3]), (f32, [1, 3, 9, 9])], TypeInfo(f32, [1, 3, 9, 9])),
            (.conv2dBackwardFilter(Conv2DConfig()), [(f32, [1, 3, 9, 9]), (f32, [1, 8, 7, 7]), (f32, [8, 3, 3, 3])], TypeInfo(f32, [8, 3, 3, 3])),
            (.maxPool2dBackward(Pool2DConfig(kernel: (2, 2))), [(f32, [1, 3, 8, 8]), (f32, [1, 3, 4, 4])], TypeInfo(f32, [1, 3, 8, 8])),
            (.avgPool2dBackward(Pool2DConfig(kernel: (2, 2))), [(f32, [1, 3, 4, 4]), (f32, [1, 3, 8, 8])], TypeInfo(f32, [1, 3, 8, 8])),
            (.fused(prog), [(f32, [2, 1]), (f32, [4])], TypeInfo(f32, [2, 4])),
            (.linear(transposeA: false, transposeB: true, activation: .gelu), [(f32, [2, 3]), (f32, [5, 3]), (f32, [5])], TypeInfo(f32, [2, 5])),
            (.fusedReduce(.mean, axes: [1], keepDims: true, prog), [(f32, [2, 4]), (f32, [4])], TypeInfo(f32, [2, 1])),
            (.assignMatMul(transposeA: true, transposeB: false, alpha: -0.5), [(f32, [3, 5]), (f32, [4, 3]), (f32, [nil, 5])], TypeInfo(f32, [3, 5])),
        ]
        var covered = Set<String>()
        for (op, ins, expected) in cases {
            covered.insert(caseName(op))
            switch op.infer(inputs: ins) {
            case .success(let t): XCTAssertEqual(t, expected, "\(op.name)")
            case .failure(let p): XCTFail("\(op.name): \(p.message)")
            }
        }
        // Sources are typed by their builders, not by inference.
        for op in [Op.placeholder, .variable(.zeros, seed: 0)] {
            covered.insert(caseName(op))
            if case .success = op.infer(inputs: []) { XCTFail("\(op.name) inferred without its builder") }
        }
        XCTAssertEqual(covered.count, Self.caseCount, "every Op case has a row")
    }

    /// Every op checks its input count before reading its inputs (no traps on malformed nodes).
    func testWrongArityFailsCleanly() {
        let samples: [Op] = [.unary(.exp), .binary(.add), .select, .matmul(transposeA: false, transposeB: false),
                             .conv2d(Conv2DConfig()), .gatherBackward(axis: 0), .linear(transposeA: false, transposeB: false, activation: nil),
                             .conv2dBackwardInput(Conv2DConfig()), .maxPool2dBackward(Pool2DConfig(kernel: (2, 2)))]
        for op in samples {
            guard case .failure(let p) = op.infer(inputs: []) else { return XCTFail("\(op.name) accepted no inputs") }
            XCTAssertTrue(p.message.hasPrefix("expects"), p.message)
        }
        if case .success = Op.random(.uniform(low: 0, high: 1), seed: 0, shape: [1]).infer(inputs: [(.float32, [1]), (.float32, [1])]) {
            XCTFail("random accepted two inputs")
        }
    }
}
