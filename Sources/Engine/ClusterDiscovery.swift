#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ChassisKeys
import Config
import Model
import Store

/// How a blade joining by naming one member (`[cluster] join_via`) learns the others: it reads
/// that blade's `GET /api/v1/cluster` over plain HTTP on the management network, showing a
/// `Chassis-Member` credential made from the cluster key (every blade answers it from its own
/// view, without redirecting). What it learns is only where to reach the members; every peer
/// frame is still authenticated with the cluster key, so a forged answer can at most keep this
/// blade from joining.
enum ClusterDiscovery {
    static let timeoutMs: Int32 = 2_000
    static let responseBytesMax = 1 << 20
    static let redirectsMax = 2

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The cluster view served by the member at `address:port`.
    static func fetch(address: String, port: Int, clusterKey: [UInt8]) throws -> ClusterView {
        var host = address
        var hostPort = port
        let webKey = WebKeyFile.webKey(clusterKey)
        for _ in 0...redirectsMax {
            let credential = MemberCredential.make(webKey: webKey, seconds: Int64(StoreReader.wallClock()))
            let (status, headers, body) = try get(host: host, port: hostPort, path: "/api/v1/cluster",
                                                  authorization: MemberCredential.scheme + " " + credential)
            if status == 200 {
                return try JSONDecoder().decode(ClusterView.self, from: Data(body))
            }
            guard status == 302 || status == 307, let location = headers["location"],
                  let target = parseHTTPURL(location) else {
                throw Failure(description: "\(host):\(hostPort) answered \(status)")
            }
            (host, hostPort) = target
        }
        throw Failure(description: "more than \(redirectsMax) redirects from \(address):\(port)")
    }

    /// `http://IPv4[:port]/…` → address and port; anything else is refused.
    static func parseHTTPURL(_ text: String) -> (address: String, port: Int)? {
        guard text.hasPrefix("http://") else { return nil }
        return IPv4.parseEndpoint(text.dropFirst(7).prefix { $0 != "/" }, defaultPort: 80)
    }

    /// One HTTP/1.0 GET with a connect and read deadline: status, lower-cased headers, body.
    static func get(host: String, port: Int, path: String, authorization: String) throws -> (Int, [String: String], [UInt8]) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int(timeoutMs % 1000) * 1000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &target.sin_addr) == 1 else { throw Failure(description: "bad address \(host)") }
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot reach \(host):\(port): \(String(cString: strerror(errno)))") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host):\(port)\r\nAccept: application/json\r\nAuthorization: \(authorization)\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw Failure(description: "cannot send to \(host):\(port)")
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while response.count <= responseBytesMax {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw Failure(description: "reading from \(host):\(port): \(String(cString: strerror(errno)))")
            }
            response += chunk.prefix(count)
        }
        guard response.count <= responseBytesMax else { throw Failure(description: "the answer of \(host):\(port) is too large") }
        guard let end = findHeaderEnd(response) else { throw Failure(description: "a malformed answer from \(host):\(port)") }
        let head = String(decoding: response[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure(description: "a malformed status line from \(host):\(port)")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmedWhitespace
        }
        return (status, headers, Array(response[(end + 4)...]))
    }

    private static func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}
