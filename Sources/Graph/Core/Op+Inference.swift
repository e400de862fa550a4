/// Why inference failed, with a best guess of the result so later nodes can still be checked.
public struct InferenceProblem: Error, Sendable {
    public var message: String
    public var dtypeGuess: DType?
    public var shapeGuess: Shape?
    public init(_ message: String, dtype: DType? = nil, shape: Shape? = nil) {
        self.message = message
        dtypeGuess = dtype
        shapeGuess = shape
    }
}

/// The dtype and shape of a node's result.
public struct TypeInfo: Hashable, Sendable {
    public var dtype: DType
    public var shape: Shape
    public init(_ dtype: DType, _ shape: Shape) { self.dtype = dtype; self.shape = shape }
}

extension Op {
    /// The number of data inputs the op takes (nil: any number ≥ 1, or 0/1 for random).
    public var arity: Int? {
        switch self {
        case .placeholder, .variable, .constant: return 0
        case .unary, .cast, .identity, .stopGradient, .reduce, .argReduce, .reshape, .transpose, .broadcastTo,
             .squeeze, .expandDims, .slice, .pad, .tile, .softmax, .logSoftmax, .maxPool2d, .avgPool2d, .oneHot:
            return 1
        case .binary, .matmul, .gather, .conv2d, .softmaxCrossEntropy, .assign, .broadcastLike, .sumLike,
             .reshapeLike, .sliceBackward, .maxPool2dBackward, .avgPool2dBackward:
            return 2
        case .select, .gatherBackward, .conv2dBackwardInput, .conv2dBackwardFilter: return 3
        case .linear, .assignMatMul: return 3
        case .concat, .group, .random, .fused, .fusedReduce: return nil
        }
    }

    /// Infers the result dtype and static shape from the inputs' dtypes and shapes.
    ///
    /// The same function serves graph building (with unknown dimensions) and the
    /// runtime (with concrete shapes), so the two can never disagree.
    public func infer(inputs: [(DType, Shape)]) -> Result<TypeInfo, InferenceProblem> {
        if let n = arity, inputs.count != n {
            return .failure(InferenceProblem("expects \(n) input(s), got \(inputs.count)"))
        }
        do {
            return .success(try inferThrowing(inputs))
        } catch let p as InferenceProblem {
            return .failure(p)
        } catch {
            return .failure(InferenceProblem("\(error)"))
        }
    }

