import Foundation
import Plumbing
import Testing

/// A server of one connection on 127.0.0.1, answering `reply` (after `delayMs`), and the request it read.
final class OneShotServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received = ""

    init(reply: [UInt8], delayMs: UInt32 = 0) throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(socketFD, 1)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) } }
        port = Int(UInt16(bigEndian: bound.sin_port))
        listener = socketFD
        Thread.detachNewThread { [self] in
            let connection = accept(socketFD, nil, nil)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4_096)
            let count = read(connection, &buffer, buffer.count)
            self.lock.withLock { self.received = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self) }
            if delayMs > 0 { usleep(delayMs * 1_000) }
            _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(connection)
        }
    }

    var request: String { lock.withLock { received } }

    deinit { close(listener) }
}

@Suite struct HTTPGetTests {
    @Test func anAnswerIsParsedWithItsHeadersAndBody() throws {
        let server = try OneShotServer(reply: Array("HTTP/1.1 302 Found\r\nLocation:  http://127.0.1.2:8080/x \r\nX-A: b\r\n\r\n{\"ok\":true}".utf8))
        let reply = try HTTPGet.get(host: "127.0.0.1", port: server.port, path: "/api/v1/cluster",
                                    headers: [("Authorization", "Chassis-Member abc")])
        #expect(reply.status == 302 && reply.headers["location"] == "http://127.0.1.2:8080/x" && reply.headers["x-a"] == "b")
        #expect(reply.text == "{\"ok\":true}")
        #expect(server.request.hasPrefix("GET /api/v1/cluster HTTP/1.0\r\n"))
        #expect(server.request.contains("Authorization: Chassis-Member abc\r\n"))
    }

    @Test(arguments: ["garbage", "HTTP/1.1 999 Nope\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno end"])
    func aMalformedAnswerIsAnError(text: String) throws {
        let server = try OneShotServer(reply: Array(text.utf8))
        #expect(throws: HTTPGet.Failure.self) { try HTTPGet.get(host: "127.0.0.1", port: server.port, path: "/") }
    }

    @Test func anAnswerPastItsBoundIsRefused() throws {
        let server = try OneShotServer(reply: Array("HTTP/1.1 200 OK\r\n\r\n".utf8) + [UInt8](repeating: 65, count: 100_000))
        #expect(throws: HTTPGet.Failure(description: "the answer of 127.0.0.1:\(server.port) is too large")) {
            try HTTPGet.get(host: "127.0.0.1", port: server.port, path: "/", responseBytesMax: 50_000)
        }
    }

    @Test func aSlowServerRunsIntoTheDeadline() throws {
        let server = try OneShotServer(reply: Array("HTTP/1.1 200 OK\r\n\r\n".utf8), delayMs: 1_500)
        let started = Date()
        #expect(throws: HTTPGet.Failure.self) { try HTTPGet.get(host: "127.0.0.1", port: server.port, path: "/", timeoutMs: 200) }
        #expect(Date().timeIntervalSince(started) < 1.2)
    }

    @Test func whatCannotBeSentIsRefusedBeforeAnyConnection() {
        // Each refused for its own reason, not because nothing listens there.
        #expect(throws: HTTPGet.Failure(description: "bad address not-an-address")) {
            try HTTPGet.get(host: "not-an-address", port: 80, path: "/")
        }
        #expect(throws: HTTPGet.Failure(description: "bad port 0")) { try HTTPGet.get(host: "127.0.0.1", port: 0, path: "/") }
        #expect(throws: HTTPGet.Failure(description: "bad path")) { try HTTPGet.get(host: "127.0.0.1", port: 80, path: "/a\r\nX:y") }
        #expect(throws: HTTPGet.Failure(description: "bad path")) { try HTTPGet.get(host: "127.0.0.1", port: 80, path: "/a b") }
        #expect(throws: HTTPGet.Failure(description: "bad header A")) {
            try HTTPGet.get(host: "127.0.0.1", port: 80, path: "/", headers: [("A", "b\r\nC: d")])
        }
        // Nothing listens on port 9 of loopback: refused, not hung.
        #expect(throws: HTTPGet.Failure.self) { try HTTPGet.get(host: "127.0.0.1", port: 9, path: "/", timeoutMs: 500) }
    }
}
