// Checkpoints in the safetensors format, written atomically and read defensively.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a checkpoint could not be read, written or applied.
public enum CheckpointError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be opened, read, written or renamed.
    case io(String)
    /// The file ends before the header or data it announces.
    case truncated(String)
    /// The header length is above ``Checkpoint/maxHeaderSize`` (a corrupt or hostile file).
    case headerTooLarge(UInt64)
    /// The header is not valid JSON or not the safetensors structure.
    case invalidHeader(String)
    /// A tensor's dtype is not one SymGraph has (F32, F64, I32, I64, BOOL).
    case unsupportedDType(tensor: String, dtype: String)
    /// A tensor's shape has negative, non-integer or overflowing dimensions.
    case invalidShape(tensor: String, String)
    /// A tensor's `data_offsets` are reversed or point past the end of the data.
    case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataSize: Int)
    /// A tensor's byte range does not match its dtype × shape.
    case sizeMismatch(tensor: String, expected: Int, actual: Int)
    /// The tensors' byte ranges overlap, leave gaps or do not cover the data exactly.
    case nonContiguous(String)
    /// A variable to restore is not in the checkpoint.
    case missingTensor(String)
    /// A stored tensor does not fit the variable it should restore.
    case incompatible(tensor: String, String)

    public var description: String {
        switch self {
        case .io(let m): return "checkpoint I/O error: \(m)"
        case .truncated(let m): return "checkpoint is truncated: \(m)"
        case .headerTooLarge(let n): return "checkpoint header length \(n) exceeds the \(Checkpoint.maxHeaderSize)-byte limit (corrupt file?)"
        case .invalidHeader(let m): return "checkpoint header is invalid: \(m)"
        case .unsupportedDType(let t, let d): return "tensor '\(t)' has unsupported dtype '\(d)' (supported: F32, F64, I32, I64, BOOL)"
        case .invalidShape(let t, let m): return "tensor '\(t)' has an invalid shape: \(m)"
        case .offsetsOutOfRange(let t, let b, let e, let n): return "tensor '\(t)' has data_offsets [\(b), \(e)] outside the \(n)-byte data section"
        case .sizeMismatch(let t, let e, let a): return "tensor '\(t)' needs \(e) bytes for its dtype and shape but its data_offsets span \(a)"
        case .nonContiguous(let m): return "checkpoint data is not contiguous: \(m)"
        case .missingTensor(let n): return "checkpoint has no tensor named '\(n)'"
        case .incompatible(let t, let m): return "checkpoint tensor '\(t)' does not fit its variable: \(m)"
        }
    }
}

/// A set of named tensors plus string metadata, stored in the safetensors format:
/// an 8-byte little-endian header length N, N bytes of JSON
/// (`{"__metadata__": {…}, "name": {"dtype": "F32", "shape": […], "data_offsets": [begin, end]}, …}`,
/// padded with spaces to a multiple of 8), then the tensors' raw little-endian bytes, contiguous.
///
/// Files are interchangeable with other frameworks' safetensors readers and writers
/// (F32, F64, I32, I64 and BOOL tensors).
public struct Checkpoint: Sendable, Equatable {
    /// The largest header accepted when reading (100 MB).
    public static let maxHeaderSize: UInt64 = 100_000_000

