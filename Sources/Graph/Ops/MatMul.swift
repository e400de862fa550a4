// Matrix multiplication: 2-D, and batched over broadcast leading axes.

extension Inference {
    static func matmul(_ a: In, _ b: In, _ ta: Bool, _ tb: Bool) throws -> TypeInfo {
        guard a.0 == b.0 else { throw fail("dtypes \(a.0) and \(b.0) differ", a.0) }
        guard a.0.isFloatingPoint else { throw fail("matmul needs floating-point inputs, got \(a.0)", a.0) }
        guard a.1.rank >= 2, b.1.rank >= 2 else {
            throw fail("matmul needs inputs of rank ≥ 2, got \(a.1) and \(b.1)", a.0)
        }
        let ad = a.1.dims, bd = b.1.dims
        let m = ta ? ad[ad.count - 1] : ad[ad.count - 2]
        let ka = ta ? ad[ad.count - 2] : ad[ad.count - 1]
        let kb = tb ? bd[bd.count - 1] : bd[bd.count - 2]
        let n = tb ? bd[bd.count - 2] : bd[bd.count - 1]
        guard let batch = Shape.broadcast(Shape(Array(ad.dropLast(2))), Shape(Array(bd.dropLast(2)))) else {
            throw fail("batch dimensions of \(a.1) and \(b.1) cannot broadcast", a.0)
        }
        let out = Shape(batch.dims + [m, n])
        if let ka, let kb, ka != kb {
            throw fail("inner dimensions differ: \(a.1)\(ta ? "ᵀ" : "") × \(b.1)\(tb ? "ᵀ" : "") (\(ka) vs \(kb))", a.0, out)
        }
        return TypeInfo(a.0, out)
    }
}

extension Tensor {
    /// Matrix product `self × other` over the last two axes; leading axes broadcast as a batch.
    ///
    /// - Parameters:
    ///   - transposeA: Use `selfᵀ` (transposes are passed to BLAS, never materialized).
    ///   - transposeB: Use `otherᵀ`.
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                       file: String = #fileID, line: Int = #line) -> Tensor {
        make(.matmul(transposeA: transposeA, transposeB: transposeB), [self, other], SourceLocation(file: file, line: line))
    }
}

/// Matrix product `a × b` (see ``Tensor/matmul(_:transposeA:transposeB:file:line:)``).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                   file: String = #fileID, line: Int = #line) -> Tensor {
    a.matmul(b, transposeA: transposeA, transposeB: transposeB, file: file, line: line)
}
