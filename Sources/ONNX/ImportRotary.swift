import Graph

// RotaryEmbedding (opset 23): rotates pairs of features by position-dependent angles given as
// cos/sin caches — the halves of the rotated features (or interleaved even/odd features) are
// the real and imaginary parts. Composed from slices, gathers and elementwise ops.

extension NodeContext {
    func rotaryEmbeddingOp() throws -> Tensor {
        let x0 = try input(0)
        var cosC = try input(1), sinC = try input(2)
        guard x0.dtype.isFloatingPoint, x0.rank == 3 || x0.rank == 4 else { throw fail("needs a float input of rank 3 or 4, got \(x0.dtype)\(x0.shape)") }
        // To [batch, sequence, heads, head size].
        var x: Tensor
        if x0.rank == 4 {
            x = x0.transposed([0, 2, 1, 3])
        } else {
            let heads = try int("num_heads", 0)
            guard heads > 0, let hidden = x0.shape.dims[2], hidden % heads == 0, let s = x0.shape.dims[1] else {
                throw fail("a 3-D input needs num_heads dividing a known hidden size, got \(x0.shape) and \(heads) heads")
            }
            x = x0.reshaped([-1, s, heads, hidden / heads])
        }
        guard let headSize = x.shape.dims[3] else { throw fail("needs a known head size, got \(x.shape)") }
        var dim = try int("rotary_embedding_dim", 0)
        if dim == 0 { dim = headSize }
        guard dim > 0, dim <= headSize, dim % 2 == 0 else { throw fail("rotary_embedding_dim \(dim) must be even and at most the head size \(headSize)") }
        if let ids = try optInput(3) {
            cosC = cosC.gather(ids, axis: 0)   // [batch, sequence, dim/2]
            sinC = sinC.gather(ids, axis: 0)
        }
        guard cosC.shape.dims.last == dim / 2, sinC.shape.dims.last == dim / 2 else {
            throw fail("the cos/sin caches' last dimension must be rotary_embedding_dim / 2 = \(dim / 2), got \(cosC.shape) and \(sinC.shape)")
        }
        let c = cosC.expandingDims(axis: cosC.rank - 1).cast(to: x.dtype), s = sinC.expandingDims(axis: sinC.rank - 1).cast(to: x.dtype)
        let rotate = dim == headSize ? x : x.slice(begin: [nil, nil, nil, 0], end: [nil, nil, nil, dim])
        let interleaved = try int("interleaved", 0) != 0
        let x1 = interleaved ? rotate.slice(begin: [nil, nil, nil, 0], end: [nil, nil, nil, nil], strides: [1, 1, 1, 2])
                             : rotate.slice(begin: [nil, nil, nil, 0], end: [nil, nil, nil, dim / 2])
        let x2 = interleaved ? rotate.slice(begin: [nil, nil, nil, 1], end: [nil, nil, nil, nil], strides: [1, 1, 1, 2])
                             : rotate.slice(begin: [nil, nil, nil, dim / 2], end: [nil, nil, nil, dim])
        let real = c * x1 - s * x2, imag = s * x1 + c * x2
        var rotated = interleaved
            ? concat([real.expandingDims(axis: 4), imag.expandingDims(axis: 4)], axis: 4).reshaped([-1] + x.shape.dims[1...2].map { $0 ?? -1 } + [dim])
            : concat([real, imag], axis: 3)
        if dim < headSize { rotated = concat([rotated, x.slice(begin: [nil, nil, nil, dim], end: [nil, nil, nil, nil])], axis: 3) }
        if x0.rank == 4 { return rotated.transposed([0, 2, 1, 3]) }
        guard let s0 = x0.shape.dims[1], let h0 = x0.shape.dims[2] else { throw fail("needs known sequence and hidden sizes") }
        return rotated.reshaped([-1, s0, h0])
    }
}