    /// The tensors by name.
    public var tensors: [String: HostTensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    /// Creates a checkpoint from tensors and metadata.
    public init(tensors: [String: HostTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    static func dtypeName(_ d: DType) -> String {
        switch d {
        case .float32: return "F32"
        case .float64: return "F64"
        case .int32: return "I32"
        case .int64: return "I64"
        case .bool: return "BOOL"
        }
    }

    static func dtype(named s: String) -> DType? {
        switch s {
        case "F32": return .float32
        case "F64": return .float64
        case "I32": return .int32
        case "I64": return .int64
        case "BOOL": return .bool
        default: return nil
        }
    }

    // MARK: Encoding

    /// The file's bytes (names sorted, so the same tensors always give the same bytes).
    public func encoded() -> [UInt8] {
        let names = tensors.keys.sorted()
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonQuote($0)):\(jsonQuote(metadata[$0] ?? ""))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        for n in names {
            guard let t = tensors[n] else { continue }
            let size = t.count * t.dtype.byteSize
            parts.append("\(jsonQuote(n)):{\"dtype\":\"\(Checkpoint.dtypeName(t.dtype))\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        header += parts.joined(separator: ",") + "}"
        var hb = Array(header.utf8)
        while (8 + hb.count) % 8 != 0 { hb.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + hb.count + offset)
        var n = UInt64(hb.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out.append(contentsOf: hb)
        for name in names {
            guard let t = tensors[name] else { continue }
            let size = t.count * t.dtype.byteSize
            out.append(contentsOf: UnsafeRawBufferPointer(start: t.storage.pointer, count: size))
        }
        return out
    }

    // MARK: Decoding

    /// Parses a checkpoint from its bytes, checking every offset and size before touching the data.
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 8 else { throw CheckpointError.truncated("\(bytes.count) bytes, the header length alone needs 8") }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard n <= Checkpoint.maxHeaderSize else { throw CheckpointError.headerTooLarge(n) }
        let available = UInt64(bytes.count - 8)
        guard n <= available else { throw CheckpointError.truncated("header length \(n) but only \(available) bytes follow") }
        let headerLen = Int(n)
        let header = Array(bytes[8..<(8 + headerLen)])
        guard header.first == UInt8(ascii: "{") else { throw CheckpointError.invalidHeader("the header does not start with '{'") }
        let json = try JSONParser.parse(header)
        guard case .object(let members) = json else { throw CheckpointError.invalidHeader("the header is not a JSON object") }
        let dataStart = 8 + headerLen
        let dataSize = bytes.count - dataStart

        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw CheckpointError.invalidHeader("duplicate key '\(name)'") }
            if name == "__metadata__" {
                guard case .object(let kv) = value else { throw CheckpointError.invalidHeader("__metadata__ is not an object") }
                for (k, v) in kv {
                    guard case .string(let s) = v else { throw CheckpointError.invalidHeader("__metadata__ value of '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let fields) = value else { throw CheckpointError.invalidHeader("entry '\(name)' is not an object") }
            func field(_ k: String) -> JSONValue? { fields.first { $0.0 == k }?.1 }
            guard case .string(let ds)? = field("dtype") else { throw CheckpointError.invalidHeader("entry '\(name)' has no dtype string") }
            guard let dtype = Checkpoint.dtype(named: ds) else { throw CheckpointError.unsupportedDType(tensor: name, dtype: ds) }
            guard case .array(let dims)? = field("shape") else { throw CheckpointError.invalidHeader("entry '\(name)' has no shape array") }
            var shape: [Int] = []
            var elements = 1
            for d in dims {
                guard let k = d.nonNegativeInt else {
                    throw CheckpointError.invalidShape(tensor: name, "dimension \(d) is not a non-negative integer")
                }
                let (p, o) = elements.multipliedReportingOverflow(by: k)
                guard !o else { throw CheckpointError.invalidShape(tensor: name, "the element count overflows") }
                elements = p
                shape.append(k)
            }
            let (expected, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o else { throw CheckpointError.invalidShape(tensor: name, "the byte size overflows") }
            guard case .array(let offs)? = field("data_offsets"), offs.count == 2 else {
                throw CheckpointError.invalidHeader("entry '\(name)' has no [begin, end] data_offsets")
            }
            guard let b = offs[0].nonNegativeInt, let e = offs[1].nonNegativeInt else {
                throw CheckpointError.offsetsOutOfRange(tensor: name, begin: offs[0].nonNegativeInt ?? -1, end: offs[1].nonNegativeInt ?? -1, dataSize: dataSize)
            }
            guard b <= e, e <= dataSize else { throw CheckpointError.offsetsOutOfRange(tensor: name, begin: b, end: e, dataSize: dataSize) }
            guard e - b == expected else { throw CheckpointError.sizeMismatch(tensor: name, expected: expected, actual: e - b) }
            entries.append((name, dtype, shape, b, e))
        }
        // The byte ranges must tile the data section exactly: no overlap, no gap, nothing left over.
        var cursor = 0
        for e in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard e.begin == cursor else {
                throw CheckpointError.nonContiguous(e.begin < cursor
                    ? "tensor '\(e.name)' at \(e.begin) overlaps the previous tensor, which ends at \(cursor)"
                    : "gap of \(e.begin - cursor) bytes before tensor '\(e.name)' at \(e.begin)")
            }
            cursor = e.end
        }
        guard cursor == dataSize else {
            throw CheckpointError.nonContiguous("the tensors cover \(cursor) bytes but the data section has \(dataSize)")
        }
        var tensors: [String: HostTensor] = [:]
        for e in entries {
            let t = HostTensor(zeros: e.dtype, shape: e.shape)
            let size = e.end - e.begin
            if size > 0 {
                bytes.withUnsafeBytes { src in
                    // In range: begin + size ≤ dataSize was checked above.
                    guard let base = src.baseAddress else { return }
                    t.storage.pointer.copyMemory(from: base + dataStart + e.begin, byteCount: size)
                }
                if e.dtype == .bool {
                    // Foreign files may hold any non-zero byte for true; Swift's Bool must be 0 or 1.
                    let p = t.storage.pointer
                    for i in 0..<size where p.load(fromByteOffset: i, as: UInt8.self) > 1 {
                        p.storeBytes(of: UInt8(1), toByteOffset: i, as: UInt8.self)
                    }
                }
            }
            tensors[e.name] = t
        }
        self.init(tensors: tensors, metadata: metadata)
    }

    // MARK: Files

    /// Writes the checkpoint atomically: to a temporary file in the same folder, flushed with `fsync`,
    /// then renamed over `path` (and the folder synced). A crash leaves the old file intact.
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Reads and validates a checkpoint file.
    public static func read(from path: String) throws -> Checkpoint {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.io("cannot open '\(path)': \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CheckpointError.io("cannot stat '\(path)': \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw CheckpointError.io("'\(path)' is not a regular file") }
        let size = Int(st.st_size)
        // Check the header length before reading everything, so a hostile length costs nothing.
        if size >= 8 {
            var head = [UInt8](repeating: 0, count: 8)
            guard try readFully(fd, into: &head, at: 0, count: 8) == 8 else { throw CheckpointError.truncated("cannot read the header length") }
            var n: UInt64 = 0
            for k in 0..<8 { n |= UInt64(head[k]) << (8 * UInt64(k)) }
            guard n <= maxHeaderSize else { throw CheckpointError.headerTooLarge(n) }
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let got = try readFully(fd, into: &bytes, at: 0, count: size)
        if got < size { bytes.removeLast(size - got) }
        return try Checkpoint(decoding: bytes)
    }

    private static func readFully(_ fd: Int32, into buf: inout [UInt8], at offset: Int, count: Int) throws -> Int {
        var done = 0
        try buf.withUnsafeMutableBytes { p in
            guard let base = p.baseAddress else { return }
            while done < count {
                let r = pread(fd, base + done, count - done, off_t(offset + done))
                if r < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError.io("read failed: \(errnoText())")
                }
                if r == 0 { break }
                done += r
            }
        }
        return done
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

}

/// Atomic file replacement: write a temporary file in the same folder, `fsync` it, rename it over
/// the target, then `fsync` the folder. Readers see the old file or the new one, never a mix.
public enum AtomicFile {
    private static let tempCounter = TempCounter()

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw CheckpointError.io("'\(path)' is not a file path") }
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(base).tmp-\(getpid())-\(tempCounter.next())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io("cannot create '\(tmp)': \(Checkpoint.errnoText())") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            defer { close(fd) }
            var written = 0
            try bytes.withUnsafeBytes { buf in
                guard let base = buf.baseAddress else { return }
                while written < buf.count {
                    let r = systemWrite(fd, base + written, buf.count - written)
                    if r < 0 {
                        if errno == EINTR { continue }
                        throw CheckpointError.io("cannot write '\(tmp)': \(Checkpoint.errnoText())")
                    }
                    written += r
                }
            }
            guard fsync(fd) == 0 else { throw CheckpointError.io("cannot flush '\(tmp)': \(Checkpoint.errnoText())") }
        }
        guard rename(tmp, path) == 0 else { throw CheckpointError.io("cannot rename '\(tmp)' to '\(path)': \(Checkpoint.errnoText())") }
        ok = true
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Creates a folder and its missing parents (like `mkdir -p`).
    public static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") where !part.isEmpty {
            current += "/" + part
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw CheckpointError.io("cannot create folder '\(current)': \(Checkpoint.errnoText())")
            }
        }
    }
}

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// A process-wide counter for unique temporary names.
private final class TempCounter: @unchecked Sendable {
    private var value = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func next() -> Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        value += 1
        return value
    }
}