    private func inferThrowing(_ ins: [(DType, Shape)]) throws -> TypeInfo {
        switch self {
        case .placeholder, .variable:
            // Sources carry their type in the node; the builder passes it as a pseudo-input.
            throw InferenceProblem("sources are typed by their builder")
        case .constant(let t):
            return TypeInfo(t.dtype, Shape(known: t.shape))
        case .unary(let f): return try Inference.unary(f, ins[0])
        case .binary(let f): return try Inference.binary(f, ins[0], ins[1])
        case .select: return try Inference.select(ins[0], ins[1], ins[2])
        case .cast(let d): return TypeInfo(d, ins[0].1)
        case .identity, .stopGradient: return TypeInfo(ins[0].0, ins[0].1)
        case .matmul(let ta, let tb): return try Inference.matmul(ins[0], ins[1], ta, tb)
        case .reduce(let f, let axes, let keep): return try Inference.reduce(f, ins[0], axes, keep)
        case .argReduce(_, let axis, let keep): return try Inference.argReduce(ins[0], axis, keep)
        case .reshape(let target): return try Inference.reshape(ins[0], target)
        case .transpose(let perm): return try Inference.transpose(ins[0], perm)
        case .broadcastTo(let target): return try Inference.broadcastTo(ins[0], target)
        case .squeeze(let axes): return try Inference.squeeze(ins[0], axes)
        case .expandDims(let axis): return try Inference.expandDims(ins[0], axis)
        case .concat(let axis): return try Inference.concat(ins, axis)
        case .slice(let spec): return try Inference.slice(ins[0], spec)
        case .gather(let axis): return try Inference.gather(ins[0], ins[1], axis)
        case .pad(let widths, _): return try Inference.pad(ins[0], widths)
        case .tile(let m): return try Inference.tile(ins[0], m)
        case .softmax(let axis), .logSoftmax(let axis): return try Inference.softmax(ins[0], axis)
        case .conv2d(let c): return try Inference.conv2d(ins[0], ins[1], c)
        case .maxPool2d(let c), .avgPool2d(let c): return try Inference.pool2d(ins[0], c)
        case .oneHot(let depth, let dtype): return try Inference.oneHot(ins[0], depth, dtype)
        case .softmaxCrossEntropy: return try Inference.softmaxCrossEntropy(ins[0], ins[1])
        case .random(let dist, _, let shape): return try Inference.random(dist, shape, ins)
        case .assign: return try Inference.assign(ins[0], ins[1])
        case .group: return TypeInfo(.float32, .scalar)
        case .broadcastLike: return try Inference.broadcastLike(ins[0], ins[1])
        case .sumLike: return try Inference.sumLike(ins[0], ins[1])
        case .reshapeLike: return try Inference.reshapeLike(ins[0], ins[1])
        case .sliceBackward(let spec): return try Inference.sliceBackward(ins[0], ins[1], spec)
        case .gatherBackward(let axis): return try Inference.gatherBackward(ins[0], ins[1], ins[2], axis)
        case .conv2dBackwardInput: return TypeInfo(ins[0].0, ins[2].1)
        case .conv2dBackwardFilter: return TypeInfo(ins[1].0, ins[2].1)
        case .maxPool2dBackward: return TypeInfo(ins[1].0, ins[0].1)
        case .avgPool2dBackward: return TypeInfo(ins[0].0, ins[1].1)
        case .fused(let p): return try Inference.fused(p, ins)
        case .linear(let ta, let tb, _):
            let mm = try Inference.matmul(ins[0], ins[1], ta, tb)
            _ = try Inference.broadcast([mm.shape, ins[2].1], mm.dtype)
            return mm
        case .fusedReduce(let f, let axes, let keep, let p):
            return try Inference.reduce(f, (p.resultDType, try Inference.fused(p, ins).shape), axes, keep)
        case .assignMatMul(let ta, let tb, _):
            guard ins[1].1.rank == 2, ins[2].1.rank == 2 else {
                throw InferenceProblem("assignMatMul needs rank-2 factors, got \(ins[1].1) and \(ins[2].1)", dtype: ins[0].0, shape: ins[0].1)
            }
            let mm = try Inference.matmul(ins[1], ins[2], ta, tb)
            guard mm.dtype == ins[0].0 else {
                throw InferenceProblem("cannot add a \(mm.dtype) product to a \(ins[0].0) variable", dtype: ins[0].0, shape: ins[0].1)
            }
            let fits = ins[0].1.rank == 2 && !zip(ins[0].1.dims, mm.shape.dims).contains { v, p in
                if let v, let p { return v != p }
                return false
            }
            guard fits else {
                throw InferenceProblem("cannot add a product of shape \(mm.shape) to a variable of shape \(ins[0].1)", dtype: ins[0].0, shape: ins[0].1)
            }
            return TypeInfo(ins[0].0, ins[0].1)
        }
    }
}

/// Shape and dtype rules, one function per op (family), shared by builder and runtime.
enum Inference {
    typealias In = (DType, Shape)

    static func fail(_ msg: String, _ d: DType? = nil, _ s: Shape? = nil) -> InferenceProblem {
        InferenceProblem(msg, dtype: d, shape: s)
    }

    static func axis(_ a: Int, rank: Int, _ what: String = "axis") throws -> Int {
        guard let n = normalizeAxis(a, rank: rank) else {
            throw fail("\(what) \(a) is out of range for rank \(rank)")
        }
        return n
    }

    static func fused(_ p: FusedProgram, _ ins: [In]) throws -> TypeInfo {
        guard p.inputCount == ins.count, p.dtypes.count == p.steps.count, !p.steps.isEmpty else {
            throw fail("fused program reads \(p.inputCount) inputs, has \(ins.count)")
        }
        return TypeInfo(p.resultDType, try broadcast(ins.map(\.1), p.resultDType))
    }

    /// Equal known dimensions, or nil when either is unknown. Throws when both are known and differ.
    static func unify(_ a: Int?, _ b: Int?, _ msg: @autoclosure () -> String) throws -> Int? {
        if let a, let b {
            guard a == b else { throw fail(msg()) }
            return a
        }
        return a ?? b
    }
}
