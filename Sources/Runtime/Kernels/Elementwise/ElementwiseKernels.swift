// Elementwise kernels: unary, broadcasting binary, select, cast, fused programs and
// fused reductions. See docs/performance.md for the design and the measured speed.
#if canImport(Glibc)
import Glibc
#endif
import CKernels

/// Elementwise kernels over raw buffers (row-major, contiguous).
///
/// The work is done by the C kernels of `CKernels` (vectorized loops compiled for AVX-512,
/// AVX2 and baseline x86-64, picked at load time). Fused programs run tile by tile
/// (`SG_TILE` elements, intermediates in L1-resident scratch), large outputs on all cores.
///
/// Every function works in place (`output` may equal an input of the output's shape).
/// Integer division truncates toward zero; an integer division by zero gives 0 and
/// `Int.min / -1` wraps to `Int.min` (no trap). Integer add/sub/mul/neg/abs wrap.
/// Float-to-integer casts truncate toward zero, send NaN to 0 and saturate at the integer
/// bounds; numbers to bool test `!= 0` (NaN is true).
enum ElementwiseKernels {
    /// Outputs at least this large are split across threads.
    static let parallelThreshold = 1 << 15

    /// `output[i] = f(input[i])` for `count` elements of `dtype`.
    static func unary(_ f: UnaryFunction, dtype: DType, input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int) {
        guard count > 0 else { return }
        let (op, param) = CCodes.unary(f)
        let dt = CCodes.dtype(dtype), size = dtype.byteSize
        Parallelism.forEachChunk(count, minChunk: parallelThreshold) { r in
            sg_unary(op, dt, input + r.lowerBound * size, output + r.lowerBound * size, Int64(r.count), param)
        }
    }

