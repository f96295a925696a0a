#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model

public enum ControlClientError: Error, CustomStringConvertible, Equatable {
    case socketPathTooLong(String)
    case connectFailed(path: String, errno: Int32)
    case timedOut
    case closedEarly
    case replyTooLong
    case malformedReply(String)

    public var description: String {
        switch self {
        case .socketPathTooLong(let path): return "control socket path too long: \(path)"
        case .connectFailed(let path, let code): return "cannot reach the engine at \(path): \(String(cString: strerror(code)))"
        case .timedOut: return "the engine did not answer within \(ControlLimits.replyTimeoutMs) ms"
        case .closedEarly: return "the engine closed the control connection without answering"
        case .replyTooLong: return "the engine's reply exceeded \(ControlLimits.lineBytesMax) bytes"
        case .malformedReply(let why): return "malformed reply from the engine: \(why)"
        }
    }
}

/// A blocking client of the engine's control socket: one connection per request, one JSON line
/// each way. Used from the web app's worker threads and from `chassisctl`.
public struct ControlClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    public func send(_ request: ControlRequest) throws -> ControlResponse {
        try send(request, actor: nil)
    }

    /// Sends a request on behalf of `actor` (the web app's logged-in user); without one the engine
    /// records the local console (the peer's user id) as the actor.
    public func send(_ request: ControlRequest, actor: Actor?) throws -> ControlResponse {
        var line = try JSONEncoder().encode(ControlEnvelope(request: request, actor: actor))
        line.append(0x0A)
        let fd = try connect()
        defer { close(fd) }
        try writeAll(fd, line)
        let reply = try readLine(fd)
        do {
            return try JSONDecoder().decode(ControlResponse.self, from: reply)
        } catch {
            throw ControlClientError.malformedReply("\(error)")
        }
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError.connectFailed(path: socketPath, errno: errno) }
        var timeout = timeval(tv_sec: ControlLimits.replyTimeoutMs / 1000,
                              tv_usec: (ControlLimits.replyTimeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw ControlClientError.socketPathTooLong(socketPath)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw ControlClientError.connectFailed(path: socketPath, errno: code)
        }
        return fd
    }

    private func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { throw ControlClientError.timedOut }
                    throw ControlClientError.closedEarly
                }
                offset += written
            }
        }
    }

    private func readLine(_ fd: Int32) throws -> Data {
        var reply = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw ControlClientError.timedOut }
                throw ControlClientError.closedEarly
            }
            if count == 0 { throw ControlClientError.closedEarly }
            if let newline = buffer[0..<count].firstIndex(of: 0x0A) {
                reply.append(contentsOf: buffer[0..<newline])
                return reply
            }
            reply.append(contentsOf: buffer[0..<count])
            if reply.count > ControlLimits.lineBytesMax { throw ControlClientError.replyTooLong }
        }
    }
}
