#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// Where a peer listens.
public struct PeerEndpoint: Sendable, Equatable {
    public var name: String
    public var host: String
    public var port: Int

    public init(name: String, host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }
}

/// Authenticated, framed messages between blades over TCP, on one event loop.
///
/// Each blade listens on its own address and keeps one outgoing connection to each peer,
/// bound to its own address (so that a partition cut by address applies to it). Payloads are
/// delivered in order per sender, on the event loop; frames that fail the HMAC, the nonce or the
/// sequence check, come from an unknown sender or are too large are dropped and counted.
public final class PeerTransport {
    public let localName: String
    public let localHost: String
    public let port: Int
    let codec: PeerCodec
    let loop: EventLoop
    private var peers: [String: PeerEndpoint]
    private var outgoing: [String: OutgoingConnection] = [:]
    private var server: Channel?
    private let deliver: (String, [UInt8]) -> Void
    /// Drop counters and traffic, read on the loop.
    public private(set) var counters = PeerCounters()
    private var stopped = false

    /// Reconnection backoff bounds.
    static let reconnectDelayMinMs: Int64 = 20
    static let reconnectDelayMaxMs: Int64 = 500
    static let connectTimeoutMs: Int64 = 250
    /// Data unacknowledged this long drops the connection (TCP_USER_TIMEOUT), so that after a
    /// partition heals a fresh connection carries traffic at once instead of waiting out TCP's
    /// backed-off retransmissions.
    static let unacknowledgedTimeoutMs: Int32 = 1_000
    static let userTimeoutOption = ChannelOptions.Types.SocketOption(
        level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(18 /* TCP_USER_TIMEOUT */))

    public init(localName: String, localHost: String, port: Int, key: [UInt8], peers: [PeerEndpoint], loop: EventLoop,
                deliver: @escaping (String, [UInt8]) -> Void) {
        self.localName = localName
        self.localHost = localHost
        self.port = port
        self.codec = PeerCodec(key: key)
        self.loop = loop
        self.peers = Dictionary(uniqueKeysWithValues: peers.filter { $0.name != localName }.map { ($0.name, $0) })
        self.deliver = deliver
    }

    public func start() throws {
        let bootstrap = ServerBootstrap(group: loop)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(Self.userTimeoutOption, value: SocketOptionValue(Self.unacknowledgedTimeoutMs))
            .childChannelInitializer { [unowned self] channel in
                // Only members' addresses, and not more connections at once than members could need.
                if let refusal = self.admit(channel) {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(refusal)
                }
                let limit = FrameLimit()
                let handler = IncomingHandler(transport: self, limit: limit)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(FrameDecoder(limit: limit)), handler])
                }
            }
        server = try bootstrap.bind(host: localHost, port: port).wait()
    }

    /// Stops listening and closes every connection. Safe to call on the event loop (it does not wait).
    public func stop() {
        loop.execute {
            self.stopped = true
            for connection in self.outgoing.values { connection.close() }
            self.outgoing.removeAll()
            self.server?.close(promise: nil)
        }
    }

    /// Members may change at run time (a blade added to an empty slot, a dead one removed).
    public func setPeers(_ endpoints: [PeerEndpoint]) {
        loop.preconditionInEventLoop()
        peers = Dictionary(uniqueKeysWithValues: endpoints.filter { $0.name != localName }.map { ($0.name, $0) })
        for name in outgoing.keys where peers[name] == nil {
            outgoing.removeValue(forKey: name)?.close()
        }
    }

    public var peerNames: [String] { peers.keys.sorted() }

    /// How long a deferrable payload may wait for an urgent one to the same peer.
    public static let deferredSendMaxMs: Int64 = 200

    /// Queues a payload for one peer. Call on the event loop.
    ///
    /// An urgent payload is written at once, with whatever waits for that peer. A `deferrable`
    /// one (a metrics batch) waits up to `deferredSendMaxMs` for the next urgent payload to the
    /// same peer (a heartbeat from the leader, its answer from a standby, every 150 ms) and leaves
    /// in the same `writev`: one write and one wake-up of the peer instead of two. Frames still
    /// arrive in the order they were queued.
    public func send(_ payload: [UInt8], to peer: String, deferrable: Bool = false) {
        loop.preconditionInEventLoop()
        guard !stopped, let endpoint = peers[peer] else { return }
        guard payload.count <= PeerLimits.payloadBytesMax else {
            counters.oversized += 1
            return
        }
        let connection: OutgoingConnection
        if let existing = outgoing[peer] {
            connection = existing
        } else {
            connection = OutgoingConnection(transport: self, endpoint: endpoint)
            outgoing[peer] = connection
        }
        connection.enqueue(payload, deferrable: deferrable)
    }

    // MARK: Called by the handlers, on the loop

    struct Refused: Error {}

    /// Accepted connections open now.
    private(set) var incomingCount = 0

    /// Why an accepted connection is refused at once, or nil to take it.
    func admit(_ channel: Channel) -> Refused? {
        let allowed = Set(peers.values.map(\.host))
        guard let remote = channel.remoteAddress?.ipAddress, allowed.contains(remote) else {
            counters.refusedAddress += 1
            return Refused()
        }
        guard incomingCount < max(PeerLimits.incomingConnectionsMin, PeerLimits.incomingConnectionsPerPeer * peers.count) else {
            counters.refusedOverCap += 1
            return Refused()
        }
        return nil
    }

    func incomingOpened() { incomingCount += 1 }
    func incomingClosed() { incomingCount -= 1 }
    func noteUnauthenticated() { counters.unauthenticated += 1 }

    /// Takes one frame of an accepted connection; true when it was an authenticated data frame
    /// (the connection has then proved it speaks for a member). An empty payload is the sender's
    /// greeting: authenticated, nothing to deliver.
    @discardableResult
    func received(frame bytes: [UInt8], guard replayGuard: inout ReplayGuard?, channel: Channel) -> Bool {
        counters.bytesReceived += bytes.count
        let frame: PeerFrame
        do {
            frame = try codec.decode(bytes[...])
        } catch PeerFrameError.forged {
            counters.forged += 1
            channel.close(promise: nil)
            return false
        } catch {
            counters.malformed += 1
            channel.close(promise: nil)
            return false
        }
        guard var guardState = replayGuard, frame.kind == .data else {
            counters.malformed += 1
            channel.close(promise: nil)
            return false
        }
        switch guardState.check(frame) {
        case .accept:
            replayGuard = guardState
        case .replayed, .senderChanged:
            counters.replayed += 1
            channel.close(promise: nil)
            return false
        }
        guard peers[frame.sender] != nil else {
            counters.unknownSender += 1
            channel.close(promise: nil)
            return false
        }
        counters.framesReceived += 1
        if !frame.payload.isEmpty { deliver(frame.sender, frame.payload) }
        return true
    }

    func decodeFailed(_ error: Error) {
        if case PeerFrameError.oversized = error { counters.oversized += 1 } else { counters.malformed += 1 }
    }

    func makeHello(nonce: [UInt8]) -> [UInt8] {
        codec.encode(PeerFrame(kind: .hello, sender: localName, nonce: nonce, sequence: 0, payload: []))
    }

    func noteSent(bytes: Int) {
        counters.framesSent += 1
        counters.bytesSent += bytes
    }

    func noteWrite() { counters.writes += 1 }

    func noteQueueDrop() { counters.queueDrops += 1 }
    func noteForged() { counters.forged += 1 }
    func noteMalformed() { counters.malformed += 1 }
    var isStopped: Bool { stopped }
}