    /// `output = f(a, b)` with NumPy broadcasting. `dtype` is the input dtype; comparisons
    /// write `bool`; logical ops read and write `bool`.
    static func binary(_ f: BinaryFunction, dtype: DType, a: UnsafeRawPointer, aShape: [Int], b: UnsafeRawPointer, bShape: [Int],
                       output: UnsafeMutableRawPointer, outShape: [Int]) {
        let count = outShape.reduce(1, *)
        guard count > 0 else { return }
        if aShape.reduce(1, *) == count, bShape.reduce(1, *) == count {
            // Same shape: one vectorized pass, no tiles.
            let op = CCodes.binary(f), dt = CCodes.dtype(dtype), size = dtype.byteSize
            let osize = f.isComparison || f.isLogical ? 1 : size
            // A narrower output written over an input must run front to back in one chunk.
            let serial = osize != size && (overlaps(output, count * osize, a, count * size) || overlaps(output, count * osize, b, count * size))
            Parallelism.forEachChunk(count, minChunk: serial ? count : parallelThreshold) { r in
                sg_binary(op, dt, a + r.lowerBound * size, b + r.lowerBound * size, output + r.lowerBound * osize, Int64(r.count))
            }
            return
        }
        let outType: DType = f.isComparison || f.isLogical ? .bool : dtype
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(f, 0, 1)], dtypes: [dtype, dtype, outType])
        fused(p, inputs: [(a, aShape), (b, bShape)], output: output, outShape: outShape)
    }

    /// `output = condition ? a : b` with broadcasting; `condition` is `bool`, `a` and `b` are `dtype`.
    static func select(condition: UnsafeRawPointer, conditionShape: [Int], a: UnsafeRawPointer, aShape: [Int],
                       b: UnsafeRawPointer, bShape: [Int], dtype: DType, output: UnsafeMutableRawPointer, outShape: [Int]) {
        let p = FusedProgram(steps: [.input(0), .input(1), .input(2), .select(0, 1, 2)], dtypes: [.bool, dtype, dtype, dtype])
        fused(p, inputs: [(condition, conditionShape), (a, aShape), (b, bShape)], output: output, outShape: outShape)
    }

    /// Converts `count` elements from one dtype to another.
    static func cast(from: DType, to: DType, input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int) {
        guard count > 0 else { return }
        let f = CCodes.dtype(from), t = CCodes.dtype(to)
        let fs = from.byteSize, ts = to.byteSize
        if ts != fs && overlaps(output, count * ts, input, count * fs) {
            // In place into elements of another size: go through a temporary.
            let tmp = UnsafeMutableRawPointer.allocate(byteCount: count * ts, alignment: 64)
            defer { tmp.deallocate() }
            cast(from: from, to: to, input: input, output: tmp, count: count)
            output.copyMemory(from: tmp, byteCount: count * ts)
            return
        }
        Parallelism.forEachChunk(count, minChunk: parallelThreshold) { r in
            sg_cast(f, t, input + r.lowerBound * fs, output + r.lowerBound * ts, Int64(r.count))
        }
    }

    /// Runs a fused elementwise program; inputs broadcast to `outShape`.
    static func fused(_ program: FusedProgram, inputs: [(pointer: UnsafeRawPointer, shape: [Int])],
                      output: UnsafeMutableRawPointer, outShape: [Int]) {
        let count = outShape.reduce(1, *)
        guard count > 0 else { return }
        guard let plan = FusedPlan(program, inputs: inputs, outShape: outShape) else {
            ScalarFused.run(program, inputs: inputs, output: output, outShape: outShape)
            return
        }
        // An output written over an input of another element size: wider needs a temporary,
        // narrower must run front to back in one chunk.
        let osize = program.resultDType.byteSize
        var serial = false
        for (k, input) in inputs.enumerated() {
            let isize = plan.inputDType(k).map(FusedPlan.size) ?? osize
            guard isize != osize, overlaps(output, count * osize, input.pointer, input.shape.reduce(1, *) * isize) else { continue }
            if osize > isize {
                let tmp = UnsafeMutableRawPointer.allocate(byteCount: count * osize, alignment: 64)
                defer { tmp.deallocate() }
                plan.run(output: tmp, count: count)
                output.copyMemory(from: tmp, byteCount: count * osize)
                return
            }
            serial = true
        }
        plan.run(output: output, count: count, serial: serial)
    }

    /// Whether two byte ranges overlap.
    static func overlaps(_ a: UnsafeMutableRawPointer, _ aBytes: Int, _ b: UnsafeRawPointer, _ bBytes: Int) -> Bool {
        let a0 = UInt(bitPattern: a), b0 = UInt(bitPattern: b)
        return a0 < b0 + UInt(bBytes) && b0 < a0 + UInt(aBytes)
    }

    /// `output = reduce(program(inputs))` over `axes` of `inShape` (the program's output shape).
    static func fusedReduce(_ f: ReduceFunction, axes: [Int], program: FusedProgram,
                            inputs: [(pointer: UnsafeRawPointer, shape: [Int])], output: UnsafeMutableRawPointer, inShape: [Int]) {
        let rt = program.resultDType
        let count = inShape.reduce(1, *)
        guard count > 0, rt.isNumeric, FusedPlan(program, inputs: inputs, outShape: inShape) != nil else {
            ScalarFused.reduce(f, axes: axes, program: program, inputs: inputs, output: output, inShape: inShape)
            return
        }
        if (f == .sum || f == .mean) && rt.isFloatingPoint, let plan = FusedPlan(program, inputs: inputs, outShape: inShape),
           reducesTrailingAxes(inShape, axes) {
            streamingSum(plan, mean: f == .mean, dtype: rt, count: count, axes: axes, inShape: inShape, output: output)
            return
        }
        let tmp = UnsafeMutableRawPointer.allocate(byteCount: count * rt.byteSize, alignment: 64)
        defer { tmp.deallocate() }
        fused(program, inputs: inputs, output: tmp, outShape: inShape)
        ElementwiseReduce.reduce(f, dtype: rt, input: UnsafeRawPointer(tmp), inShape: inShape, axes: axes, output: output)
    }
}

extension ElementwiseKernels {
    /// Whether every reduced axis (ignoring size-1 axes) comes after every kept one, so each
    /// output is the reduction of one contiguous run of the program's output.
    static func reducesTrailingAxes(_ inShape: [Int], _ axes: [Int]) -> Bool {
        var seenReduced = false
        for (d, n) in inShape.enumerated() where n != 1 {
            if axes.contains(d) { seenReduced = true } else if seenReduced { return false }
        }
        return true
    }

