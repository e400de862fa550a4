// Gradient rules of elementwise ops: unary math, broadcasting binary ops, where, cast.
//
// Conventions at kinks (documented in docs/autodiff.md):
// - relu, leakyRelu, elu: the derivative at 0 is the one of the x < 0 side (relu'(0) = 0).
// - abs: derivative sign(x), so 0 at 0.
// - maximum/minimum: ties go to the first argument (a >= b picks a for maximum, a <= b for minimum).
// Piecewise-constant helper values (masks, sign) are wrapped in stopGradient or used as `where`
// conditions, so the gradient graphs are themselves differentiable (higher order).

extension Autodiff {
    static func unaryRule(_ f: UnaryFunction, _ c: GradientContext) throws -> [InputGradient] {
        let g = c.g, x = c.x(0), y = c.y
        let r: Tensor
        switch f {
        case .neg: r = -g
        case .abs: r = g * x.map(.sign).stopGradient()
        case .exp: r = g * y
        case .log: r = g / x
        case .log1p: r = g / (x + 1)
        case .expm1: r = g * (y + 1)
        case .sqrt: r = g / (y * 2)
        case .rsqrt: r = g * y * y * y * (-0.5)
        case .square: r = g * x * 2
        case .reciprocal: r = -(g * y * y)
        case .sin: r = g * cos(x)
        case .cos: r = -(g * sin(x))
        case .tanh: r = g * (1 - y * y)
        case .sigmoid: r = g * y * (1 - y)
        case .relu: r = `where`(y .> 0, g, c.const(0))  // y > 0 exactly when x > 0; the pre-activation need not be kept
        case .leakyRelu(let alpha): r = `where`(x .> 0, g, g * alpha)
        case .elu(let alpha): r = `where`(x .> 0, g, g * (y + alpha))
        case .softplus: r = g * sigmoid(x)
        case .erf: r = g * exp(-(x * x)) * (2 / Double.pi.squareRoot())
        case .gelu:
            // d/dx [x Φ(x)] = Φ(x) + x φ(x)
            let cdf = (erf(x * (1 / 2.0.squareRoot())) + 1) * 0.5
            let pdf = exp(x * x * (-0.5)) * (1 / (2 * Double.pi).squareRoot())
            r = g * (cdf + x * pdf)
        case .narrow(let format):
            // Straight through, as for a cast between float types (the rounding itself is
            // piecewise constant; the cast it emulates is treated as the identity).
            guard format.kind.isFloatingPoint else {
                return c.each { _ in .nonDifferentiable("narrowing to \(format.kind) works on integers") }
            }
            r = g
        case .sign, .floor, .ceil, .round:
            return c.each { _ in .nonDifferentiable("\(f.name) is piecewise constant (no gradient)") }
        case .logicalNot:
            return c.each { _ in .nonDifferentiable("logicalNot works on booleans") }
        case .bitwiseNot:
            return c.each { _ in .nonDifferentiable("bitwiseNot works on integers") }
        }
        return [.gradient(r)]
    }

    static func binaryRule(_ f: BinaryFunction, _ c: GradientContext) throws -> [InputGradient] {
        let g = c.g, a = c.x(0), b = c.x(1), y = c.y
        func out(_ da: @autoclosure () -> Tensor, _ db: @autoclosure () -> Tensor) -> [InputGradient] {
            [c.needs[0] ? .gradient(c.unbroadcast(da(), to: 0)) : .zero,
             c.needs[1] ? .gradient(c.unbroadcast(db(), to: 1)) : .zero]
        }
        switch f {
        case .add: return out(g, g)
        case .sub: return out(g, -g)
        case .mul: return out(g * b, g * a)
        case .div: return out(g / b, -(g * y / b))
        case .pow:
            // d/da = b a^(b-1); d/db = y log(a), taken as 0 where a <= 0.
            func dlogb() -> Tensor {
                let positive = a .> 0
                return `where`(positive, g * y * log(`where`(positive, a, c.const(1))), c.const(0))
            }
            return out(g * b * pow(a, b - 1), dlogb())
        case .maximum:
            let first = a .>= b
            return out(`where`(first, g, c.const(0)), `where`(first, c.const(0), g))
        case .minimum:
            let first = a .<= b
            return out(`where`(first, g, c.const(0)), `where`(first, c.const(0), g))
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
            return c.each { _ in .nonDifferentiable("comparisons give booleans (no gradient)") }
        case .logicalAnd, .logicalOr:
            return c.each { _ in .nonDifferentiable("logical ops work on booleans") }
        case .bitwiseAnd, .bitwiseOr, .bitwiseXor, .shiftLeft, .shiftRight:
            return c.each { _ in .nonDifferentiable("bitwise ops work on integers") }
        }
    }

    static func selectRule(_ c: GradientContext) -> [InputGradient] {
        let g = c.g, cond = c.x(0), zero = c.const(0)
        return c.each { i in
            switch i {
            case 0: return .zero  // the condition is piecewise constant: zero gradient
            case 1: return .gradient(c.unbroadcast(`where`(cond, g, zero), to: 1))
            default: return .gradient(c.unbroadcast(`where`(cond, zero, g), to: 2))
            }
        }
    }

    static func castRule(_ c: GradientContext) -> [InputGradient] {
        c.each { _ in
            let x = c.x(0)
            // From an integer or bool input: the core names the node that made that value.
            guard x.dtype.isFloatingPoint else { return .gradient(c.g) }
            return .gradient(c.g.dtype == x.dtype ? c.g : c.g.cast(to: x.dtype))
        }
    }
}
