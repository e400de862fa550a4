import Testing
import Runtime
import Graph

/// One function to check by finite differences.
struct GradCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputs: [HostTensor]
    let build: @Sendable (Graph, [Tensor]) throws -> Tensor
    /// Static placeholder shapes (nil: the inputs' shapes).
    var shapes: [Shape]? = nil
    var testDescription: String { name }

    init(name: String, inputs: [HostTensor], shapes: [Shape]? = nil, build: @escaping @Sendable (Graph, [Tensor]) throws -> Tensor) {
        self.name = name
        self.inputs = inputs
        self.shapes = shapes
        self.build = build
    }

    /// This case with the first dimension of every non-scalar input unknown to the graph.
    var withUnknownBatch: GradCase {
        GradCase(name: name + " (unknown batch)", inputs: inputs,
                 shapes: inputs.map { Shape($0.shape.enumerated().map { $0.offset == 0 ? nil : $0.element }) }, build: build)
    }
}

/// Deterministic inputs for gradient checks.
enum Inputs {
    /// Uniform in [low, high).
    static func uniform(_ shape: [Int], seed: UInt64, _ low: Double = -1, _ high: Double = 1) -> HostTensor {
        let n = shape.reduce(1, *)
        return (try? HostTensor(DeterministicRandom.uniformDoubles(count: n, seed: seed, low: low, high: high), shape: shape))
            ?? HostTensor(zeros: .float64, shape: shape)
    }
    /// |x| in [0.2, 1.2) with a random sign: away from kinks at 0.
    static func awayFromZero(_ shape: [Int], seed: UInt64) -> HostTensor {
        let n = shape.reduce(1, *)
        let u = DeterministicRandom.uniformDoubles(count: n, seed: seed, low: 0.2, high: 1.2)
        let s = DeterministicRandom.uniformDoubles(count: n, seed: seed &+ 99, low: -1, high: 1)
        return (try? HostTensor(zip(u, s).map { $1 < 0 ? -$0 : $0 }, shape: shape)) ?? HostTensor(zeros: .float64, shape: shape)
    }
    static func doubles(_ v: [Double], _ shape: [Int]) -> HostTensor {
        (try? HostTensor(v, shape: shape)) ?? HostTensor(zeros: .float64, shape: shape)
    }
    static func ints(_ v: [Int32], _ shape: [Int]) -> HostTensor {
        (try? HostTensor(v, shape: shape)) ?? HostTensor(zeros: .int32, shape: shape)
    }
    static func bools(_ v: [Bool], _ shape: [Int]) -> HostTensor {
        (try? HostTensor(v, shape: shape)) ?? HostTensor(zeros: .bool, shape: shape)
    }
}

extension GradCase {
    static var unary: [GradCase] {
        enum Domain { case any, positive, awayFromZero }
        let fs: [(UnaryFunction, Domain)] = [
            (.neg, .any), (.abs, .awayFromZero), (.exp, .any), (.log, .positive), (.log1p, .positive), (.expm1, .any),
            (.sqrt, .positive), (.rsqrt, .positive), (.square, .any), (.reciprocal, .awayFromZero), (.sin, .any),
            (.cos, .any), (.tanh, .any), (.sigmoid, .any), (.relu, .awayFromZero), (.leakyRelu(alpha: 0.1), .awayFromZero),
            (.elu(alpha: 1.3), .awayFromZero), (.softplus, .any), (.erf, .any), (.gelu, .any),
        ]
        var out: [GradCase] = []
        for (k, (f, domain)) in fs.enumerated() {
            for shape in [[5], [2, 3]] {
                let seed = UInt64(100 + k)
                let x: HostTensor
                switch domain {
                case .any: x = Inputs.uniform(shape, seed: seed, -2, 2)
                case .positive: x = Inputs.uniform(shape, seed: seed, 0.5, 2)
                case .awayFromZero: x = Inputs.awayFromZero(shape, seed: seed)
                }
                out.append(GradCase(name: "\(f.name)\(shape)", inputs: [x]) { _, t in t[0].map(f) })
            }
        }
        return out
    }

