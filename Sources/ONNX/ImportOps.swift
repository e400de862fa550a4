import Graph

// The ONNX op table: each ONNX op composed from existing IR ops.

extension NodeContext {
    /// Converts the node; returns one tensor per ONNX output (nil: that output is not supported).
    func convert() throws -> [Tensor?] {
        let op = node.opType
        if let f = Self.unaryOps[op] { return [try input(0).map(f)] }
        if let f = Self.binaryOps[op] { return [try binary(f)] }
        switch op {
        case "Identity": return [try input(0).identity()]
        case "Constant": return [try constantOp()]
        case "Dropout": return try dropoutOp()
        case "LeakyRelu": return [try input(0).map(.leakyRelu(alpha: try float("alpha", 0.01)))]
        case "Elu": return [try input(0).map(.elu(alpha: try float("alpha", 1)))]
        case "Selu":
            let x = try input(0)
            return [x.map(.elu(alpha: try float("alpha", 1.67326319217681884765625))) * (try float("gamma", 1.05070102214813232421875))]
        case "Celu":
            let x = try input(0), a = try float("alpha", 1)
            return [relu(x) + minimum(scalar(0, x.dtype), (exp(x / a) - 1) * a)]
        case "Gelu":
            let x = try input(0)
            if try string("approximate", "none") == "tanh" {
                let inner = (x + x * x * x * 0.044715) * (2 / Double.pi).squareRoot()
                return [x * 0.5 * (tanh(inner) + 1)]
            }
            return [x.map(.gelu)]
        case "HardSigmoid":
            let x = try input(0)
            return [hardSigmoid(x, alpha: try float("alpha", 0.2), beta: try float("beta", 0.5))]
        case "HardSwish":
            let x = try input(0)
            return [x * hardSigmoid(x, alpha: 1.0 / 6, beta: 0.5)]
        case "Softsign":
            let x = try input(0)
            return [x / (abs(x) + 1)]
        case "Mish":
            let x = try input(0)
            return [x * tanh(x.map(.softplus))]
        case "ThresholdedRelu":
            let x = try input(0)
            return [`where`(x .> scalar(try float("alpha", 1), x.dtype), x, scalar(0, x.dtype))]
        case "PRelu":
            let x = try input(0), slope = try input(1)
            return [`where`(x .< scalar(0, x.dtype), x * slope, x)]
        case "Tan":
            let x = try input(0)
            return [sin(x) / cos(x)]
        case "IsNaN":
            let x = try input(0)
            return [x .!= x]
        case "IsInf":
            let x = try input(0)
            let pos = try int("detect_positive", 1) != 0, negv = try int("detect_negative", 1) != 0
            let inf = scalar(.infinity, x.dtype), ninf = scalar(-.infinity, x.dtype)
            switch (pos, negv) {
            case (true, true): return [abs(x) .== inf]
            case (true, false): return [x .== inf]
            case (false, true): return [x .== ninf]
            case (false, false): return [x .!= x .& (x .== x)]
            }
        case "Sum", "Max", "Min", "Mean": return [try variadic(op)]
        case "Xor": return [try input(0) .!= (try input(1))]
        case "Pow": return [try powOp()]
        case "Mod": return [try modOp()]
        case "Where": return [`where`(try input(0), try input(1), try input(2))]
        case "Clip": return [try clipOp()]
        case "Cast": return [try castOp(to: Int32(truncatingIfNeeded: try int("to", 1)))]
        case "CastLike":
            let like = try input(1)
            return [try castOp(to: elemType(1) ?? ONNXTensor.code(of: like.dtype))]
        case "MatMul": return [try matmulOp()]
        case "Gemm": return [try gemmOp()]
        case "Conv": return [try convOp()]
        case "ConvTranspose": return [try convTransposeOp()]
        case "Resize", "Upsample": return [try resizeOp()]
        case "RNN", "GRU", "LSTM": return try recurrentOp()
        case "NegativeLogLikelihoodLoss": return [try nllLossOp()]
        case "Attention": return try attentionOp()
        case "RotaryEmbedding": return [try rotaryEmbeddingOp()]
        case "CenterCropPad": return [try centerCropPadOp()]
        case "TopK": return try topKOp()
        case "Einsum": return [try einsumOp()]
        case "GatherND": return [try gatherNDOp()]
        case "HannWindow", "HammingWindow", "BlackmanWindow": return [try windowOp()]
        case "LpPool": return [try lpPoolOp()]
        case "LRN": return [try lrnOp()]
        case "AffineGrid": return [try affineGridOp()]
        case "GridSample": return [try gridSampleOp()]
        case "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "BitShift": return [try bitwiseOp(op)]
        case "CumProd": return [try cumProdOp()]
        case "ScatterND": return [try scatterNDOp()]
        case "ScatterElements", "Scatter": return [try scatterElementsOp()]
        case "SoftmaxCrossEntropyLoss": return try softmaxCrossEntropyLossOp()
        case "MaxPool", "AveragePool": return try poolOp(max: op == "MaxPool")
        case "GlobalAveragePool", "GlobalMaxPool":
            let x = try input(0)
            guard x.rank >= 3 else { throw fail("needs an input of rank ≥ 3, got \(x.shape)") }
            let axes = Array(2..<x.rank)
            return [op == "GlobalMaxPool" ? x.max(axes: axes, keepDims: true) : x.mean(axes: axes, keepDims: true)]
        case "BatchNormalization": return try batchNormOp()
        case "InstanceNormalization": return [try instanceNormOp()]
        case "LayerNormalization": return try layerNormOp()
        case "Softmax", "LogSoftmax", "Hardmax": return [try softmaxOp(op)]
        case "Reshape": return [try reshapeOp()]
        case "Flatten": return [try flattenOp()]
        case "Transpose":
            let x = try input(0)
            let perm = try ints("perm") ?? Array((0..<x.rank).reversed())
            guard perm.count == x.rank, Set(perm) == Set(0..<x.rank) else { throw fail("perm \(perm) is not a permutation of \(x.rank) axes") }
            return [x.transposed(perm)]
        case "Squeeze": return [try squeezeOp()]
        case "Unsqueeze": return [try unsqueezeOp()]
        case "Concat":
            let xs = try allInputs()
            guard let first = xs.first else { throw fail("needs at least one input") }
            return [try checkResult(concat(xs, axis: try axis(try int("axis", 0), rank: first.rank)))]
        case "Split": return try splitOp()
        case "Slice": return [try sliceOp()]
        case "Gather": return [try gatherOp()]
        case "Expand": return [try expandOp()]
        case "Tile":
            let x = try input(0)
            let reps = try staticInts(1, "repeats")
            guard reps.count == x.rank else { throw fail("needs \(x.rank) repeats, got \(reps)") }
            try checkShape(reps, "repeats")
            return [try checkResult(x.tiled(reps))]
        case "Pad": return [try padOp()]
        case "Shape": return [try shapeOp()]
        case "Size":
            let x = try input(0)
            guard let n = x.shape.elementCount else { throw fail("Size of a tensor with unknown dimensions \(x.shape) is not supported") }
            return [constantOutput(HostTensor(scalar: Int64(n)))]
        case "ConstantOfShape": return [try constantOfShapeOp()]
        case "Range": return [try rangeOp()]
        case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceLogSumExp",
             "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum":
            return [try reduceOp(op)]
        case "ArgMax", "ArgMin": return [try argOp(max: op == "ArgMax")]
        case "OneHot": return [try oneHotOp()]
        case "QuantizeLinear": return [try quantizeLinearOp()]
        case "DequantizeLinear": return [try dequantizeLinearOp()]
        case "Loop": return try loopOp()
        case "If": return try ifOp()
        default:
            if let r = try convertExtra(op) { return r }
            throw fail("op '\(op)' is not supported")
        }
    }

