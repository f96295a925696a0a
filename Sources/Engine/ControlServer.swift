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

final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let handle: (ControlRequest, Actor, @escaping (ControlResponse) -> Void) -> Void
    private var pending: [UInt8] = []
    private var answered = false

    init(handle: @escaping (ControlRequest, Actor, @escaping (ControlResponse) -> Void) -> Void) {
        self.handle = handle
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
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
            handle(envelope.request, envelope.actor ?? .console(uid: nil, pid: nil)) { response in
                loop.execute { self.reply(context: context, response) }
            }
        } else if pending.count > ControlLimits.lineBytesMax {
            reply(context: context, .failure("request longer than \(ControlLimits.lineBytesMax) bytes", code: 413))
        }
    }

    private func reply(context: ChannelHandlerContext, _ response: ControlResponse) {
        answered = true
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