    static var binary: [GradCase] {
        let pairs: [([Int], [Int])] = [([2, 3], [2, 3]), ([2, 3], [3]), ([2, 1], [1, 3]), ([], [2, 3]), ([4, 1, 3], [2, 1])]
        var out: [GradCase] = []
        for (k, f) in [BinaryFunction.add, .sub, .mul, .div, .pow, .maximum, .minimum].enumerated() {
            for (j, (sa, sb)) in pairs.enumerated() {
                let seed = UInt64(200 + 10 * k + j)
                let a = f == .pow ? Inputs.uniform(sa, seed: seed, 0.5, 2) : Inputs.uniform(sa, seed: seed, -2, 2)
                let b = f == .div ? Inputs.awayFromZero(sb, seed: seed + 1) : Inputs.uniform(sb, seed: seed + 1, -2, 2)
                out.append(GradCase(name: "\(f.rawValue)\(sa)\(sb)", inputs: [a, b]) { _, t in t[0].apply(f, t[1]) })
            }
        }
        return out
    }

    static var elementwiseOther: [GradCase] {
        let cond = Inputs.bools([true, false, false, true, true, false], [2, 3])
        return [
            GradCase(name: "where[2,3][2,3][3]", inputs: [cond, Inputs.uniform([2, 3], seed: 301), Inputs.uniform([3], seed: 302)]) { _, t in
                `where`(t[0], t[1], t[2])
            },
            GradCase(name: "where[3] broadcast[2,1][]", inputs: [Inputs.bools([true, false, true], [3]), Inputs.uniform([2, 1], seed: 303), Inputs.uniform([], seed: 304)]) { _, t in
                `where`(t[0], t[1], t[2])
            },
            GradCase(name: "where(x > 0) piecewise", inputs: [Inputs.awayFromZero([7], seed: 305)]) { _, t in
                `where`(t[0] .> 0, t[0] * t[0], sin(t[0]))
            },
            GradCase(name: "identity", inputs: [Inputs.uniform([4], seed: 306)]) { _, t in t[0].identity() * t[0] },
            GradCase(name: "pow scalar exponent", inputs: [Inputs.uniform([5], seed: 307, 0.5, 2)]) { _, t in t[0].pow(2.5) },
        ]
    }

    static var matmul: [GradCase] {
        var out: [GradCase] = []
        for ta in [false, true] {
            for tb in [false, true] {
                let a = Inputs.uniform(ta ? [4, 3] : [3, 4], seed: 400)
                let b = Inputs.uniform(tb ? [5, 4] : [4, 5], seed: 401)
                out.append(GradCase(name: "matmul ta=\(ta) tb=\(tb)", inputs: [a, b]) { _, t in
                    t[0].matmul(t[1], transposeA: ta, transposeB: tb)
                })
            }
        }
        let batched: [([Int], [Int], Bool, Bool)] = [
            ([2, 3, 4], [4, 5], false, false), ([3, 4], [2, 4, 5], false, false), ([2, 1, 3, 4], [3, 4, 5], false, false),
            ([2, 4, 3], [2, 5, 4], true, true), ([2, 3, 4], [1, 5, 4], false, true),
        ]
        for (k, (sa, sb, ta, tb)) in batched.enumerated() {
            out.append(GradCase(name: "matmul \(sa)×\(sb) ta=\(ta) tb=\(tb)",
                                inputs: [Inputs.uniform(sa, seed: UInt64(410 + k)), Inputs.uniform(sb, seed: UInt64(420 + k))]) { _, t in
                t[0].matmul(t[1], transposeA: ta, transposeB: tb)
            })
        }
        return out
    }