    static let unaryOps: [String: UnaryFunction] = [
        "Relu": .relu, "Sigmoid": .sigmoid, "Tanh": .tanh, "Exp": .exp, "Log": .log, "Sqrt": .sqrt,
        "Abs": .abs, "Neg": .neg, "Erf": .erf, "Floor": .floor, "Ceil": .ceil, "Round": .round,
        "Sign": .sign, "Sin": .sin, "Cos": .cos, "Reciprocal": .reciprocal, "Softplus": .softplus,
        "Not": .logicalNot,
    ]

    static let binaryOps: [String: BinaryFunction] = [
        "Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div,
        "Equal": .equal, "Less": .less, "LessOrEqual": .lessEqual, "Greater": .greater, "GreaterOrEqual": .greaterEqual,
        "And": .logicalAnd, "Or": .logicalOr,
    ]

    func binary(_ f: BinaryFunction) throws -> Tensor {
        try checkResult(try input(0).apply(f, try input(1)))
    }

    func hardSigmoid(_ x: Tensor, alpha: Double, beta: Double) -> Tensor {
        maximum(minimum(x * alpha + beta, scalar(1, x.dtype)), scalar(0, x.dtype))
    }

    func variadic(_ op: String) throws -> Tensor {
        let xs = try allInputs()
        guard var acc = xs.first else { throw fail("needs at least one input") }
        for x in xs.dropFirst() {
            switch op {
            case "Max": acc = maximum(acc, x)
            case "Min": acc = minimum(acc, x)
            default: acc = acc + x
            }
        }
        if xs.count == 1 { acc = acc.identity() }
        if op == "Mean", xs.count > 1 { acc = acc / Double(xs.count) }
        return try checkResult(acc)
    }

