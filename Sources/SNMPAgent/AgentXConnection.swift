import AgentX
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

struct ConnectionError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One stream connection to the master agent's AgentX unix socket: whole PDUs in and out.
/// Reads are bounded: a PDU's rest must arrive within `readTimeoutSeconds` of its header, and its
/// length within `AgentXLimits.payloadBytesMax`; otherwise the connection is dropped.
final class AgentXConnection {
    let descriptor: Int32
    static let readTimeoutSeconds = 5

    init(path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw ConnectionError("the AgentX socket path is longer than \(capacity - 1) bytes") }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ConnectionError("socket: \(String(cString: strerror(errno)))") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (position, byte) in path.utf8.enumerated() { buffer[position] = byte }
            buffer[path.utf8.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw ConnectionError("cannot connect to \(path): \(reason)")
        }
        var timeout = timeval(tv_sec: Self.readTimeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Waits up to `milliseconds` for bytes to read; true when there are some (or the peer closed).
    func readable(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let received = buffer.withUnsafeMutableBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return -1 }
                return recv(descriptor, base + done, count - done, 0)
            }
            if received == 0 { throw ConnectionError("the master agent closed the connection") }
            if received < 0 {
                if errno == EINTR { continue }
                throw ConnectionError("reading from the master agent: \(String(cString: strerror(errno)))")
            }
            done += received
        }
        return buffer
    }

    /// The next whole PDU. A malformed one throws `CodingError`; the caller drops the session.
    func read() throws -> PDU {
        let header = try Header.decode(try readExactly(AgentXLimits.headerBytes))
        let payload = try readExactly(header.payloadLength)
        return try PDU.decode(header: header, payload: payload)
    }

    func write(_ pdu: PDU) throws {
        let bytes = pdu.encode()
        var done = 0
        while done < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return send(descriptor, base + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw ConnectionError("writing to the master agent: \(String(cString: strerror(errno)))")
            }
            done += sent
        }
    }
}