    /// sum/mean over trailing axes without materializing the program's output: blocks of
    /// 16 K elements are computed into an L2-resident buffer and summed (in Double) row by row.
    static func streamingSum(_ plan: FusedPlan, mean: Bool, dtype: DType, count: Int, axes: [Int], inShape: [Int],
                             output: UnsafeMutableRawPointer) {
        let kept = inShape.enumerated().reduce(1) { axes.contains($1.offset) ? $0 : $0 * $1.element }
        let rowLength = count / Swift.max(kept, 1)
        let chunks = Swift.min(Parallelism.threads, Swift.max(1, count / (1 << 16)))
        let byRows = kept >= chunks
        let acc = UnsafeMutablePointer<Double>.allocate(capacity: kept * (byRows ? 1 : chunks))
        acc.initialize(repeating: 0, count: kept * (byRows ? 1 : chunks))
        defer { acc.deallocate() }
        let size = dtype.byteSize
        let block = 16384
        plan.withC { run in
            Parallelism.forEachChunk(chunks, minChunk: 1) { cs in
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: block * size, alignment: 64)
                defer { scratch.deallocate() }
                for c in cs {
                    let lo = byRows ? (kept * c / chunks) * rowLength : count * c / chunks
                    let hi = byRows ? (kept * (c + 1) / chunks) * rowLength : count * (c + 1) / chunks
                    let a = byRows ? acc : acc + c * kept
                    var b = lo
                    while b < hi {
                        let m = Swift.min(block, hi - b)
                        run(b..<(b + m), scratch, 0)
                        var i = 0
                        while i < m {
                            let row = (b + i) / rowLength
                            let end = Swift.min(m, (row + 1) * rowLength - b)
                            let p = scratch + i * size
                            a[row] += dtype == .float32 ? sg_sum_f32(p.assumingMemoryBound(to: Float.self), Int64(end - i))
                                                        : sg_sum_f64(p.assumingMemoryBound(to: Double.self), Int64(end - i))
                            i = end
                        }
                        b += m
                    }
                }
            }
        }
        for row in 0..<kept {
            var v = 0.0
            for c in 0..<(byRows ? 1 : chunks) { v += acc[c * kept + row] }
            if mean { v = rowLength > 0 ? v / Double(rowLength) : .nan }
            if dtype == .float32 { output.storeBytes(of: Float(v), toByteOffset: row * 4, as: Float.self) }
            else { output.storeBytes(of: v, toByteOffset: row * 8, as: Double.self) }
        }
    }
}

extension ElementwiseKernels {
    /// Element strides of a tensor of `shape` viewed as broadcast to `outShape`
    /// (NumPy rules: shapes align at the right; size-1 and missing axes get stride 0).
    static func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let r = outShape.count
        var strides = [Int](repeating: 0, count: r)
        var s = 1
        var i = shape.count - 1
        var o = r - 1
        while i >= 0 && o >= 0 {
            strides[o] = shape[i] == 1 ? 0 : s
            s *= shape[i]
            i -= 1
            o -= 1
        }
        return strides
    }
}

/// Mapping of the Swift enums to the C codes of CKernels.h.
enum CCodes {
    static func dtype(_ d: DType) -> Int32 {
        switch d {
        case .float32: return 0
        case .float64: return 1
        case .int32: return 2
        case .int64: return 3
        case .bool: return 4
        }
    }

    static func unary(_ f: UnaryFunction) -> (Int32, Double) {
        switch f {
        case .neg: return (0, 0)
        case .abs: return (1, 0)
        case .sign: return (2, 0)
        case .exp: return (3, 0)
        case .log: return (4, 0)
        case .log1p: return (5, 0)
        case .expm1: return (6, 0)
        case .sqrt: return (7, 0)
        case .rsqrt: return (8, 0)
        case .square: return (9, 0)
        case .reciprocal: return (10, 0)
        case .sin: return (11, 0)
        case .cos: return (12, 0)
        case .tanh: return (13, 0)
        case .sigmoid: return (14, 0)
        case .relu: return (15, 0)
        case .leakyRelu(let a): return (16, a)
        case .elu(let a): return (17, a)
        case .softplus: return (18, 0)
        case .erf: return (19, 0)
        case .gelu: return (20, 0)
        case .floor: return (21, 0)
        case .ceil: return (22, 0)
        case .round: return (23, 0)
        case .logicalNot: return (24, 0)
        case .narrow(let f): return (25, Double(f.code))
        case .bitwiseNot: return (26, 0)
        }
    }

