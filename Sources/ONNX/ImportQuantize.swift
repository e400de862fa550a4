import Graph

// QuantizeLinear and DequantizeLinear on the emulated narrow types (docs/onnx.md): per-tensor,
// per-axis and blocked scales and zero points, integer and float8/float4 quantized types.

extension NodeContext {
    /// The integer range of each quantized integer type.
    static let quantizedRanges: [NarrowFormat.Kind: (Double, Double)] = [
        .uint8: (0, 255), .int8: (-128, 127), .uint16: (0, 65535), .int16: (-32768, 32767),
        .uint4: (0, 15), .int4: (-8, 7), .uint2: (0, 3), .int2: (-2, 1),
    ]

    /// A scale or zero point laid out to broadcast against `x`: a scalar or one-element tensor as
    /// is, a vector along `axis` (per-axis), or — with `blockSize` — `x`'s shape with `axis`
    /// divided into blocks, each value repeated over its block.
    func quantizationParameter(_ v: Tensor, like x: Tensor, axis: Int, blockSize: Int, _ what: String) throws -> Tensor {
        if v.rank == 0 { return v }
        if v.shape.elementCount == 1 { return v.reshaped([]) }
        let a = try self.axis(axis, rank: x.rank)
        if blockSize <= 0 {
            guard v.rank == 1 else { throw fail("\(what) must be a scalar or a vector along axis \(a) (or use block_size), got \(v.shape)") }
            var dims = [Int](repeating: 1, count: x.rank)
            guard let n = v.shape.dims[0] else { throw fail("\(what) needs a known length") }
            dims[a] = n
            return v.reshaped(dims)
        }
        guard v.rank == x.rank, let vs = v.shape.known, let length = x.shape.dims[a] else {
            throw fail("blocked \(what) needs known shapes of the same rank as the input, got \(v.shape) for \(x.shape)")
        }
        var wide = vs
        wide.insert(blockSize, at: a + 1)
        var merged = vs
        merged[a] = vs[a] * blockSize
        try checkShape(wide, "blocked \(what)")
        let repeated = v.expandingDims(axis: a + 1).broadcast(to: wide).reshaped(merged)
        guard merged[a] >= length else { throw fail("blocked \(what): \(vs[a]) blocks of \(blockSize) do not cover \(length) elements") }
        return merged[a] == length ? repeated : sliceAxis(repeated, axis: a, begin: 0, end: length)
    }

    func quantizeLinearOp() throws -> Tensor {
        let x = try input(0), scale = try input(1)
        guard x.dtype.isFloatingPoint, scale.dtype.isFloatingPoint else { throw fail("needs floating-point x and scale, got \(x.dtype) and \(scale.dtype)") }
        let axis = try int("axis", 1), blockSize = try int("block_size", 0)
        let declared = try int("output_dtype", 0)
        let code: Int32
        if has(2) {
            let zeroPoint = try input(2)
            code = elemType(2) ?? ONNXTensor.code(of: zeroPoint.dtype)
            guard declared == 0 || Int32(declared) == code else { throw fail("output_dtype \(declared) differs from the zero point's type \(code)") }
        } else {
            code = declared == 0 ? 2 : Int32(truncatingIfNeeded: declared)   // uint8 by default
        }
        guard let kind = ONNXTensor.narrowKind(ofCode: code), kind != .uint32, kind != .float16, kind != .bfloat16, kind != .float8E8M0 else {
            throw fail("cannot quantize to ONNX type \(code) (8-, 16-, 4- and 2-bit integers, float8 and float4 are supported)")
        }
        outputElemType = code
        let s = try quantizationParameter(scale.cast(to: x.dtype), like: x, axis: axis, blockSize: blockSize, "y_scale")
        var y = x / s
        if let (lo, hi) = Self.quantizedRanges[kind] {
            y = y.map(.round)
            if has(2) {
                let zp = try quantizationParameter(try input(2), like: x, axis: axis, blockSize: blockSize, "y_zero_point")
                y = y + zp.cast(to: x.dtype)
            }
            return minimum(maximum(y, scalar(lo, x.dtype)), scalar(hi, x.dtype)).cast(to: .int32)
        }
        if kind == .float4E2M1, has(2) {
            let zp = try quantizationParameter(try input(2), like: x, axis: axis, blockSize: blockSize, "y_zero_point")
            y = y + zp.cast(to: x.dtype)
        }
        let saturating = try int("saturate", 1) != 0
        let saturate = kind == .float4E2M1 || saturating
        return y.narrow(to: NarrowFormat(kind, saturate: saturate)).cast(to: .float32)
    }

    func dequantizeLinearOp() throws -> Tensor {
        let x = try input(0), scale = try input(1)
        guard scale.dtype.isFloatingPoint else { throw fail("needs a floating-point scale, got \(scale.dtype)") }
        let axis = try int("axis", 1), blockSize = try int("block_size", 0)
        let xKind = elemType(0).flatMap { ONNXTensor.narrowKind(ofCode: $0) }
        var dx = x.cast(to: .float32)
        // Float8 and float4 zero points must be zero (ONNX), so they are not subtracted.
        if has(2), !(xKind?.isFloatingPoint ?? x.dtype.isFloatingPoint) {
            let zp = try quantizationParameter(try input(2), like: x, axis: axis, blockSize: blockSize, "x_zero_point")
            dx = dx - zp.cast(to: .float32)
        }
        let s = try quantizationParameter(scale.cast(to: .float32), like: x, axis: axis, blockSize: blockSize, "x_scale")
        var y = dx * s
        let declared = try int("output_dtype", 0)
        let code = declared != 0 ? Int32(truncatingIfNeeded: declared) : (elemType(1) ?? ONNXTensor.code(of: scale.dtype))
        outputElemType = code
        let dtype = try ONNXTensor.dtype(ofCode: code, what: "output_dtype")
        guard dtype.isFloatingPoint else { throw fail("the output type must be floating point, got ONNX type \(code)") }
        if let kind = ONNXTensor.narrowKind(ofCode: code) { y = y.narrow(to: NarrowFormat(kind, saturate: false)) }
        return y.cast(to: dtype)
    }
}
