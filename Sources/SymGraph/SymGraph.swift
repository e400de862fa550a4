// The umbrella module: `import SymGraph` brings in the whole framework.
@_exported import Graph
@_exported import Optimizer
@_exported import Runtime
@_exported import Viz
@_exported import NN
@_exported import ONNX