/// Splits the byte stream into whole frames, refusing oversized or malformed headers at once.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]
    /// The largest frame taken now (small until the connection authenticated).
    let limit: FrameLimit

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let header = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, PeerLimits.headerBytesMax)) ?? []
        guard let length = try PeerCodec.frameLength(header[...]) else { return .needMoreData }
        guard length <= limit.bytesMax else { throw PeerFrameError.oversized(length) }
        guard buffer.readableBytes >= length, let frame = buffer.readBytes(length: length) else { return .needMoreData }
        context.fireChannelRead(NIOAny(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }
}

/// An accepted connection: says hello with a fresh nonce, then takes data frames. Until one has
/// authenticated, frames are small and the connection has `authenticateWithinMs` to send one.
final class IncomingHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    /// Weak: the authentication deadline and the close may come after the transport stopped and went.
    weak var transport: PeerTransport?
    let limit: FrameLimit
    private var replayGuard: ReplayGuard?
    private var authenticated = false
    private var deadline: Scheduled<Void>?

    init(transport: PeerTransport, limit: FrameLimit) {
        self.transport = transport
        self.limit = limit
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        transport?.incomingClosed()
        context.fireChannelInactive()
    }

    func channelActive(context: ChannelHandlerContext) {
        transport?.incomingOpened()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(PeerLimits.authenticateWithinMs)) { [weak self] in
            guard let self, !self.authenticated else { return }
            self.transport?.noteUnauthenticated()
            channel.close(promise: nil)
        }
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<PeerLimits.nonceBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        replayGuard = ReplayGuard(nonce: nonce)
        guard let transport else { return }
        let hello = transport.makeHello(nonce: nonce)
        var buffer = context.channel.allocator.buffer(capacity: hello.count)
        buffer.writeBytes(hello)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let transport else { return }
        let accepted = transport.received(frame: unwrapInboundIn(data), guard: &replayGuard, channel: context.channel)
        if accepted && !authenticated {
            authenticated = true
            deadline?.cancel()
            limit.bytesMax = PeerLimits.frameBytesMax
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        transport?.decodeFailed(error)
        context.close(promise: nil)
    }
}

/// One outgoing connection to a peer: connects (bound to our address), waits for the peer's
/// hello, then sends queued payloads with the peer's nonce and rising sequence numbers.
final class OutgoingConnection {
    unowned let transport: PeerTransport
    let endpoint: PeerEndpoint
    private var channel: Channel?
    private var nonce: [UInt8]?
    private var sequence: UInt64 = 0
    private var queue: [[UInt8]] = []
    private var queuedBytes = 0
    private var connecting = false
    private var reconnectDelayMs = PeerTransport.reconnectDelayMinMs
    private var closed = false
    /// The flush that sends deferrable payloads nobody urgent took along.
    private var deferredFlush: Scheduled<Void>?