    static var reductions: [GradCase] {
        var out: [GradCase] = []
        for (k, f) in ReduceFunction.allCases.enumerated() {
            for axes in [nil, [1], [0, 2]] as [[Int]?] {
                for keep in [false, true] {
                    let x = f == .prod ? Inputs.awayFromZero([2, 3, 4], seed: UInt64(500 + k)) : Inputs.uniform([2, 3, 4], seed: UInt64(500 + k), -2, 2)
                    out.append(GradCase(name: "\(f.rawValue) axes=\(axes.map { "\($0)" } ?? "all") keepDims=\(keep)", inputs: [x]) { _, t in
                        t[0].reduce(f, axes: axes, keepDims: keep)
                    })
                }
            }
        }
        out.append(GradCase(name: "prod with one zero", inputs: [Inputs.doubles([0.5, 0, 1.5, -2, 0.7, 1.1], [2, 3])]) { _, t in
            t[0].prod(axes: [1])
        })
        out.append(GradCase(name: "prod with two zeros", inputs: [Inputs.doubles([0, 0, 1.5, -2, 0.7, 1.1], [2, 3])]) { _, t in
            t[0].prod(axes: [1])
        })
        out.append(GradCase(name: "max over a negative axis", inputs: [Inputs.uniform([3, 4], seed: 530)]) { _, t in
            t[0].max(axis: -1) * 2
        })
        return out
    }

    static var shapes: [GradCase] {
        let x = Inputs.uniform([2, 3, 4], seed: 600)
        let idx = Inputs.ints([2, 0, 2, 1], [4])
        return [
            GradCase(name: "reshape", inputs: [x]) { _, t in t[0].reshaped([6, 4]) },
            GradCase(name: "reshape -1", inputs: [x]) { _, t in t[0].reshaped([-1]) },
            GradCase(name: "transpose", inputs: [x]) { _, t in t[0].transposed([2, 0, 1]) },
            GradCase(name: "matrix transpose T", inputs: [x]) { _, t in t[0].T },
            GradCase(name: "squeeze", inputs: [Inputs.uniform([2, 1, 3], seed: 601)]) { _, t in t[0].squeezed(axes: [1]) },
            GradCase(name: "expandDims", inputs: [Inputs.uniform([2, 3], seed: 602)]) { _, t in t[0].expandingDims(axis: 1) },
            GradCase(name: "broadcastTo [3]→[2,3]", inputs: [Inputs.uniform([3], seed: 603)]) { _, t in t[0].broadcast(to: [2, 3]) },
            GradCase(name: "broadcastTo [2,1]→[3,2,4]", inputs: [Inputs.uniform([2, 1], seed: 604)]) { _, t in t[0].broadcast(to: [3, 2, 4]) },
            GradCase(name: "slice", inputs: [x]) { _, t in t[0].slice(begin: [1, nil], end: [nil, -1]) },
            GradCase(name: "slice strided", inputs: [x]) { _, t in t[0].slice(begin: [nil, nil, 1], end: [nil, nil, nil], strides: [1, 2, 2]) },
            GradCase(name: "slice reversed", inputs: [x]) { _, t in t[0].slice(begin: [nil, nil, nil], end: [nil, nil, nil], strides: [1, -1, -2]) },
            GradCase(name: "concat with one unknown length", inputs: [Inputs.uniform([2, 1], seed: 612), Inputs.uniform([2, 3], seed: 613), Inputs.uniform([2, 2], seed: 614)],
                     shapes: [[2, 1], [2, nil], [2, 2]]) { _, t in
                // The middle input's length on the concat axis is unknown to the graph.
                concat([t[0], t[1], t[2]], axis: 1) * concat([t[2], t[0], t[1]], axis: 1)
            },
            GradCase(name: "concat", inputs: [Inputs.uniform([2, 1], seed: 605), Inputs.uniform([2, 3], seed: 606), Inputs.uniform([2, 2], seed: 607)]) { _, t in
                concat(t, axis: 1)
            },
            GradCase(name: "split", inputs: [x]) { _, t in
                let p = t[0].split(sizes: [1, 2], axis: 1)
                return concat([p[1], p[0] * p[0]], axis: 1)
            },
            GradCase(name: "gather axis 0 (repeated indices)", inputs: [Inputs.uniform([3, 4], seed: 608), idx]) { _, t in t[0].gather(t[1], axis: 0) },
            GradCase(name: "gather axis 1", inputs: [Inputs.uniform([2, 3, 2], seed: 609), idx]) { _, t in t[0].gather(t[1], axis: 1) },
            GradCase(name: "pad", inputs: [Inputs.uniform([2, 3], seed: 610)]) { _, t in t[0].padded([(1, 0), (2, 1)], value: 0.5) },
            GradCase(name: "tile", inputs: [Inputs.uniform([2, 1, 3], seed: 611)]) { _, t in t[0].tiled([2, 3, 1]) },
        ]
    }

