#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a bounded read failed. Collectors turn it into a reading's `fault` or, for a whole
/// source, into a thrown error.
public struct FileReadError: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    /// `errno` of the failing call, 0 when the file was merely too large.
    public var code: Int32
    public var reason: String

    public var description: String { "\(path): \(reason)" }
}

/// Reads small kernel files (`/proc`, `/sys`) into one reused buffer, never more than
/// `maximumBytes` and never blocking.
///
/// Some hwmon drivers answer `EAGAIN` forever; the file is opened non-blocking so such a read
/// fails at once instead of hanging the sampler. The buffer is allocated once per reader, so a
/// collector sampling every second does not allocate for its reads.
public final class BoundedFileReader {
    /// The most bytes one read returns; a longer file is truncated (and flagged) rather than grown.
    public let maximumBytes: Int
    /// How many `read` calls one file may take; a file that trickles forever is cut off.
    public static let readCallsMax = 64
    private let buffer: UnsafeMutableRawBufferPointer
    /// Whether the last successful read stopped at `maximumBytes` before the end of the file.
    public private(set) var lastReadTruncated = false

    public init(maximumBytes: Int = 64 * 1024) {
        precondition(maximumBytes > 0 && maximumBytes <= 16 * 1024 * 1024, "unreasonable read bound")
        self.maximumBytes = maximumBytes
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maximumBytes, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Reads the file and hands its bytes to `body`. The bytes are valid only inside `body`.
    public func withContents<T>(of path: String,
                                _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        let count = try fill(path)
        let bytes = UnsafeBufferPointer(start: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                        count: count)
        return try body(bytes)
    }

    /// Reads the file as a string (for identification values and tests; not for hot paths).
    public func string(at path: String) throws -> String {
        try withContents(of: path) { String(decoding: $0, as: UTF8.self) }
    }

    private func fill(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw FileReadError(path: path, code: code, reason: Self.describe(code))
        }
        defer { close(fd) }
        var total = 0
        var calls = 0
        lastReadTruncated = false
        while total < maximumBytes {
            calls += 1
            if calls > Self.readCallsMax {
                throw FileReadError(path: path, code: 0, reason: "too many partial reads")
            }
            let n = read(fd, buffer.baseAddress! + total, maximumBytes - total)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw FileReadError(path: path, code: code, reason: Self.describe(code))
            }
            if n == 0 { return total }
            total += n
        }
        // The buffer is full: probe for one more byte to know whether the file was truncated.
        var probe: UInt8 = 0
        if read(fd, &probe, 1) > 0 { lastReadTruncated = true }
        return total
    }

    static func describe(_ code: Int32) -> String {
        if let text = strerror(code) { return String(cString: text) }
        return "errno \(code)"
    }
}