    static func binary(_ f: BinaryFunction) -> Int32 {
        switch f {
        case .add: return 0
        case .sub: return 1
        case .mul: return 2
        case .div: return 3
        case .pow: return 4
        case .maximum: return 5
        case .minimum: return 6
        case .equal: return 7
        case .notEqual: return 8
        case .less: return 9
        case .lessEqual: return 10
        case .greater: return 11
        case .greaterEqual: return 12
        case .logicalAnd: return 13
        case .logicalOr: return 14
        case .bitwiseAnd: return 15
        case .bitwiseOr: return 16
        case .bitwiseXor: return 17
        case .shiftLeft: return 18
        case .shiftRight: return 19
        }
    }
}

/// A fused program lowered to the C executor: instructions with scratch slots assigned by
/// liveness (so a tile's live values stay in L1) and inputs described by broadcast strides.
struct FusedPlan {
    var steps: [sg_step]
    var inputs: [sg_input]
    var strides: [Int64]
    var outShape: [Int64]
    var slotCount: Int32
    /// Input pointers (kept to rebuild `inputs` with stride pointers at run time).
    var pointers: [UnsafeRawPointer]
    var modes: [Int32]

    init?(_ program: FusedProgram, inputs ins: [(pointer: UnsafeRawPointer, shape: [Int])], outShape: [Int]) {
        let ps = program.steps
        let n = outShape.reduce(1, *)
        guard !ps.isEmpty, program.dtypes.count == ps.count, outShape.count <= 16, program.inputCount <= ins.count else { return nil }
        let rank = outShape.count
        // Input descriptions.
        var strides = [Int64]()
        var modes = [Int32]()
        for (ptr, shape) in ins {
            _ = ptr
            guard shape.count <= rank else { return nil }
            let st = ElementwiseKernels.broadcastStrides(shape, to: outShape)
            let c = shape.reduce(1, *)
            strides += st.map { Int64($0) }
            modes.append(c == n ? 1 : (c == 1 ? 2 : 0))
        }
        // Liveness.
        var lastUse = [Int](repeating: -1, count: ps.count)
        for (i, s) in ps.enumerated() {
            for o in FusedPlan.operands(s) {
                guard o >= 0 && o < i else { return nil }
                lastUse[o] = i
            }
            if case .input(let k) = s, k < 0 || k >= ins.count { return nil }
        }
        var free = [(slot: Int32, size: Int)]()
        var nextSlot: Int32 = 0
        var slots = [Int32](repeating: -1, count: ps.count)
        var pinned = [Bool](repeating: false, count: ps.count)
        var out = [sg_step]()
        out.reserveCapacity(ps.count)
        let last = ps.count - 1
        for (i, s) in ps.enumerated() {
            let dt = program.dtypes[i]
            var step = sg_step(kind: 0, op: 0, dtype: CCodes.dtype(dt), a: 0, b: 0, c: 0, slot: -1, pinned: 0, param: 0, iparam: 0)
            var needsSlot = true
            switch s {
            case .input(let k):
                step.kind = 0; step.a = Int32(k)
                if modes[k] == 1 { needsSlot = false }
                if modes[k] == 2 && i != last { pinned[i] = true }
            case .constant(let c):
                step.kind = 1; step.param = c
                switch ElementScalar.convert(.f(c), to: dt) {
                case .i(let v): step.iparam = v
                case .b(let v): step.iparam = v ? 1 : 0
                case .f(let v): step.param = v
                }
                if i != last { pinned[i] = true }
            case .unary(let f, let a):
                let (op, param) = CCodes.unary(f)
                step.kind = 2; step.op = op; step.param = param; step.a = Int32(a)
            case .binary(let f, let a, let b):
                step.kind = 3; step.op = CCodes.binary(f); step.a = Int32(a); step.b = Int32(b)
            case .select(let c, let a, let b):
                step.kind = 4; step.a = Int32(c); step.b = Int32(a); step.c = Int32(b)
            case .cast(_, let a):
                step.kind = 5; step.a = Int32(a)
            }
            // Release operands whose last use is this step (their slot may become ours).
            // (Only to a step of the same element size: a wider result would overwrite
            // operand elements the vector loop has not read yet.)
            for o in FusedPlan.operands(s) where lastUse[o] == i && slots[o] >= 0 && !pinned[o] {
                if !free.contains(where: { $0.slot == slots[o] }) { free.append((slots[o], program.dtypes[o].byteSize)) }
            }
            if i != last && needsSlot {
                if !pinned[i], let j = free.lastIndex(where: { $0.size == dt.byteSize }) {
                    slots[i] = free.remove(at: j).slot
                } else {
                    slots[i] = nextSlot
                    nextSlot += 1
                }
            }
            step.slot = slots[i]
            step.pinned = pinned[i] ? 1 : 0
            if lastUse[i] < 0 && i != last && slots[i] >= 0 && !pinned[i] { free.append((slots[i], dt.byteSize)) }
            out.append(step)
        }
        self.steps = out
        self.strides = strides
        self.outShape = outShape.map { Int64($0) }
        self.slotCount = nextSlot
        self.pointers = ins.map(\.pointer)
        self.modes = modes
        self.inputs = []
    }

