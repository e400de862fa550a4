#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Graph

/// Small, bounded file helpers (no reads past a size limit, no escaping a folder).
enum FileAccess {
    /// Reads `length` bytes at `offset` of a file (the whole file when `length` is nil),
    /// refusing files larger than `maxBytes`.
    static func read(_ path: String, maxBytes: Int, offset: Int = 0, length: Int? = nil) throws -> Data {
        guard let f = fopen(path, "rb") else { throw ONNXError.file("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var st = stat()
        guard fstat(fileno(f), &st) == 0 else { throw ONNXError.file("cannot stat '\(path)'") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ONNXError.file("'\(path)' is not a regular file") }
        let size = Int(st.st_size)
        guard offset >= 0, offset <= size else { throw ONNXError.file("offset \(offset) is outside '\(path)' (\(size) bytes)") }
        let n = length ?? (size - offset)
        guard n >= 0, n <= size - offset else {
            throw ONNXError.file("'\(path)' has \(size) bytes; \(n) bytes at offset \(offset) were asked for")
        }
        guard n <= maxBytes else { throw ONNXError.file("'\(path)': \(n) bytes exceed the limit of \(maxBytes)") }
        guard fseeko(f, off_t(offset), SEEK_SET) == 0 else { throw ONNXError.file("cannot seek in '\(path)'") }
        var data = Data(count: n)
        let got = data.withUnsafeMutableBytes { buf -> Int in
            guard let base = buf.baseAddress, n > 0 else { return 0 }
            return fread(base, 1, n, f)
        }
        guard got == n else { throw ONNXError.file("short read from '\(path)': \(got) of \(n) bytes") }
        return data
    }

    /// Writes `data` to `path` (replacing it).
    static func write(_ data: Data, to path: String) throws {
        guard let f = fopen(path, "wb") else { throw ONNXError.file("cannot create '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        let n = data.withUnsafeBytes { buf -> Int in
            guard let base = buf.baseAddress, !buf.isEmpty else { return 0 }
            return fwrite(base, 1, buf.count, f)
        }
        guard n == data.count else { throw ONNXError.file("short write to '\(path)'") }
    }

    /// The canonical absolute path (symlinks resolved), or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The folder part of a path ("." when it has none).
    static func directory(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    /// Resolves an external-data `location` relative to `folder`, refusing absolute paths,
    /// `..` components and symlinks that lead outside the folder.
    static func resolveInside(folder: String, location: String) throws -> String {
        guard !location.isEmpty else { throw ONNXError.file("external data has an empty location") }
        guard !location.hasPrefix("/"), !location.hasPrefix("\\") else {
            throw ONNXError.file("external data location '\(location)' is absolute; only files inside the model's folder are read")
        }
        let parts = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !parts.contains(where: { $0 == ".." }), !location.contains("\0") else {
            throw ONNXError.file("external data location '\(location)' leaves the model's folder")
        }
        guard let root = realPath(folder) else { throw ONNXError.file("model folder '\(folder)' does not exist") }
        guard let full = realPath(folder + "/" + location) else {
            throw ONNXError.file("external data file '\(location)' does not exist in '\(folder)'")
        }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard full.hasPrefix(prefix) else {
            throw ONNXError.file("external data location '\(location)' resolves outside the model's folder (\(full))")
        }
        return full
    }

    /// The regular files of a folder, sorted by name.
    static func listFiles(_ folder: String) throws -> [String] {
        guard let d = opendir(folder) else { throw ONNXError.file("cannot open folder '\(folder)'") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates a folder (and its parents) if missing.
    static func makeDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            var st = stat()
            if stat(current, &st) == 0 { continue }
            guard mkdir(current, 0o755) == 0 || errno == EEXIST else {
                throw ONNXError.file("cannot create folder '\(current)': \(String(cString: strerror(errno)))")
            }
        }
    }
}
