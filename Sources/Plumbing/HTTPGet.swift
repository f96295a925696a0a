#if canImport(Glibc)
import Glibc
#endif

/// One HTTP GET over IPv4 TCP with deadlines: what the engine asks another blade
/// (`/api/v1/cluster` when it joins) and what `chassisctl demo` asks a blade it waits for.
/// HTTP/1.0, so the server closes after its answer; the answer is bounded; nothing here trusts
/// the bytes that come back (a malformed answer is an error, never a crash).
public enum HTTPGet {
    public struct Reply: Sendable, Equatable {
        public var status: Int
        /// Names lower-cased.
        public var headers: [String: String]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }

        public init(status: Int, headers: [String: String], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// - Parameters:
    ///   - timeoutMs: for the connection, and for each send and each read.
    ///   - responseBytesMax: an answer longer than this is refused.
    public static func get(host: String, port: Int, path: String, headers: [(String, String)] = [],
                           timeoutMs: Int = 1_000, responseBytesMax: Int = 4 << 20) throws -> Reply {
        guard (1...65_535).contains(port) else { throw Failure(description: "bad port \(port)") }
        // Bytes, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard path.hasPrefix("/"), !path.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 32 }) else {
            throw Failure(description: "bad path")
        }
        for (name, value) in headers where (name + value).utf8.contains(where: { $0 == 13 || $0 == 10 }) {
            throw Failure(description: "bad header \(name)")
        }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &target.sin_addr) == 1 else { throw Failure(description: "bad address \(host)") }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let timeout = max(1, timeoutMs)
        var interval = timeval(tv_sec: timeout / 1000, tv_usec: (timeout % 1000) * 1000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        // Linux bounds a blocking connect by the send timeout.
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot reach \(host):\(port): \(String(cString: strerror(errno)))") }
        var request = "GET \(path) HTTP/1.0\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        let bytes = Array((request + "\r\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return send(descriptor, base + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "cannot send to \(host):\(port)") }
            sent += count
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while response.count <= responseBytesMax {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw Failure(description: "reading from \(host):\(port): \(errno == EAGAIN ? "timed out" : String(cString: strerror(errno)))")
            }
            response += chunk.prefix(count)
        }
        guard response.count <= responseBytesMax else { throw Failure(description: "the answer of \(host):\(port) is too large") }
        return try parse(response, from: "\(host):\(port)")
    }

    /// An HTTP/1.x answer: status line, headers, body.
    public static func parse(_ response: [UInt8], from origin: String = "the server") throws -> Reply {
        guard let end = headerEnd(response) else { throw Failure(description: "a malformed answer from \(origin)") }
        let head = String(decoding: response[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]),
              (100...599).contains(status) else {
            throw Failure(description: "a malformed status line from \(origin)")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers[line[..<colon].lowercased()] = String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        return Reply(status: status, headers: headers, body: Array(response[(end + 4)...]))
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}