    static func operands(_ s: FusedProgram.Step) -> [Int] {
        switch s {
        case .input, .constant: return []
        case .unary(_, let a), .cast(_, let a): return [a]
        case .binary(_, let a, let b): return [a, b]
        case .select(let c, let a, let b): return [c, a, b]
        }
    }

    /// Kernels touching at least this many bytes (inputs + output) write their output with
    /// non-temporal stores: the data cannot stay in the last-level cache anyway, and streaming
    /// skips reading each output line before writing it.
    static let streamingThreshold = 32 << 20

    /// Bytes read and written by one run over `count` outputs.
    func touchedBytes(_ count: Int) -> Int {
        var bytes = count * FusedPlan.size(steps.last?.dtype ?? 0)
        for (k, m) in modes.enumerated() where m != 2 {
            let dt = steps.first(where: { $0.kind == 0 && $0.a == Int32(k) })?.dtype ?? 0
            bytes += count * FusedPlan.size(dt)
        }
        return bytes
    }

    /// The C dtype code of input `k` (that of the first step reading it), if it is read.
    func inputDType(_ k: Int) -> Int32? {
        steps.first(where: { $0.kind == 0 && $0.a == Int32(k) })?.dtype
    }

    static func size(_ code: Int32) -> Int { code == 4 ? 1 : (code == 1 || code == 3 ? 8 : 4) }

    /// Runs the plan over all `count` output elements, in parallel chunks when large.
    func run(output: UnsafeMutableRawPointer, count: Int, serial: Bool = false) {
        let size = FusedPlan.size(steps.last?.dtype ?? 0)
        let stream: Int32 = touchedBytes(count) >= FusedPlan.streamingThreshold ? 1 : 0
        withC { run in
            let minChunk = serial ? count : Swift.max(ElementwiseKernels.parallelThreshold / Swift.max(steps.count / 4, 1), 4096)
            Parallelism.forEachChunk(count, minChunk: minChunk) { r in
                run(r, output + r.lowerBound * size, stream)
            }
        }
    }

    /// Calls `body` with a function that runs the plan on a range of output elements, writing
    /// them to a pointer (to the range's first element), optionally with streaming stores.
    func withC(_ body: ((Range<Int>, UnsafeMutableRawPointer, Int32) -> Void) -> Void) {
        let rank = outShape.count
        strides.withUnsafeBufferPointer { st in
            var ins = [sg_input]()
            for (k, p) in pointers.enumerated() {
                // The input's dtype is that of the first step reading it.
                let dt = steps.first(where: { $0.kind == 0 && $0.a == Int32(k) })?.dtype ?? 0
                ins.append(sg_input(ptr: p, strides: st.baseAddress.map { $0 + k * rank }, mode: modes[k], dtype: dt))
            }
            steps.withUnsafeBufferPointer { sp in
                ins.withUnsafeBufferPointer { ip in
                    outShape.withUnsafeBufferPointer { shp in
                        body { r, out, stream in
                            _ = sg_fused_run(sp.baseAddress, Int32(sp.count), ip.baseAddress, slotCount, out,
                                             shp.baseAddress, Int32(rank), Int64(r.lowerBound), Int64(r.upperBound), stream)
                        }
                    }
                }
            }
        }
    }
}