    static var neuralNet: [GradCase] {
        let x = Inputs.uniform([2, 2, 5, 5], seed: 700)
        let w = Inputs.uniform([3, 2, 3, 3], seed: 701)
        let pool = Inputs.uniform([2, 2, 5, 5], seed: 702)
        return [
            GradCase(name: "softmax last axis", inputs: [Inputs.uniform([3, 4], seed: 703, -2, 2)]) { _, t in t[0].softmax() },
            GradCase(name: "softmax axis 0", inputs: [Inputs.uniform([3, 4], seed: 704, -2, 2)]) { _, t in t[0].softmax(axis: 0) },
            GradCase(name: "logSoftmax", inputs: [Inputs.uniform([3, 4], seed: 705, -2, 2)]) { _, t in t[0].logSoftmax() },
            GradCase(name: "logSoftmax axis 0", inputs: [Inputs.uniform([3, 4], seed: 706, -2, 2)]) { _, t in t[0].logSoftmax(axis: 0) },
            GradCase(name: "conv2d valid", inputs: [x, w]) { _, t in conv2d(t[0], filter: t[1]) },
            GradCase(name: "conv2d stride 2 same", inputs: [x, w]) { _, t in conv2d(t[0], filter: t[1], strides: (2, 2), padding: .same) },
            GradCase(name: "conv2d dilated explicit padding", inputs: [x, w]) { _, t in
                conv2d(t[0], filter: t[1], strides: (1, 2), padding: .explicit(top: 1, bottom: 0, left: 2, right: 1), dilation: (2, 1))
            },
            GradCase(name: "maxPool2d 2×2", inputs: [pool]) { _, t in maxPool2d(t[0], kernel: (2, 2)) },
            GradCase(name: "maxPool2d 3×3 stride 1 same", inputs: [pool]) { _, t in maxPool2d(t[0], kernel: (3, 3), strides: (1, 1), padding: .same) },
            GradCase(name: "avgPool2d 2×2", inputs: [pool]) { _, t in avgPool2d(t[0], kernel: (2, 2)) },
            GradCase(name: "avgPool2d 3×3 stride 2 same", inputs: [pool]) { _, t in avgPool2d(t[0], kernel: (3, 3), strides: (2, 2), padding: .same) },
            GradCase(name: "softmaxCrossEntropy", inputs: [Inputs.uniform([4, 5], seed: 707, -2, 2), Inputs.ints([1, 4, 0, 1], [4])]) { _, t in
                softmaxCrossEntropy(logits: t[0], labels: t[1])
            },
            GradCase(name: "batchNorm training", inputs: [Inputs.uniform([3, 2, 2, 2], seed: 708), Inputs.uniform([2], seed: 709), Inputs.uniform([2], seed: 710)]) { _, t in
                batchNorm(t[0], gamma: t[1], beta: t[2], training: true)
            },
            GradCase(name: "batchNorm training NC", inputs: [Inputs.uniform([4, 3], seed: 711), Inputs.uniform([3], seed: 712), Inputs.uniform([3], seed: 713)]) { _, t in
                batchNorm(t[0], gamma: t[1], beta: t[2], training: true)
            },
        ]
    }