    func constantOp() throws -> Tensor {
        if let v = try tensorAttr("value") { return constantOutput(v) }
        if let a = try attr("value_float") { return constantOutput(HostTensor(scalar: a.f)) }
        if let a = try attr("value_floats") { return constantOutput(HostTensor(a.floats)) }
        if let a = try attr("value_int") { return constantOutput(HostTensor(scalar: a.i)) }
        if let a = try attr("value_ints") { return constantOutput(HostTensor(a.ints)) }
        throw fail("only tensor, float(s) and int(s) constants are supported")
    }

    func dropoutOp() throws -> [Tensor?] {
        let x = try input(0)
        var training = false
        if opset >= 12 {
            if has(2) { training = (try staticValue(2, "training_mode")).scalarValue.map { $0 != 0 } ?? false }
        } else if opset < 7 {
            training = try int("is_test", 0) == 0
        }
        var ratio = try float("ratio", 0.5)
        if opset >= 12, has(1), let r = (try staticValue(1, "ratio")).scalarValue { ratio = r }
        let seed = UInt64(truncatingIfNeeded: try int("seed", 0))
        let y: Tensor
        let mask: Tensor
        if training && ratio > 0 {
            y = dropout(x, rate: ratio, training: true, seed: seed)
            mask = y .!= scalar(0, x.dtype)
        } else {
            y = x.identity()
            mask = g.addNode(.broadcastLike, inputs: [g.constant(HostTensor(scalar: true)), x], location: location)
        }
        return [y, mask]
    }

