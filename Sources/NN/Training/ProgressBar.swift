// A live progress line for training loops.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints training progress: on a terminal one line redrawn with carriage returns, otherwise
/// one plain line per epoch (so logs stay readable).
public struct ProgressBar {
    /// Whether standard output is a terminal.
    public let isTerminal: Bool
    /// Characters in the bar.
    public var width = 24
    /// Epochs in the run (for the `epoch k/n` label).
    public var epochs: Int

    /// Creates a bar; `isTerminal` defaults to whether standard output is a TTY.
    public init(epochs: Int, isTerminal: Bool? = nil) {
        self.epochs = epochs
        self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) != 0)
    }

    /// The text of a progress line.
    public func line(_ p: Classifier.Progress) -> String {
        let frac = p.batches > 0 ? Double(p.batch) / Double(p.batches) : 1
        let filled = Swift.min(width, Int((frac * Double(width)).rounded(.down)))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "epoch \(pad(p.epoch + 1, String(epochs).count))/\(epochs) [\(bar)] loss \(formatFixed(p.loss, 4))  acc \(formatFixed(p.accuracy, 4))  \(Int(p.examplesPerSecond.rounded())) ex/s"
    }

    /// Reports progress after a batch: redraws the line on a terminal; prints nothing otherwise.
    public func update(_ p: Classifier.Progress) {
        guard isTerminal else { return }
        writeOut("\r" + line(p) + "\u{1B}[K")
    }

    /// Reports the end of an epoch (with an optional suffix such as test accuracy).
    public func finish(_ p: Classifier.Progress, suffix: String = "") {
        if isTerminal { writeOut("\r" + line(p) + suffix + "\u{1B}[K\n") } else { writeOut(line(p) + suffix + "\n") }
    }

    private func writeOut(_ s: String) { writeStandardOutput(s) }
}

/// Writes text to standard output unbuffered (so it interleaves correctly with progress lines).
public func writeStandardOutput(_ s: String) {
    let bytes = Array(s.utf8)
    var done = 0
    while done < bytes.count {
        let r = bytes.withUnsafeBytes { b in b.baseAddress.map { write(STDOUT_FILENO, $0 + done, b.count - done) } ?? 0 }
        if r <= 0 { return }
        done += r
    }
}

/// Writes one line to standard output, unbuffered.
public func writeLine(_ s: String) { writeStandardOutput(s + "\n") }

/// `v` with `digits` decimals (no Foundation needed).
public func formatFixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return String(v) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (abs(v) * scale).rounded()
    guard r < 9e15 else { return String(v) }
    let n = Int64(r)
    let ip = n / Int64(scale), fp = n % Int64(scale)
    var f = String(fp)
    while f.count < digits { f = "0" + f }
    return (v < 0 && n != 0 ? "-" : "") + String(ip) + (digits > 0 ? "." + f : "")
}

func pad(_ n: Int, _ w: Int) -> String {
    let s = String(n)
    return String(repeating: " ", count: Swift.max(0, w - s.count)) + s
}
