import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Transport

let key = Array("0123456789abcdef0123456789abcdef".utf8)

@Suite struct PeerCodecTests {
    let codec = PeerCodec(key: key)
    let frame = PeerFrame(kind: .data, sender: "blade2", nonce: Array(repeating: 7, count: 16), sequence: 42,
                          payload: Array("hello".utf8))

    @Test func roundTrips() throws {
        let bytes = codec.encode(frame)
        #expect(try PeerCodec.frameLength(bytes[...]) == bytes.count)
        #expect(try codec.decode(bytes[...]) == frame)
    }

    @Test func aDifferentKeyIsForged() {
        let other = PeerCodec(key: Array("another key, sixteen bytes or more".utf8))
        #expect(throws: PeerFrameError.forged) { try codec.decode(other.encode(frame)[...]) }
    }

    @Test func everyFlippedBitIsCaught() {
        let bytes = codec.encode(frame)
        for index in bytes.indices {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect(throws: (any Error).self, "byte \(index)") { _ = try codec.decode(tampered[...]) }
        }
    }

    @Test func truncatedFramesAreIncomplete() throws {
        let bytes = codec.encode(frame)
        for length in 0..<bytes.count {
            #expect(throws: PeerFrameError.incomplete) { _ = try codec.decode(bytes[0..<length]) }
        }
    }

    @Test func anOversizedLengthIsRefusedFromTheHeader() {
        var bytes = codec.encode(frame)
        let lengthOffset = 5 + 6 + 16 + 8
        bytes.replaceSubrange(lengthOffset..<(lengthOffset + 4), with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: PeerFrameError.oversized(0x7FFF_FFFF)) { _ = try PeerCodec.frameLength(bytes[...]) }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            var bytes = (0..<Int.random(in: 0...120, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator), bytes.count > 4 { bytes[0] = 0x43; bytes[1] = 0x4D; bytes[2] = 1; bytes[3] = 2 }
            _ = try? codec.decode(bytes[...])
        }
    }

    @Test func theReplayGuardTakesEachSequenceOnceInOrder() {
        var guardState = ReplayGuard(nonce: frame.nonce)
        func data(_ sequence: UInt64, nonce: [UInt8]? = nil, sender: String = "blade2") -> PeerFrame {
            PeerFrame(kind: .data, sender: sender, nonce: nonce ?? frame.nonce, sequence: sequence, payload: [])
        }
        #expect(guardState.check(data(1)) == .accept)
        #expect(guardState.check(data(1)) == .replayed)
        #expect(guardState.check(data(3)) == .replayed)
        #expect(guardState.check(data(2, nonce: Array(repeating: 9, count: 16))) == .replayed)
        #expect(guardState.check(data(2, sender: "blade3")) == .senderChanged)
        #expect(guardState.check(data(2)) == .accept)
    }
}