    /// The gradient helper ops, used directly (so higher-order gradients are checked op by op).
    static var helpers: [GradCase] {
        let loc = SourceLocation.unknown
        let pool = Inputs.uniform([1, 2, 4, 4], seed: 800)
        let cfg = Conv2DConfig(strides: (2, 1), padding: .same)
        let pcfg = Pool2DConfig(kernel: (2, 2))
        return [
            GradCase(name: "broadcastLike", inputs: [Inputs.uniform([3], seed: 801), Inputs.uniform([2, 3], seed: 802)]) { g, t in
                g.addNode(.broadcastLike, inputs: [t[0], t[1]], location: loc) * t[1]
            },
            GradCase(name: "sumLike", inputs: [Inputs.uniform([2, 3], seed: 803), Inputs.uniform([3], seed: 804)]) { g, t in
                g.addNode(.sumLike, inputs: [t[0], t[1]], location: loc)
            },
            GradCase(name: "reshapeLike", inputs: [Inputs.uniform([2, 3], seed: 805), Inputs.uniform([3, 2], seed: 806)]) { g, t in
                g.addNode(.reshapeLike, inputs: [t[0], t[1]], location: loc)
            },
            GradCase(name: "sliceBackward", inputs: [Inputs.uniform([2, 2], seed: 807), Inputs.uniform([3, 4], seed: 808)]) { g, t in
                g.addNode(.sliceBackward(SliceSpec(begin: [1, nil], end: [nil, nil], stride: [1, 2])), inputs: [t[0], t[1]], location: loc)
            },
            GradCase(name: "gatherBackward", inputs: [Inputs.uniform([4, 2], seed: 809), Inputs.ints([2, 0, 2, 1], [4]), Inputs.uniform([3, 2], seed: 810)]) { g, t in
                g.addNode(.gatherBackward(axis: 0), inputs: [t[0], t[1], t[2]], location: loc)
            },
            GradCase(name: "conv2dBackwardInput", inputs: [Inputs.uniform([2, 3, 3, 5], seed: 811), Inputs.uniform([3, 2, 3, 3], seed: 812), Inputs.uniform([2, 2, 5, 5], seed: 813)]) { g, t in
                g.addNode(.conv2dBackwardInput(cfg), inputs: [t[0], t[1], t[2]], location: loc)
            },
            GradCase(name: "conv2dBackwardFilter", inputs: [Inputs.uniform([2, 2, 5, 5], seed: 814), Inputs.uniform([2, 3, 3, 5], seed: 815), Inputs.uniform([3, 2, 3, 3], seed: 816)]) { g, t in
                g.addNode(.conv2dBackwardFilter(cfg), inputs: [t[0], t[1], t[2]], location: loc)
            },
            GradCase(name: "maxPool2dBackward", inputs: [pool, Inputs.uniform([1, 2, 2, 2], seed: 817)]) { g, t in
                g.addNode(.maxPool2dBackward(pcfg), inputs: [t[0], t[1]], location: loc)
            },
            GradCase(name: "avgPool2dBackward", inputs: [Inputs.uniform([1, 2, 2, 2], seed: 818), pool]) { g, t in
                g.addNode(.avgPool2dBackward(pcfg), inputs: [t[0], t[1]], location: loc)
            },
        ]
    }