// MARK: - Sessions

/// What training and checkpoint helpers need from a session (`Runtime.Session` conforms).
public protocol GraphSession: AnyObject {
    /// Runs the graph for `fetches` with `feeds`; fetching assign or group ops applies them.
    func run(_ fetches: [Tensor], feeds: [Tensor: HostTensor]) throws -> [HostTensor]
    /// The current value of a variable (initialized on first use).
    func variable(_ v: Tensor) throws -> HostTensor
    /// Sets a variable's value.
    func setVariable(_ v: Tensor, to value: HostTensor) throws
}

extension Checkpoint {
    /// Saves the current values of `variables` (named by their node names) from `session` to `path`, atomically.
    public static func save(_ variables: [Tensor], from session: some GraphSession, to path: String,
                            metadata: [String: String] = [:]) throws {
        var tensors: [String: HostTensor] = [:]
        for v in variables { tensors[v.name] = try session.variable(v) }
        try Checkpoint(tensors: tensors, metadata: metadata).write(to: path)
    }

    /// Sets each of `variables` in `session` to the tensor of the same name in this checkpoint.
    /// Checks every variable (presence, dtype, shape) before changing any.
    public func restore(_ variables: [Tensor], into session: some GraphSession) throws {
        var values: [(Tensor, HostTensor)] = []
        for v in variables {
            guard let t = tensors[v.name] else { throw CheckpointError.missingTensor(v.name) }
            guard t.dtype == v.dtype else { throw CheckpointError.incompatible(tensor: v.name, "stored \(t.dtype), variable is \(v.dtype)") }
            guard v.shape.accepts(t.shape) else { throw CheckpointError.incompatible(tensor: v.name, "stored shape \(t.shape), variable is \(v.shape)") }
            values.append((v, t))
        }
        for (v, t) in values { try session.setVariable(v, to: t) }
    }

    /// Reads `path` and restores `variables` into `session`; returns the file's metadata.
    @discardableResult
    public static func restore(_ variables: [Tensor], into session: some GraphSession, from path: String) throws -> [String: String] {
        let c = try Checkpoint.read(from: path)
        try c.restore(variables, into: session)
        return c.metadata
    }
}