/// Two or three transports on loopback, as blades.
@Suite(.serialized) struct PeerTransportTests {
    final class Inbox: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(String, String)] = []
        func add(_ sender: String, _ payload: [UInt8]) {
            lock.lock(); defer { lock.unlock() }
            items.append((sender, String(decoding: payload, as: UTF8.self)))
        }
        var all: [(String, String)] { lock.lock(); defer { lock.unlock() }; return items }
    }

    static func waitUntil(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// A transport named after its endpoint on 127.0.0.1, delivering into `inbox` (or nowhere).
    static func transport(_ name: String, _ endpoints: [PeerEndpoint], loop: EventLoop, key: [UInt8] = key,
                          inbox: Inbox? = nil) -> PeerTransport {
        let port = endpoints.first { $0.name == name }!.port
        return PeerTransport(localName: name, localHost: "127.0.0.1", port: port, key: key, peers: endpoints, loop: loop) {
            inbox?.add($0, $1)
        }
    }

    @Test func deliversInOrderAndRefusesAWrongKey() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let port = Int.random(in: 20_000...23_999)
        let endpoints = [PeerEndpoint(name: "a", host: "127.0.0.1", port: port),
                         PeerEndpoint(name: "b", host: "127.0.0.1", port: port + 1),
                         PeerEndpoint(name: "c", host: "127.0.0.1", port: port + 2)]
        let inboxB = Inbox()
        let a = Self.transport("a", endpoints, loop: loop)
        let b = Self.transport("b", endpoints, loop: loop, inbox: inboxB)
        // A blade with the wrong key: its frames never reach b.
        let c = Self.transport("c", endpoints, loop: loop, key: Array("the wrong cluster key, 32 bytes!".utf8))
        try a.start(); try b.start(); try c.start()
        defer { a.stop(); b.stop(); c.stop() }
        try loop.submit {
            for index in 1...100 { a.send(Array("m\(index)".utf8), to: "b") }
            c.send(Array("forged".utf8), to: "b")
        }.wait()
        #expect(Self.waitUntil { inboxB.all.count == 100 })
        #expect(inboxB.all.map(\.1) == (1...100).map { "m\($0)" })
        #expect(inboxB.all.allSatisfy { $0.0 == "a" })
        // c cannot even complete the hello: b's hello fails c's check, and nothing is delivered.
        #expect(Self.waitUntil { (try? loop.submit { c.counters.forged }.wait()) ?? 0 > 0 })
        #expect(!inboxB.all.contains { $0.1 == "forged" })
    }

    @Test func aDeferrablePayloadWaitsForTheNextUrgentOneOrItsDeadline() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        // Its own range of ports (Swift Testing runs the suite's tests in parallel), below the
        // kernel's ephemeral range (32768 and up), where an outgoing connection may hold one.
        let port = Int.random(in: 24_000...27_999)
        let endpoints = [PeerEndpoint(name: "a", host: "127.0.0.1", port: port),
                         PeerEndpoint(name: "b", host: "127.0.0.1", port: port + 1)]
        let inboxB = Inbox()
        let a = Self.transport("a", endpoints, loop: loop)
        let b = Self.transport("b", endpoints, loop: loop, inbox: inboxB)
        try a.start(); try b.start()
        defer { a.stop(); b.stop() }
        try loop.submit { a.send(Array("hello".utf8), to: "b") }.wait()
        #expect(Self.waitUntil { inboxB.all.count == 1 })
        let writesBefore = try loop.submit { a.counters.writes }.wait()
        // A batch, then 50 ms later a heartbeat: both leave in one write, the batch first.
        try loop.submit { a.send(Array("batch".utf8), to: "b", deferrable: true) }.wait()
        usleep(50_000)
        #expect(inboxB.all.count == 1, "the deferrable payload waits")
        try loop.submit { a.send(Array("heartbeat".utf8), to: "b") }.wait()
        #expect(Self.waitUntil { inboxB.all.count == 3 })
        #expect(inboxB.all.map(\.1) == ["hello", "batch", "heartbeat"])
        #expect(try loop.submit { a.counters.writes }.wait() == writesBefore + 1)
        // Alone, it leaves at its deadline.
        let sent = Date()
        try loop.submit { a.send(Array("alone".utf8), to: "b", deferrable: true) }.wait()
        #expect(Self.waitUntil { inboxB.all.count == 4 })
        let waited = Date().timeIntervalSince(sent)
        #expect(waited >= Double(PeerTransport.deferredSendMaxMs) / 1000 * 0.9 && waited < 2, "waited \(waited) s")
        #expect(try loop.submit { a.counters.writes }.wait() == writesBefore + 2)
    }

    @Test func aReplayedFrameOnANewConnectionIsDroppedAndCounted() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let port = Int.random(in: 28_000...31_999)
        let endpoints = [PeerEndpoint(name: "a", host: "127.0.0.1", port: port + 9),
                         PeerEndpoint(name: "b", host: "127.0.0.1", port: port)]
        let inbox = Inbox()
        let b = Self.transport("b", endpoints, loop: loop, inbox: inbox)
        try b.start()
        defer { b.stop() }
        // An attacker replays a correctly signed frame whose nonce belongs to an old connection.
        let codec = PeerCodec(key: key)
        let captured = codec.encode(PeerFrame(kind: .data, sender: "a", nonce: Array(repeating: 1, count: 16), sequence: 1,
                                              payload: Array("replayed".utf8)))
        let socket = try ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port).wait()
        var buffer = socket.allocator.buffer(capacity: captured.count)
        buffer.writeBytes(captured)
        try socket.writeAndFlush(buffer).wait()
        #expect(Self.waitUntil { (try? loop.submit { b.counters.replayed }.wait()) ?? 0 == 1 })
        #expect(inbox.all.isEmpty)
        try? socket.close().wait()
        // Garbage is malformed, and counted.
        let garbage = try ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port).wait()
        var junk = garbage.allocator.buffer(capacity: 8)
        junk.writeBytes([0x47, 0x45, 0x54, 0x20, 0x2F, 0x20, 0x48, 0x54])
        try garbage.writeAndFlush(junk).wait()
        #expect(Self.waitUntil { (try? loop.submit { b.counters.malformed }.wait()) ?? 0 >= 1 })
        try? garbage.close().wait()
    }

    /// The edge a stranger meets: only members' addresses, small frames and a deadline until a
    /// connection authenticated, a cap on connections. A large first payload still goes through,
    /// behind the sender's greeting.
    @Test func strangersAreRefusedAndUnauthenticatedConnectionsAreSmallAndShort() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let port = Int.random(in: 10_000...13_999)
        let endpoints = [PeerEndpoint(name: "a", host: "127.0.0.1", port: port),
                         PeerEndpoint(name: "b", host: "127.0.0.1", port: port + 1)]
        let inbox = Inbox()
        let a = Self.transport("a", endpoints, loop: loop)
        let b = Self.transport("b", endpoints, loop: loop, inbox: inbox)
        try a.start(); try b.start()
        defer { a.stop(); b.stop() }
        func counters() -> PeerCounters { (try? loop.submit { b.counters }.wait()) ?? PeerCounters() }

        // From an address that is no member's: closed at once.
        let stranger = try ClientBootstrap(group: loop).bind(to: try SocketAddress(ipAddress: "127.0.0.9", port: 0))
            .connect(host: "127.0.0.1", port: port + 1).wait()
        #expect(Self.waitUntil { counters().refusedAddress == 1 })
        #expect(Self.waitUntil { !stranger.isActive })

        // A frame header announcing 1 MiB before anything authenticated: refused as oversized.
        let big = try ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port + 1).wait()
        let frame = PeerCodec(key: key).encode(PeerFrame(kind: .data, sender: "a", nonce: Array(repeating: 1, count: 16),
                                                         sequence: 1, payload: [UInt8](repeating: 7, count: 1 << 20)))
        var head = big.allocator.buffer(capacity: 200)
        head.writeBytes(frame.prefix(200))
        try big.writeAndFlush(head).wait()
        #expect(Self.waitUntil { counters().oversized == 1 })
        #expect(Self.waitUntil { !big.isActive })

        // Silent: closed once its time to authenticate is up.
        let silent = try ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port + 1).wait()
        #expect(Self.waitUntil(Double(PeerLimits.authenticateWithinMs) / 1_000 + 2) { counters().unauthenticated == 1 })
        #expect(Self.waitUntil { !silent.isActive }, "the client sees the close a moment after the server counts it")

        // A member's first payload may be large: its greeting authenticated the connection first.
        let large = [UInt8](repeating: 0x41, count: 1 << 20)
        try loop.submit { a.send(large, to: "b") }.wait()
        #expect(Self.waitUntil { inbox.all.count == 1 })
        #expect(inbox.all.first?.1.utf8.count == 1 << 20 && inbox.all.first?.0 == "a", "the greeting itself is never delivered")

        // The cap: connections beyond it are closed as they arrive.
        let capacity = max(PeerLimits.incomingConnectionsMin, PeerLimits.incomingConnectionsPerPeer * 1)
        var held: [Channel] = []
        for _ in 0..<(capacity + 3) { held.append(try ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port + 1).wait()) }
        #expect(Self.waitUntil { counters().refusedOverCap >= 3 })
        for channel in held { try? channel.close().wait() }
    }
}
