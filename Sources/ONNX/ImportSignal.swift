import Graph
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Window generators (Hann, Hamming, Blackman: constants of a size known at import), LpPool
// (an average pool of |x|^p, as ONNX's reference defines it) and CumProd (a running product
// along an axis of known length).

extension NodeContext {
    func windowOp() throws -> Tensor {
        let sizes = try staticInts(0, "size")
        guard sizes.count == 1, let n = sizes.first, n >= 0, n <= limits.maxElements else { throw fail("size \(sizes) must be one value in 0...\(limits.maxElements)") }
        let periodic = try int("periodic", 1) != 0
        let code = Int32(truncatingIfNeeded: try int("output_datatype", 1))
        let dtype = try ONNXTensor.dtype(ofCode: code, what: "output_datatype")
        let m = Double(periodic ? n : n - 1)
        let values: [Double] = (0..<n).map { i in
            let k = Double(i)
            switch node.opType {
            case "HannWindow": let s = sin(Double.pi * k / m); return s * s
            case "HammingWindow": let a = 25.0 / 46.0; return a - cos(2 * Double.pi * k / m) * (1 - a)
            default: return 0.42 - 0.5 * cos(2 * Double.pi * k / m) + 0.08 * cos(4 * Double.pi * k / m)
            }
        }
        var v = try HostTensor(values, shape: [n])
        if let kind = ONNXTensor.narrowKind(ofCode: code), kind.isFloatingPoint {
            outputElemType = code
            v = try HostTensor(values.map { NarrowFormat(kind, saturate: false).round($0) }, shape: [n])
        }
        return constantOutput(v.converted(to: dtype))
    }

    func lpPoolOp() throws -> Tensor {
        let x = try input(0)
        guard x.dtype.isFloatingPoint else { throw fail("needs a floating-point input, got \(x.dtype)") }
        let p = Double(try int("p", 2))
        guard p > 0 else { throw fail("p must be positive") }
        guard let kernel = try ints("kernel_shape") else { throw fail("needs kernel_shape") }
        let count = Double(kernel.reduce(1, *))
        let powered = p == 2 ? x * x : abs(x).pow(p)
        // Σ|x|^p over each window, padding counting as zeros: an average that counts the padding, times the window size.
        guard let avg = try poolOp(max: false, input: powered, includePad: true).first ?? nil else { throw fail("pooling failed") }
        let total = avg * count
        return p == 2 ? sqrt(total) : total.pow(1 / p)
    }

    func cumProdOp() throws -> Tensor {
        let (x, a, n, exclusive, reverse) = try cumulativeArguments(maxLength: 1 << 12)
        let order = reverse ? Array((0..<n).reversed()) : Array(0..<n)
        var slices = [Tensor?](repeating: nil, count: n)
        var running: Tensor?
        let first = sliceAxis(x, axis: a, begin: 0, end: Swift.min(1, n))
        let one = `where`(first .== first, scalar(1, x.dtype), scalar(1, x.dtype))   // ones shaped like a slice (not x·0, which is NaN at ±∞)
        for i in order {
            let xi = sliceAxis(x, axis: a, begin: i, end: i + 1)
            let inclusive = running.map { $0 * xi } ?? xi
            slices[i] = exclusive ? (running ?? one) : inclusive
            running = inclusive
        }
        return n == 0 ? x : concat(slices.compactMap { $0 }, axis: a)
    }
}
