import NN
import Runtime

// The runtime's Session has exactly the methods NN's training and checkpoint helpers use.
extension Session: GraphSession {}