/// The portable one-element-at-a-time implementation (reference semantics, rare dtypes).
enum ScalarFused {
    static func run(_ program: FusedProgram, inputs: [(pointer: UnsafeRawPointer, shape: [Int])],
                    output: UnsafeMutableRawPointer, outShape: [Int]) {
        let n = outShape.reduce(1, *)
        guard n > 0 else { return }
        let rt = program.resultDType
        evaluate(program, inputs: inputs, outShape: outShape) { i, v in ElementScalar.store(v, rt, output, i) }
    }

    /// Whether every operand refers to an earlier step and every input exists (a malformed
    /// program computes nothing rather than trapping).
    static func isWellFormed(_ program: FusedProgram, inputCount: Int) -> Bool {
        guard !program.steps.isEmpty, program.dtypes.count == program.steps.count else { return false }
        for (i, s) in program.steps.enumerated() {
            if case .input(let k) = s, k < 0 || k >= inputCount { return false }
            for o in FusedPlan.operands(s) where o < 0 || o >= i { return false }
        }
        return true
    }

    /// Calls `sink(i, value)` for every output element in order.
    static func evaluate(_ program: FusedProgram, inputs: [(pointer: UnsafeRawPointer, shape: [Int])], outShape: [Int],
                         _ sink: (Int, ElementValue) -> Void) {
        let n = outShape.reduce(1, *)
        guard n > 0, isWellFormed(program, inputCount: inputs.count),
              inputs.allSatisfy({ $0.shape.count <= outShape.count }) else { return }
        let r = outShape.count
        let strides = inputs.map { ElementwiseKernels.broadcastStrides($0.shape, to: outShape) }
        var offsets = [Int](repeating: 0, count: inputs.count)
        var index = [Int](repeating: 0, count: r)
        var regs = [ElementValue](repeating: .i(0), count: program.steps.count)
        let steps = program.steps, dts = program.dtypes
        for i in 0..<n {
            for (s, step) in steps.enumerated() {
                let v: ElementValue
                switch step {
                case .input(let k):
                    v = ElementScalar.load(dts[s], inputs[k].pointer, offsets[k])
                case .constant(let c):
                    v = ElementScalar.convert(.f(c), to: dts[s])
                case .unary(let f, let a):
                    v = ElementScalar.unary(f, regs[a], dts[s])
                case .binary(let f, let a, let b):
                    v = ElementScalar.convert(ElementScalar.binary(f, regs[a], regs[b], dts[a]), to: dts[s])
                case .select(let c, let a, let b):
                    if case .b(let t) = ElementScalar.convert(regs[c], to: .bool) { v = t ? regs[a] : regs[b] }
                    else { v = regs[b] }
                case .cast(let d, let a):
                    v = ElementScalar.convert(regs[a], to: d)
                }
                regs[s] = v
            }
            sink(i, regs[steps.count - 1])
            // Advance the multi-index and the input offsets.
            var d = r - 1
            while d >= 0 {
                index[d] += 1
                for k in 0..<offsets.count { offsets[k] += strides[k][d] }
                if index[d] < outShape[d] { break }
                for k in 0..<offsets.count { offsets[k] -= strides[k][d] * outShape[d] }
                index[d] = 0
                d -= 1
            }
        }
    }

