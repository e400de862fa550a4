import SymGraph

let g = Graph()
let x = g.placeholder("x", shape: [nil, 784])
let w1 = g.variable("w1", initializer: .glorotUniform, shape: [784, 512], seed: 1)
let b1 = g.variable("b1", initializer: .zeros, shape: [512])
let h = relu(x.matmul(w1) + b1)
let bad = h.matmul(w1)
let s = softmax(h, axis: 1).sum(axis: 1)
let c = conv2d(g.placeholder("img", shape: [nil, 1, 28, 28]), filter: g.variable("k", initializer: .heUniform, shape: [20, 1, 5, 5]))
let p = maxPool2d(c, kernel: (2, 2))
print(g.dump())
do { try g.validate() } catch { print(error) }