    /// Gradients of gradients: the output is a gradient, so the check covers the second derivative.
    static var secondOrder: [GradCase] {
        @Sendable func grad(_ g: Graph, _ f: Tensor, _ x: Tensor) throws -> Tensor {
            try g.gradients(of: f, with: [x])[0]
        }
        return [
            GradCase(name: "2nd: tanh·sin", inputs: [Inputs.uniform([5], seed: 900)]) { g, t in try grad(g, (tanh(t[0]) * sin(t[0])).sum(), t[0]) },
            GradCase(name: "2nd: matmul", inputs: [Inputs.uniform([3, 4], seed: 901), Inputs.uniform([4, 2], seed: 902)]) { g, t in
                try grad(g, square(t[0].matmul(t[1])).sum(), t[0]) * t[0]
            },
            GradCase(name: "2nd: softmax", inputs: [Inputs.uniform([2, 4], seed: 903)]) { g, t in try grad(g, (t[0].softmax() * t[0]).sum(), t[0]) },
            GradCase(name: "2nd: logsumexp, max, prod", inputs: [Inputs.awayFromZero([2, 3], seed: 904)]) { g, t in
                try grad(g, (t[0].logsumexp(axis: 1) * t[0].max(axis: 1) + t[0].prod(axes: [1])).sum(), t[0])
            },
            GradCase(name: "2nd: conv2d", inputs: [Inputs.uniform([1, 2, 4, 4], seed: 905), Inputs.uniform([2, 2, 3, 3], seed: 906)]) { g, t in
                try grad(g, square(conv2d(t[0], filter: t[1], padding: .same)).sum(), t[1])
            },
            GradCase(name: "2nd: maxPool2d", inputs: [Inputs.uniform([1, 2, 4, 4], seed: 907)]) { g, t in
                try grad(g, square(maxPool2d(t[0], kernel: (2, 2))).sum(), t[0])
            },
            GradCase(name: "2nd: avgPool2d", inputs: [Inputs.uniform([1, 2, 4, 4], seed: 908)]) { g, t in
                try grad(g, square(avgPool2d(t[0], kernel: (2, 2))).sum(), t[0])
            },
            GradCase(name: "2nd: gather, slice, broadcast", inputs: [Inputs.uniform([3, 2], seed: 909), Inputs.ints([2, 0, 2], [3]), Inputs.uniform([2], seed: 910)]) { g, t in
                try grad(g, (square(t[0].gather(t[1]) * t[2]).slice(begin: [1], end: [nil])).sum(), t[0])
            },
            GradCase(name: "2nd: maxPool2d 3×3 same, stride 2", inputs: [Inputs.uniform([1, 2, 5, 5], seed: 914)]) { g, t in
                try grad(g, square(maxPool2d(t[0], kernel: (3, 3), strides: (2, 2), padding: .same)).sum(), t[0])
            },
            GradCase(name: "2nd: pad, tile, concat, transpose", inputs: [Inputs.uniform([2, 3], seed: 915), Inputs.uniform([2, 2], seed: 916)]) { g, t in
                let h = concat([t[0].padded([(0, 1), (1, 0)]).tiled([1, 2]).slice(begin: [1], end: [nil]), t[1]], axis: 1).transposed()
                return try grad(g, (h * h * h).sum(), t[0])
            },
            GradCase(name: "2nd: conv2d strided, w.r.t. the input", inputs: [Inputs.uniform([1, 2, 5, 5], seed: 917), Inputs.uniform([2, 2, 3, 3], seed: 918)]) { g, t in
                try grad(g, square(conv2d(t[0], filter: t[1], strides: (2, 2), padding: .same)).sum(), t[0])
            },
            GradCase(name: "2nd: softmaxCrossEntropy", inputs: [Inputs.uniform([3, 4], seed: 911), Inputs.ints([1, 3, 0], [3])]) { g, t in
                try grad(g, softmaxCrossEntropy(logits: t[0], labels: t[1]).sum(), t[0])
            },
            GradCase(name: "2nd: pow, div, sigmoid", inputs: [Inputs.uniform([4], seed: 912, 0.5, 2), Inputs.uniform([4], seed: 913, 0.5, 2)]) { g, t in
                try grad(g, (pow(t[0], t[1]) / t[1] + sigmoid(t[0] * t[1])).sum(), t[1])
            },
        ]
    }