    init(transport: PeerTransport, endpoint: PeerEndpoint) {
        self.transport = transport
        self.endpoint = endpoint
    }

    func enqueue(_ payload: [UInt8], deferrable: Bool) {
        while !queue.isEmpty && (queue.count >= PeerLimits.queuedFramesMax || queuedBytes + payload.count > PeerLimits.queuedBytesMax) {
            queuedBytes -= queue.removeFirst().count
            transport.noteQueueDrop()
        }
        queue.append(payload)
        queuedBytes += payload.count
        if deferrable {
            if deferredFlush == nil {
                deferredFlush = transport.loop.scheduleTask(in: .milliseconds(PeerTransport.deferredSendMaxMs)) { [weak self] in
                    guard let self else { return }
                    self.deferredFlush = nil
                    self.sendQueued()
                }
            }
            return
        }
        sendQueued()
    }

    private func sendQueued() {
        if nonce != nil { flush() } else { connectIfNeeded() }
    }

    func close() {
        deferredFlush?.cancel()
        deferredFlush = nil
        closed = true
        channel?.close(promise: nil)
        channel = nil
    }

    private func connectIfNeeded() {
        guard !connecting, channel == nil, !closed, !transport.isStopped else { return }
        connecting = true
        let loop = transport.loop
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(PeerTransport.connectTimeoutMs))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(PeerTransport.userTimeoutOption, value: SocketOptionValue(PeerTransport.unacknowledgedTimeoutMs))
            .channelInitializer { [unowned self] channel in
                channel.eventLoop.makeCompletedFuture {
                    // The peer sends a hello only: a small frame.
                    try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(FrameDecoder(limit: FrameLimit())),
                                                                     HelloHandler(connection: self)])
                }
            }
        if let local = try? SocketAddress(ipAddress: transport.localHost, port: 0) {
            bootstrap = bootstrap.bind(to: local)
        }
        bootstrap.connect(host: endpoint.host, port: endpoint.port).whenComplete { [weak self] result in
            guard let self else { return }
            self.connecting = false
            switch result {
            case .success(let channel):
                if self.closed { channel.close(promise: nil); return }
                self.channel = channel
                channel.closeFuture.whenComplete { [weak self] _ in self?.disconnected(channel) }
            case .failure:
                self.scheduleReconnect()
            }
        }
    }

    private func disconnected(_ old: Channel) {
        guard channel === old else { return }
        channel = nil
        nonce = nil
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !closed, !transport.isStopped, !queue.isEmpty else { return }
        let delay = reconnectDelayMs
        reconnectDelayMs = min(reconnectDelayMs * 2, PeerTransport.reconnectDelayMaxMs)
        transport.loop.scheduleTask(in: .milliseconds(delay)) { [weak self] in self?.connectIfNeeded() }
    }

    /// The peer's hello: authenticated and from the member we meant to reach.
    func helloReceived(_ bytes: [UInt8], channel: Channel) {
        guard let frame = try? transport.codec.decode(bytes[...]) else {
            transport.noteForged()
            channel.close(promise: nil)
            return
        }
        guard frame.kind == .hello, frame.sender == endpoint.name, frame.nonce.count == PeerLimits.nonceBytes else {
            transport.noteMalformed()
            channel.close(promise: nil)
            return
        }
        nonce = frame.nonce
        sequence = 0
        reconnectDelayMs = PeerTransport.reconnectDelayMinMs
        // The greeting first: an empty data frame that authenticates this connection at once, so
        // that the peer lifts its small limit before a large payload (a snapshot) arrives.
        queue.insert([], at: 0)
        flush()
    }

    private func flush() {
        guard let channel, let nonce, !queue.isEmpty else { return }
        deferredFlush?.cancel()
        deferredFlush = nil
        // A peer that does not read (cut off, stalled) must not make us buffer without bound:
        // the protocols above retransmit what matters.
        guard channel.isWritable else {
            for _ in queue { transport.noteQueueDrop() }
            queue.removeAll(keepingCapacity: true)
            queuedBytes = 0
            return
        }
        for payload in queue {
            sequence += 1
            let bytes = transport.codec.encode(PeerFrame(kind: .data, sender: transport.localName, nonce: nonce,
                                                         sequence: sequence, payload: payload))
            var buffer = channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            channel.write(buffer, promise: nil)
            transport.noteSent(bytes: bytes.count)
        }
        queue.removeAll(keepingCapacity: true)
        queuedBytes = 0
        channel.flush()
        transport.noteWrite()
    }
}

/// Reads the hello on an outgoing connection; anything after it is a protocol error.
final class HelloHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    unowned let connection: OutgoingConnection
    private var helloSeen = false

    init(connection: OutgoingConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !helloSeen else {
            context.close(promise: nil)
            return
        }
        helloSeen = true
        connection.helloReceived(unwrapInboundIn(data), channel: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
