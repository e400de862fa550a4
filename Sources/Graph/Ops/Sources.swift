extension Graph {
    /// A value fed at run time.
    ///
    /// - Parameters:
    ///   - name: The node's name (made unique within the graph).
    ///   - shape: Static shape; `nil` dimensions (such as the batch size) are known only at run time.
    ///   - dtype: Element type (default `float32`).
    @discardableResult
    public func placeholder(_ name: String, shape: Shape, dtype: DType = .float32,
                            file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        if let bad = shape.dims.first(where: { ($0 ?? 0) < 0 }) {
            let t = addNode(.placeholder, inputs: [], name: name, type: TypeInfo(dtype, Shape(shape.dims.map { ($0 ?? 0) < 0 ? nil : $0 })), location: loc)
            record(Diagnostic(nodeName: t.name, op: "placeholder", inputs: [], message: "negative dimension \(bad ?? 0) in shape \(shape)", location: loc),
                   invalidating: t)
            return t
        }
        return addNode(.placeholder, inputs: [], name: name, type: TypeInfo(dtype, shape), location: loc)
    }

    /// A trainable (or otherwise mutable) value held by each `Session`, set from
    /// `initializer` when first needed.
    ///
    /// - Parameters:
    ///   - name: The node's name.
    ///   - initializer: How the first value is made (random initializers are seeded and reproducible).
    ///   - shape: Fully known shape.
    ///   - dtype: Element type (default `float32`).
    ///   - seed: Seed of random initializers.
    @discardableResult
    public func variable(_ name: String, initializer: Initializer, shape: [Int], dtype: DType = .float32,
                         seed: UInt64 = 0, file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        let t = addNode(.variable(initializer, seed: seed), inputs: [], name: name,
                        type: TypeInfo(dtype, Shape(known: shape.map { max($0, 0) })), location: loc)
        var problem: String?
        if shape.contains(where: { $0 < 0 }) { problem = "negative dimension in shape \(shape)" }
        if case .value(let v) = initializer, v.shape != shape || v.dtype != dtype {
            problem = "initial value has \(v.dtype)\(v.shape), the variable is \(dtype)\(shape)"
        }
        if !dtype.isFloatingPoint {
            switch initializer {
            case .zeros, .ones, .constant, .value: break
            default: problem = "random initializer \(initializer) needs a floating-point dtype, not \(dtype)"
            }
        }
        if let problem {
            record(Diagnostic(nodeName: t.name, op: "variable", inputs: [], message: problem, location: loc), invalidating: t)
        }
        return t
    }

    /// A variable with an explicit initial value.
    @discardableResult
    public func variable(_ name: String, value: HostTensor, file: String = #fileID, line: Int = #line) -> Tensor {
        variable(name, initializer: .value(value), shape: value.shape, dtype: value.dtype, file: file, line: line)
    }

    /// A constant tensor.
    public func constant(_ value: HostTensor, name: String? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        addNode(.constant(value), inputs: [], name: name, location: SourceLocation(file: file, line: line))
    }

    /// A constant from an array of scalars and a shape (a diagnostic if they do not fit).
    public func constant<T: TensorScalar>(_ values: [T], shape: [Int], name: String? = nil,
                                          file: String = #fileID, line: Int = #line) -> Tensor {
        let loc = SourceLocation(file: file, line: line)
        do {
            return constant(try HostTensor(values, shape: shape), name: name, file: file, line: line)
        } catch {
            let t = addNode(.constant(HostTensor(zeros: T.dtype, shape: [])), inputs: [], name: name, location: loc)
            record(Diagnostic(nodeName: t.name, op: "const", inputs: [], message: "\(error)", location: loc), invalidating: t)
            return t
        }
    }

    /// A scalar constant of `dtype`.
    public func constant(_ value: Double, dtype: DType = .float32, name: String? = nil,
                         file: String = #fileID, line: Int = #line) -> Tensor {
        constant(value, dtype: dtype, location: SourceLocation(file: file, line: line), name: name)
    }

    func constant(_ value: Double, dtype: DType, location: SourceLocation, name: String? = nil) -> Tensor {
        addNode(.constant(HostTensor(filled: value, dtype: dtype, shape: [])), inputs: [], name: name, location: location)
    }

    /// Groups several tensors (typically updates) into one node: fetching it runs them all.
    public func group(_ tensors: [Tensor], name: String? = nil, file: String = #fileID, line: Int = #line) -> Tensor {
        addNode(.group, inputs: tensors, name: name ?? "group", location: SourceLocation(file: file, line: line))
    }
}