    /// The optimizer's fused ops, built directly.
    static var fused: [GradCase] {
        let loc = SourceLocation.unknown
        let p = FusedProgram(steps: [.input(0), .input(1), .binary(.mul, 0, 1), .unary(.tanh, 2), .constant(0.5), .binary(.add, 3, 4)],
                             dtypes: [.float64, .float64, .float64, .float64, .float64, .float64])
        return [
            GradCase(name: "fused", inputs: [Inputs.uniform([2, 3], seed: 950), Inputs.uniform([3], seed: 951)]) { g, t in
                g.addNode(.fused(p), inputs: [t[0], t[1]], location: loc)
            },
            GradCase(name: "fusedReduce", inputs: [Inputs.uniform([2, 3], seed: 952), Inputs.uniform([3], seed: 953)]) { g, t in
                g.addNode(.fusedReduce(.sum, axes: [1], keepDims: false, p), inputs: [t[0], t[1]], location: loc)
            },
            GradCase(name: "linear+tanh", inputs: [Inputs.uniform([2, 3], seed: 954), Inputs.uniform([3, 4], seed: 955), Inputs.uniform([4], seed: 956)]) { g, t in
                g.addNode(.linear(transposeA: false, transposeB: false, activation: .tanh), inputs: [t[0], t[1], t[2]], location: loc)
            },
        ]
    }

    static var unknownShapes: [GradCase] {
        let x = Inputs.uniform([4, 3], seed: 1000, -2, 2), b = Inputs.uniform([3], seed: 1001)
        return [
            GradCase(name: "unknown batch: broadcast mul, mean", inputs: [x, b]) { _, t in (t[0] * t[1]).mean(axes: [0]) },
            GradCase(name: "unknown batch: mean of all", inputs: [x]) { _, t in t[0].mean() * t[0] },
            GradCase(name: "unknown batch: max, logsumexp", inputs: [x]) { _, t in t[0].max(axis: 0) + t[0].logsumexp(axis: 0) },
            GradCase(name: "unknown batch: matmul + bias", inputs: [x, Inputs.uniform([3, 2], seed: 1002), Inputs.uniform([2], seed: 1003)]) { _, t in
                tanh(t[0].matmul(t[1]) + t[2])
            },
            GradCase(name: "unknown batch: reshape, transpose, expandDims", inputs: [x]) { _, t in
                t[0].reshaped([-1, 6]).transposed().expandingDims(axis: 0) * 2
            },
            GradCase(name: "unknown batch: softmaxCrossEntropy mean", inputs: [x, Inputs.ints([0, 2, 1, 2], [4])]) { _, t in
                softmaxCrossEntropy(logits: t[0], labels: t[1]).mean()
            },
            GradCase(name: "unknown batch: pad, slice", inputs: [x]) { _, t in
                t[0].padded([(1, 2), (0, 1)]).slice(begin: [1, 1], end: [-1, nil]) * 3
            },
            GradCase(name: "unknown batch: tile", inputs: [x]) { _, t in t[0].tiled([2, 2]) },
            GradCase(name: "unknown batch: batchNorm", inputs: [x, Inputs.uniform([3], seed: 1004), Inputs.uniform([3], seed: 1005)]) { _, t in
                batchNorm(t[0], gamma: t[1], beta: t[2], training: true)
            },
        ].map(\.withUnknownBatch) + (binary.filter { $0.name.hasPrefix("mul") || $0.name.hasPrefix("maximum") } + matmul.suffix(3)
               + shapes.filter { ["concat", "split", "gather axis 1", "slice strided", "squeeze"].contains($0.name) }
               + neuralNet.filter { $0.name.hasPrefix("conv2d") || $0.name.hasPrefix("maxPool") || $0.name.hasPrefix("avgPool") })
            .map(\.withUnknownBatch)
    }

    static var all: [GradCase] {
        unary + binary + elementwiseOther + matmul + reductions + shapes + neuralNet + helpers + secondOrder + fused + unknownShapes
    }
}

/// Every differentiable op against central finite differences in Float64.
@Suite struct OpGradientTests {
    /// O0 checks the rules on the naive kernels; O2 also runs the optimizer over the gradient graphs.
    @Test(arguments: GradCase.all, [OptimizationLevel.O0, .O2])
    func matchesFiniteDifferences(_ c: GradCase, level: OptimizationLevel) throws {
        let err = try checkGradient(c.build, at: c.inputs, options: SessionOptions(level: level), shapes: c.shapes)
        #expect(err < 1e-6, "\(c.name) at \(level): relative error \(err)")
    }
}