    func oneHotOp() throws -> Tensor {
        var idx = try input(0)
        let depthV = try staticValue(1, "depth")
        guard let depthD = depthV.scalarValue, depthD >= 1, depthD <= Double(limits.maxElements) else { throw fail("depth must be a positive scalar") }
        let depth = Int(depthD)
        let values = try input(2)
        if !idx.dtype.isInteger { idx = idx.cast(to: .int64) }
        idx = `where`(idx .< scalar(0, idx.dtype), idx + scalar(Double(depth), idx.dtype), idx)
        let outRank = idx.rank + 1
        let a = try axis(try int("axis", -1), rank: outRank)
        let off = values.slice(begin: [0], end: [1]).reshaped([]), on = values.slice(begin: [1], end: [2]).reshaped([])
        var y = oneHot(idx, depth: depth, dtype: values.dtype) * (on - off) + off
        if a != outRank - 1 {
            var perm = Array(0..<(outRank - 1))
            perm.insert(outRank - 1, at: a)
            y = y.transposed(perm)
        }
        return try checkResult(y)
    }

    func powOp() throws -> Tensor {
        let x = try input(0)
        var y = try input(1)
        if x.dtype.isFloatingPoint {
            if y.dtype != x.dtype { y = y.cast(to: x.dtype) }
            return try checkResult(x.pow(y))
        }
        return try checkResult(x.cast(to: .float64).pow(y.cast(to: .float64)).map(.round).cast(to: x.dtype))
    }

    func modOp() throws -> Tensor {
        let a = try input(0), b = try input(1)
        let fmod = try int("fmod", 0) != 0
        let work: DType = a.dtype.isFloatingPoint ? a.dtype : .float64
        let af = a.dtype == work ? a : a.cast(to: work), bf = b.dtype == work ? b : b.cast(to: work)
        let q = af / bf
        let whole = fmod ? sign(q) * floor(abs(q)) : floor(q)
        var r = af - bf * whole
        if !fmod && work.isFloatingPoint {
            // Python's mod by ±inf: the dividend when the signs agree, else the divisor.
            let inf = scalar(.infinity, work)
            r = `where`(abs(bf) .== inf, `where`(af * bf .>= scalar(0, work), af, bf), r)
        }
        if !a.dtype.isFloatingPoint { r = r.map(.round).cast(to: a.dtype) }
        return try checkResult(r)
    }

    func clipOp() throws -> Tensor {
        var y = try input(0)
        if opset >= 11 {
            if let lo = try optInput(1) { y = maximum(y, lo) }
            if let hi = try optInput(2) { y = minimum(y, hi) }
        } else {
            if let lo = try attr("min") { y = maximum(y, scalar(Double(lo.f), y.dtype)) }
            if let hi = try attr("max") { y = minimum(y, scalar(Double(hi.f), y.dtype)) }
        }
        return y.identity()
    }

    func matmulOp() throws -> Tensor {
        var a = try input(0), b = try input(1)
        let ar = a.rank, br = b.rank
        guard ar >= 1, br >= 1 else { throw fail("MatMul needs inputs of rank ≥ 1, got \(a.shape) and \(b.shape)") }
        let dtype = a.dtype
        if !dtype.isFloatingPoint { a = a.cast(to: .float64); b = b.cast(to: .float64) }
        if ar == 1 { a = a.expandingDims(axis: 0) }
        if br == 1 { b = b.expandingDims(axis: 1) }
        var r = a.matmul(b)
        if br == 1 { r = r.squeezed(axes: [r.rank - 1]) }
        if ar == 1 { r = r.squeezed(axes: [r.rank - (br == 1 ? 1 : 2)]) }
        if !dtype.isFloatingPoint { r = r.map(.round).cast(to: dtype) }
        return try checkResult(r)
    }

    func gemmOp() throws -> Tensor {
        let a = try input(0), b = try input(1)
        guard a.rank == 2, b.rank == 2 else { throw fail("Gemm needs 2-D inputs, got \(a.shape) and \(b.shape)") }
        let alpha = try float("alpha", 1), beta = try float("beta", 1)
        var y = a.matmul(b, transposeA: try int("transA", 0) != 0, transposeB: try int("transB", 0) != 0)
        if alpha != 1 { y = y * alpha }
        if let c = try optInput(2) { y = y + (beta == 1 ? c : c * beta) }
        return try checkResult(y)
    }
}
