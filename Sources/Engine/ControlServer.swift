import Control
import Model
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

/// The engine's control socket: a unix stream socket, one JSON request line and one JSON reply
/// line per connection. Requests are handed to `handle` on the engine's event loop.
final class ControlServer {
    let path: String
    private var channel: Channel?

    init(path: String) {
        self.path = path
    }

    /// A client that has not sent its line within this time is closed.
    static let idleSeconds: Int64 = 10

    func start(group: EventLoopGroup, handle: @escaping (ControlRequest, Actor, @escaping (ControlResponse) -> Void) -> Void) throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.pipeline.addHandler(ControlConnectionHandler(handle: handle))
            }
        channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        // The web app and chassisctl of the same user (or group) may connect; nobody else.
        chmod(path, 0o660)
    }

    func stop() {
        try? channel?.close().wait()
        channel = nil
    }
}

/// Linux's `struct ucred` (pid, uid, gid), which the Glibc module does not export.
struct PeerCredentials {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let handle: (ControlRequest, Actor, @escaping (ControlResponse) -> Void) -> Void
    private var pending: [UInt8] = []
    private var answered = false
    /// The client as the kernel knows it (SO_PEERCRED), not as it says.
    private var peer: PeerCredentials?
    private var idle: Scheduled<Void>?

    init(handle: @escaping (ControlRequest, Actor, @escaping (ControlResponse) -> Void) -> Void) {
        self.handle = handle
    }

    /// Who may send requests at all: root and the engine's own user (the web app and chassisctl
    /// run as it). The socket's mode (0660) already keeps others out; this holds even if its
    /// group admits more.
    static func admits(uid: UInt32) -> Bool { uid == 0 || uid == geteuid() }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        idle = context.eventLoop.scheduleTask(in: .seconds(ControlServer.idleSeconds)) { channel.close(promise: nil) }
        if let provider = channel as? SocketOptionProvider {
            let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(17 /* SO_PEERCRED */))
            credentials.whenSuccess { [weak self] (value: PeerCredentials) in self?.peer = value }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idle?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        guard let peer else {
            reply(context: context, .failure("the caller's credentials are unknown", code: 403))
            return
        }
        guard Self.admits(uid: peer.uid) else {
            reply(context: context, .failure("uid \(peer.uid) may not use the control socket", code: 403))
            return
        }
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes) { pending += bytes }
        if let newline = pending.firstIndex(of: 0x0A) {
            let line = Data(pending[..<newline])
            answered = true
            // An envelope names the actor (the web app's user); a bare request is the console's.
            let decoder = JSONDecoder()
            let envelope = (try? decoder.decode(ControlEnvelope.self, from: line))
                ?? (try? decoder.decode(ControlRequest.self, from: line)).map { ControlEnvelope(request: $0, actor: nil) }
            guard let envelope else {
                reply(context: context, .failure("malformed request", code: 400))
                return
            }
            let loop = context.eventLoop
            // A request from the console is in the audit log as the user the kernel says sent it.
            handle(envelope.request, envelope.actor ?? .console(uid: peer.uid, pid: peer.pid)) { response in
                loop.execute { self.reply(context: context, response) }
            }
        } else if pending.count > ControlLimits.lineBytesMax {
            reply(context: context, .failure("request longer than \(ControlLimits.lineBytesMax) bytes", code: 413))
        }
    }

    private func reply(context: ChannelHandlerContext, _ response: ControlResponse) {
        answered = true
        idle?.cancel()
        var line = (try? JSONEncoder().encode(response)) ?? Data(#"{"ok":false,"code":500}"#.utf8)
        line.append(0x0A)
        var buffer = context.channel.allocator.buffer(capacity: line.count)
        buffer.writeBytes(line)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