    static func reduce(_ f: ReduceFunction, axes: [Int], program: FusedProgram,
                       inputs: [(pointer: UnsafeRawPointer, shape: [Int])], output: UnsafeMutableRawPointer, inShape: [Int]) {
        let rt = program.resultDType
        let axisSet = Set(axes)
        // Output strides over the input index space: 0 on reduced axes.
        var outStrides = [Int](repeating: 0, count: inShape.count)
        var s = 1
        for d in stride(from: inShape.count - 1, through: 0, by: -1) where !axisSet.contains(d) {
            outStrides[d] = s
            s *= inShape[d]
        }
        let outCount = s
        let reducedCount = inShape.enumerated().reduce(1) { axisSet.contains($1.offset) ? $0 * $1.element : $0 }
        var acc = [ElementValue](repeating: .f(0), count: outCount)
        var maxes = [Double](repeating: -.infinity, count: outCount)   // logsumexp: max pass
        var started = [Bool](repeating: false, count: outCount)
        func outIndex(_ i: Int) -> Int {
            var rem = i, o = 0
            for d in stride(from: inShape.count - 1, through: 0, by: -1) {
                let idx = rem % inShape[d]
                rem /= inShape[d]
                o += idx * outStrides[d]
            }
            return o
        }
        if f == .logsumexp {
            evaluate(program, inputs: inputs, outShape: inShape) { i, v in
                let o = outIndex(i)
                let x = v.double
                if x > maxes[o] || x.isNaN { maxes[o] = x }
            }
        }
        evaluate(program, inputs: inputs, outShape: inShape) { i, v in
            let o = outIndex(i)
            if !started[o] {
                started[o] = true
                switch f {
                case .sum, .mean: acc[o] = v.isInt ? .i(0) : .f(0)
                case .prod: acc[o] = v.isInt ? .i(1) : .f(1)
                case .max, .min: acc[o] = v; return
                case .logsumexp: acc[o] = .f(0)
                }
            }
            switch (f, acc[o], v) {
            case (.sum, .i(let a), .i(let x)), (.mean, .i(let a), .i(let x)): acc[o] = .i(a &+ x)
            case (.prod, .i(let a), .i(let x)): acc[o] = .i(a &* x)
            case (.max, .i(let a), .i(let x)): acc[o] = .i(Swift.max(a, x))
            case (.min, .i(let a), .i(let x)): acc[o] = .i(Swift.min(a, x))
            case (.sum, .f(let a), _), (.mean, .f(let a), _): acc[o] = .f(a + v.double)
            case (.prod, .f(let a), _): acc[o] = .f(a * v.double)
            case (.max, .f(let a), _): let x = v.double; acc[o] = .f(a.isNaN || x.isNaN ? .nan : Swift.max(a, x))
            case (.min, .f(let a), _): let x = v.double; acc[o] = .f(a.isNaN || x.isNaN ? .nan : Swift.min(a, x))
            case (.logsumexp, .f(let a), _):
                let m = maxes[o]
                acc[o] = .f(a + (m.isFinite ? ElementScalar.exp(v.double - m) : 0))
            default: break
            }
        }
        for o in 0..<outCount {
            var v = started[o] ? acc[o] : identity(f, rt)
            switch (f, v) {
            case (.mean, .f(let a)): v = .f(a / Double(reducedCount))
            case (.mean, .i(let a)): v = .i(reducedCount > 0 ? a / Int64(reducedCount) : 0)
            case (.logsumexp, .f(let a)):
                let m = maxes[o]
                v = .f(m.isFinite ? m + ElementScalar.log(a) : m)
            default: break
            }
            ElementScalar.store(v, rt, output, o)
        }
    }

    /// The value of a reduction over no elements.
    static func identity(_ f: ReduceFunction, _ dtype: DType) -> ElementValue {
        switch f {
        case .sum: return dtype.isInteger ? .i(0) : .f(0)
        case .mean: return dtype.isInteger ? .i(0) : .f(.nan)
        case .prod: return dtype.isInteger ? .i(1) : .f(1)
        case .max: return dtype.isInteger ? .i(dtype == .int32 ? Int64(Int32.min) : .min) : .f(-.infinity)
        case .min: return dtype.isInteger ? .i(dtype == .int32 ? Int64(Int32.max) : .max) : .f(.infinity)
        case .logsumexp: return .f(-.infinity)
        }
    }
}

extension ElementValue {
    var isInt: Bool { if case .i = self { return true } else { return false } }
}
