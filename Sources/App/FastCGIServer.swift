@preconcurrency import Foundation
@preconcurrency import CFastCGI
#if canImport(Glibc)
import Glibc
#endif
import Web
import Logging
import Plumbing

/// The FastCGI edge: connections multiplexed on one epoll instance and served by a few worker
/// threads, with libfcgi reading each request; a graceful stop on SIGTERM.
///
/// nginx keeps its FastCGI connections open (`keepalive` + `fastcgi_keep_conn on`). Each
/// connection is registered with `EPOLLONESHOT`: the worker that `epoll_wait` gives it to hands
/// the descriptor to libfcgi (`FCGX_Accept_r` on a request whose listening socket is -1, so
/// libfcgi never accepts by itself), answers, and arms the descriptor again. Idle connections
/// pin no thread, and a worker that finishes while another connection is ready takes it without
/// sleeping. With a thread per connection (libfcgi's own loop, 24 threads), every request woke
/// its thread: under wrk, a quarter of the app's time was the scheduler switching to it (perf).
///
/// Connections are blocking, with receive and send timeouts. A worker first peeks at what has
/// arrived: a request that is not all there yet (its head, its body and the empty STDIN record
/// that ends it) goes to the slow lane, one thread that waits for many such connections at once,
/// each with one deadline for the whole request, so that a peer sending half a request, or a
/// body a byte at a time, never holds a worker. nginx buffers a body and writes the request at
/// once, so its requests normally arrive whole. Connections idle longer than nginx keeps them
/// are closed.
///
/// Every connection has a generation, carried with its descriptor in epoll's data: a descriptor
/// number that libfcgi closed and `accept` handed out again is never mistaken for the old one.
final class FastCGIServer: @unchecked Sendable {
    let socketPath: String
    let threads: Int
    let app: WebApp
    let makeSource: @Sendable () throws -> StateSource
    let logger: Logger

    /// Listening socket, and the identity of the file we bound, so that on exit we remove only
    /// our own socket (not one a newer process has bound since).
    private var listenFD: Int32 = -1
    private var epollFD: Int32 = -1
    /// The stop pipe: its read end, readable (level-triggered) once `stop()` writes, wakes every worker.
    private var wakeFDs: (read: Int32, write: Int32) = (-1, -1)
    private var socketIdentity: (device: UInt64, inode: UInt64)?
    private let lock = NSLock()
    private var inFlight = 0
    private var connections = 0
    private var stopping = false
    private var shedLoggedAt = 0
    /// Connections whose request is still arriving, handed to the slow lane (under `lock`).
    private var slowLane: [Connection] = []
    /// The slow lane's own epoll instance (edge-triggered: it wakes when more bytes arrive, not
    /// while the ones already there are unread) and the pipe that wakes it for a new arrival.
    private var slowEpollFD: Int32 = -1
    private var slowWakeFDs: (read: Int32, write: Int32) = (-1, -1)
    /// The generation of every open connection, and since when each armed one waits for its next
    /// request (a connection a thread is serving is not in it), under `lock`.
    private var generations: [Int32: UInt32] = [:]
    private var idleSince: [Int32: Int64] = [:]
    private var nextGeneration: UInt32 = 1

    /// A connection: its descriptor and generation.
    struct Connection: Equatable {
        var descriptor: Int32
        var generation: UInt32
        /// epoll's data word: both together.
        var token: UInt64 { UInt64(UInt32(bitPattern: descriptor)) | UInt64(generation) << 32 }
        init(descriptor: Int32, generation: UInt32) {
            self.descriptor = descriptor
            self.generation = generation
        }
        init(token: UInt64) {
            descriptor = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
            generation = UInt32(truncatingIfNeeded: token >> 32)
        }
    }

    /// Requests still being answered get this long after SIGTERM.
    static let shutdownGraceMs = 3_000
    /// Backlog of the listening socket.
    static let listenBacklog: Int32 = 128
    /// Worker stack: templates render recursively.
    static let threadStackBytes = 4 << 20
    /// Open connections beyond this are closed as soon as accepted (nginx keeps 16; every one
    /// costs a descriptor, and a local flood must not exhaust them).
    static let connectionsMax = 512
    /// How long a read or write on a connection may block before the connection is dropped.
    static let ioTimeoutSeconds = 5
    /// Connections accepted per wake of the listening socket, before other ready work.
    static let acceptsPerWake = 32
    /// Bytes a worker peeks at to see whether a whole request has arrived: the largest body the
    /// app takes and a head (nginx's are about 1 KB). A request larger than this is served as it
    /// is (the app refuses its body from the declared length without reading it).
    let peekBytes: Int
    /// A kept connection with no request for this long is closed. nginx lets its kept
    /// connections go after 60 s (`keepalive_timeout` of the upstream), so it closes first and
    /// never sends a request on a connection the app is closing; this reclaims connections
    /// nginx lost track of and any other idle client's.
    static let idleCloseMs: Int64 = 120_000
    /// How often the slow lane looks for idle connections.
    static let idleSweepMs: Int64 = 5_000

    init(socketPath: String, threads: Int, app: WebApp, makeSource: @escaping @Sendable () throws -> StateSource,
         logger: Logger) {
        precondition(threads > 0)
        self.socketPath = socketPath
        self.threads = threads
        self.app = app
        self.makeSource = makeSource
        self.logger = logger
        self.peekBytes = min(1 << 20, max(16_384, app.limits.requestBodyBytesMax + 16_384))
    }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// Binds the socket and starts the workers; returns once they run.
    func start() throws {
        // libfcgi treats "host:port" and ":port" as TCP (":9000" listens on every interface):
        // chassis-web only ever listens on a unix socket, named by an absolute path.
        guard socketPath.hasPrefix("/") else {
            throw StartError(description: "the FastCGI socket must be an absolute path, not \"\(socketPath)\"")
        }
        guard FCGX_Init() == 0 else { throw StartError(description: "FCGX_Init failed") }
        let directory = (socketPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var existing = stat()
        if lstat(socketPath, &existing) == 0 {
            guard (existing.st_mode & S_IFMT) == S_IFSOCK else {
                throw StartError(description: "\(socketPath) exists and is not a socket")
            }
            // A previous instance's socket: the new one takes over the path (restarts, upgrades).
            unlink(socketPath)
        }
        listenFD = FCGX_OpenSocket(socketPath, Self.listenBacklog)
        guard listenFD >= 0 else {
            throw StartError(description: "cannot listen on \(socketPath): \(String(cString: strerror(errno)))")
        }
        // Only the socket's owner and group may connect (issue 11: a local user must not speak
        // FastCGI with forged parameters). The group is the runtime directory's: where nginx
        // runs as another user (www-data), the directory is made group www-data (tmpfiles.d),
        // and so is the socket.
        var directoryStatus = stat()
        if stat(directory, &directoryStatus) == 0, directoryStatus.st_gid != getgid() {
            if chown(socketPath, uid_t(bitPattern: -1), directoryStatus.st_gid) != 0 {
                logger.warning("cannot give the socket its directory's group", metadata: ["socket": "\(socketPath)", "error": "\(String(cString: strerror(errno)))"])
            }
        }
        chmod(socketPath, 0o660)
        var bound = stat()
        if stat(socketPath, &bound) == 0 {
            socketIdentity = (UInt64(bound.st_dev), UInt64(bound.st_ino))
        }
        _ = fcntl(listenFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw StartError(description: "epoll_create1: \(String(cString: strerror(errno)))") }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            throw StartError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for descriptor in pipeFDs { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        wakeFDs = (pipeFDs[0], pipeFDs[1])
        slowEpollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard slowEpollFD >= 0, pipe(&pipeFDs) == 0 else {
            throw StartError(description: "slow lane: \(String(cString: strerror(errno)))")
        }
        for descriptor in pipeFDs {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        slowWakeFDs = (pipeFDs[0], pipeFDs[1])
        guard control(EPOLL_CTL_ADD, wakeFDs.read, oneShot: false), control(EPOLL_CTL_ADD, listenFD),
              Self.register(slowEpollFD, EPOLL_CTL_ADD, slowWakeFDs.read, token: UInt64(UInt32(bitPattern: slowWakeFDs.read)),
                            events: EPOLLIN.rawValue) else {
            throw StartError(description: "epoll_ctl: \(String(cString: strerror(errno)))")
        }
        for index in 0..<threads {
            try spawn(index) { [self] in work(index) }
        }
        try spawn(threads) { [self] in slowLaneWork() }
    }

    /// Registers (or arms again) the listening socket or the stop pipe for input, once
    /// (`EPOLLONESHOT`) unless told otherwise. Their generation is 0; connections start at 1.
    @discardableResult
    private func control(_ operation: Int32, _ descriptor: Int32, oneShot: Bool = true) -> Bool {
        Self.register(epollFD, operation, descriptor, token: UInt64(UInt32(bitPattern: descriptor)),
                      events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (oneShot ? EPOLLONESHOT.rawValue : 0))
    }

    private static func register(_ epoll: Int32, _ operation: Int32, _ descriptor: Int32, token: UInt64, events: UInt32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        return epoll_ctl(epoll, operation, descriptor, &event) == 0
    }

    /// Arms a connection for its next request and notes it idle since now. Under the lock, so
    /// that the idle sweep cannot close it in between.
    private func arm(_ connection: Connection, adding: Bool = false) {
        lock.lock()
        idleSince[connection.descriptor] = Self.monotonicMs()
        let armed = Self.register(epollFD, adding ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, connection.descriptor,
                                  token: connection.token,
                                  events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue)
        if !armed { idleSince[connection.descriptor] = nil }
        lock.unlock()
        if !armed {
            logger.error("epoll_ctl failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
            closed(connection, closeIt: true)
        }
    }

    /// Takes an armed connection that epoll reported, for this thread alone; false when the event
    /// is stale (the connection was closed, idle, and its number may belong to another now).
    private func claim(_ connection: Connection) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard generations[connection.descriptor] == connection.generation,
              idleSince.removeValue(forKey: connection.descriptor) != nil else { return false }
        return true
    }

    /// Closes the connections idle longer than `idleCloseMs`.
    private func closeIdleConnections() {
        let now = Self.monotonicMs()
        lock.lock()
        let expired = idleSince.filter { now - $0.value >= Self.idleCloseMs }.map(\.key)
        for descriptor in expired {
            idleSince[descriptor] = nil
            generations[descriptor] = nil
            var unused = epoll_event()
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, descriptor, &unused)
            close(descriptor)
            connections -= 1
        }
        lock.unlock()
        if !expired.isEmpty { logger.info("idle FastCGI connections closed", metadata: ["count": "\(expired.count)", "idle_s": "\(Self.idleCloseMs / 1_000)"]) }
    }

    private func spawn(_ index: Int, _ body: @escaping () -> Void) throws {
        final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, Self.threadStackBytes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw StartError(description: "cannot start worker thread \(index): \(String(cString: strerror(result)))")
        }
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// A thread's own libfcgi request, with no listening socket (-1): libfcgi only ever reads
    /// the connection it is given.
    private func makeRequest(for thread: String) -> UnsafeMutablePointer<FCGX_Request>? {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        guard FCGX_InitRequest(request, -1, 0) == 0 else {
            logger.critical("FCGX_InitRequest failed", metadata: ["thread": "\(thread)"])
            return nil
        }
        return request
    }

    private func work(_ index: Int) {
        guard let request = makeRequest(for: "worker \(index)") else { return }
        var source: StateSource?
        var event = epoll_event()
        let peekBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: peekBytes, alignment: 8)
        defer { peekBuffer.deallocate() }
        while true {
            let ready = epoll_wait(epollFD, &event, 1, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("epoll_wait failed", metadata: ["worker": "\(index)", "error": "\(String(cString: strerror(errno)))"])
                usleep(10_000)
                continue
            }
            guard ready == 1 else { continue }
            let connection = Connection(token: event.data.u64)
            if connection.descriptor == wakeFDs.read || isStopping { return }
            if connection.descriptor == listenFD && connection.generation == 0 {
                acceptPending()
                control(EPOLL_CTL_MOD, listenFD)
                continue
            }
            guard claim(connection) else { continue }
            switch peek(connection.descriptor, into: peekBuffer) {
            case .serve: serveConnection(connection, request: request, source: &source)
            case .waitForTheRest: toSlowLane(connection)
            case .armAgain: arm(connection)
            case .closed: closed(connection, closeIt: true)
            }
        }
    }

    enum Readiness { case serve, waitForTheRest, armAgain, closed }

    /// What a connection epoll reported readable holds, without consuming it.
    private func peek(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Readiness {
        let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_PEEK | MSG_DONTWAIT))
        if count == 0 { return .closed } // nginx let a kept connection go
        if count < 0 {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .armAgain : .closed
        }
        switch FastCGIRecords.wholeRequest(in: UnsafeRawBufferPointer(rebasing: buffer[..<count])) {
        case .complete: return .serve
        case .incomplete: return count < buffer.count ? .waitForTheRest : .serve
        // Not FastCGI: closed here, at once. (libfcgi would refuse it too, but first wait up to
        // 2 s for the peer to close its side.)
        case .malformed: return .closed
        }
    }

    private func toSlowLane(_ connection: Connection) {
        lock.lock()
        slowLane.append(connection)
        lock.unlock()
        _ = Glibc.write(slowWakeFDs.write, "x", 1)
    }

    /// A request that has not all arrived this long after it was sent to the slow lane is given
    /// up: the deadline is the whole request's, not each read's (one byte every few seconds
    /// would otherwise hold a connection for ever).
    static let requestDeadlineMs = 5_000
    /// Connections waiting in the slow lane at once; more are closed.
    static let slowLaneMax = 128

    /// Waits, for every connection whose request had not all arrived, until it has (then serves
    /// it) or its deadline passes (then closes it): many slow clients at once, each bounded, none
    /// holding the others. The connections are in the lane's own epoll, edge-triggered, so the
    /// lane sleeps until more bytes arrive, a deadline passes or the idle sweep is due.
    private func slowLaneWork() {
        guard let request = makeRequest(for: "slow lane") else { return }
        var source: StateSource?
        var waiting: [Int32: (connection: Connection, deadline: Int64)] = [:]
        let peekBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: peekBytes, alignment: 8)
        defer { peekBuffer.deallocate() }
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        var sweepAt = Self.monotonicMs() + Self.idleSweepMs
        func leave(_ connection: Connection) {
            var unused = epoll_event()
            _ = epoll_ctl(slowEpollFD, EPOLL_CTL_DEL, connection.descriptor, &unused)
            waiting[connection.descriptor] = nil
        }
        while !isStopping {
            let now = Self.monotonicMs()
            let soonest = min(sweepAt, waiting.values.map(\.deadline).min() ?? sweepAt)
            let count = epoll_wait(slowEpollFD, &events, Int32(events.count), Int32(max(0, min(soonest - now, 60_000))))
            if count < 0 && errno != EINTR {
                logger.error("epoll_wait failed", metadata: ["worker": "slow lane", "error": "\(String(cString: strerror(errno)))"])
                usleep(10_000)
            }
            if isStopping { break }
            // New arrivals: registered edge-triggered, which reports what is already there once.
            var drain = [UInt8](repeating: 0, count: 64)
            while read(slowWakeFDs.read, &drain, drain.count) > 0 {}
            lock.lock()
            let arrived = slowLane
            slowLane.removeAll(keepingCapacity: true)
            lock.unlock()
            let arrivalTime = Self.monotonicMs()
            for connection in arrived {
                if waiting.count >= Self.slowLaneMax
                    || !Self.register(slowEpollFD, EPOLL_CTL_ADD, connection.descriptor, token: connection.token,
                                      events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue) {
                    closed(connection, closeIt: true)
                } else {
                    waiting[connection.descriptor] = (connection, arrivalTime + Int64(Self.requestDeadlineMs))
                }
            }
            for index in 0..<Int(max(0, count)) {
                let connection = Connection(token: events[index].data.u64)
                guard let entry = waiting[connection.descriptor], entry.connection == connection else { continue }
                switch peek(connection.descriptor, into: peekBuffer) {
                case .serve:
                    leave(connection)
                    serveConnection(connection, request: request, source: &source)
                case .closed:
                    leave(connection)
                    closed(connection, closeIt: true)
                case .waitForTheRest, .armAgain:
                    break
                }
            }
            let after = Self.monotonicMs()
            for entry in waiting.values where after >= entry.deadline {
                leave(entry.connection)
                closed(entry.connection, closeIt: true)
            }
            if after >= sweepAt {
                closeIdleConnections()
                sweepAt = after + Self.idleSweepMs
            }
        }
        for entry in waiting.values { closed(entry.connection, closeIt: true) }
    }

    static func monotonicMs() -> Int64 { Int64(HostClock.system.monotonicNanoseconds() / 1_000_000) }

    /// Accepts what is waiting (up to `acceptsPerWake`) and registers each connection.
    private func acceptPending() {
        for _ in 0..<Self.acceptsPerWake {
            let connection = accept(listenFD, nil, nil)
            if connection < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN, EWOULDBLOCK: return
                default:
                    // EMFILE and the like: the connection stays queued; try again shortly.
                    logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                    usleep(10_000)
                    return
                }
            }
            lock.lock()
            let admitted = connections < Self.connectionsMax
            if admitted { connections += 1 }
            let now = time(nil)
            let logShed = !admitted && now - shedLoggedAt > 10
            if logShed { shedLoggedAt = now }
            lock.unlock()
            guard admitted else {
                if logShed { logger.warning("connections at their limit: closing new ones as they come", metadata: ["open": "\(Self.connectionsMax)"]) }
                close(connection)
                continue
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            var timeout = timeval(tv_sec: Self.ioTimeoutSeconds, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            lock.lock()
            let generation = nextGeneration
            nextGeneration = nextGeneration == UInt32.max ? 1 : nextGeneration + 1
            generations[connection] = generation
            lock.unlock()
            arm(Connection(descriptor: connection, generation: generation), adding: true)
        }
    }

    /// One request on a connection epoll reported readable. libfcgi reads it; when the peer has
    /// closed (or sent something that is no FastCGI request), `FCGX_Accept_r` closes the
    /// descriptor itself and, having no listening socket, returns an error.
    private func serveConnection(_ connection: Connection, request: UnsafeMutablePointer<FCGX_Request>,
                                 source: inout StateSource?) {
        let descriptor = connection.descriptor
        request.pointee.ipcFd = descriptor
        request.pointee.keepConnection = 1
        guard FCGX_Accept_r(request) >= 0 else {
            let left = request.pointee.ipcFd
            request.pointee.ipcFd = -1
            closed(connection, closeIt: left == descriptor)
            return
        }
        lock.lock()
        inFlight += 1
        lock.unlock()
        serve(request, source: &source)
        // Closes the connection when the request failed or must not be kept.
        FCGX_Finish_r(request)
        lock.lock()
        inFlight -= 1
        lock.unlock()
        let kept = request.pointee.ipcFd
        request.pointee.ipcFd = -1
        if kept == descriptor {
            arm(connection)
        } else {
            closed(connection, closeIt: false)
        }
    }

    /// Counts a connection gone (closing it if libfcgi has not). Its entries go only if they are
    /// still its own: once libfcgi closed the descriptor, `accept` may have handed the number to
    /// a new connection.
    private func closed(_ connection: Connection, closeIt: Bool) {
        lock.lock()
        if generations[connection.descriptor] == connection.generation {
            generations[connection.descriptor] = nil
            idleSince[connection.descriptor] = nil
        }
        if closeIt { close(connection.descriptor) }
        connections -= 1
        lock.unlock()
    }

    private func serve(_ request: UnsafeMutablePointer<FCGX_Request>, source: inout StateSource?) {
        // Copied into Swift strings now: FCGX_Finish_r frees them.
        let parameters = Self.parameters(request.pointee.envp)
        let declared = parameters["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        var body: [UInt8] = []
        var response: Response?
        if declared > app.limits.requestBodyBytesMax {
            // Not read: answered 413 from the declared length, and the connection is closed
            // afterwards so that the unread body cannot be taken for the next request.
            request.pointee.keepConnection = 0
        } else if declared > 0 {
            body = [UInt8](repeating: 0, count: declared)
            var received = 0
            while received < declared {
                let count = body.withUnsafeMutableBufferPointer { buffer in
                    buffer.baseAddress!.advanced(by: received).withMemoryRebound(to: CChar.self, capacity: declared - received) {
                        FCGX_GetStr($0, Int32(declared - received), request.pointee.in)
                    }
                }
                if count <= 0 { break }
                received += Int(count)
            }
            if received < declared {
                body.removeSubrange(received...)
                response = Response(status: 400, headers: [("Content-Type", MediaType.json)],
                                    body: Array("{\"error\":\"the request body ended early\"}\n".utf8))
                request.pointee.keepConnection = 0
            }
        }
        let incoming = Request.fromCGI(parameters: parameters, body: body)
        if response == nil {
            if source == nil {
                do {
                    source = try makeSource()
                } catch {
                    response = app.storeUnavailable(incoming, reason: "\(error)")
                }
            }
            if let source, response == nil {
                response = app.handle(incoming, source: source)
            }
        }
        let answer = response!
        if answer.status >= 500 {
            logger.error("answered with a server error", metadata: ["method": "\(incoming.method)", "target": "\(URLCoding.headerSafeTarget(incoming.rawTarget).prefix(200))", "status": "\(answer.status)"])
            // A source that failed is reopened on the next request (the store may have been replaced).
            if answer.status == 503 && !answer.headers.contains(where: { $0.0 == "Location" }) { source = nil }
        }
        write(answer.cgiHeadBytes(), answer.body, to: request)
    }

    /// The whole response in one `writev` of FastCGI records (see `FastCGIRecords`), ending the
    /// request itself; libfcgi's output stream is then marked closed so that `FCGX_Finish_r`
    /// writes nothing more (it closes the error stream, unused, without writing). A failed write
    /// is left in the stream's error, so `FCGX_Finish_r` closes the connection.
    private func write(_ headBytes: [UInt8], _ body: [UInt8], to request: UnsafeMutablePointer<FCGX_Request>) {
        guard let stream = request.pointee.out else { return }
        let layout = FastCGIRecords.layout(requestID: Int(request.pointee.requestId), headCount: headBytes.count,
                                           bodyCount: body.count)
        let failure = headBytes.withUnsafeBytes { headBuffer in
            body.withUnsafeBytes { bodyBuffer in
                layout.framing.withUnsafeBytes { framingBuffer in
                    Self.writeAll(layout.segments, framing: framingBuffer, head: headBuffer, body: bodyBuffer,
                                  to: request.pointee.ipcFd)
                }
            }
        }
        stream.pointee.wasFCloseCalled = 1
        stream.pointee.isClosed = 1
        if failure != 0 { stream.pointee.FCGI_errno = failure }
    }

    /// Linux's limit on the vectors of one `writev`.
    static let vectorsPerWriteMax = 1_024

    /// `writev` until every byte is written; 0, or the errno of the failure.
    private static func writeAll(_ segments: [FastCGIRecords.Segment], framing: UnsafeRawBufferPointer,
                                 head: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32 {
        var vectors: [iovec] = []
        vectors.reserveCapacity(segments.count)
        func vector(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> iovec {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress! + range.lowerBound), iov_len: range.count)
        }
        for segment in segments {
            switch segment {
            case .framing(let range): vectors.append(vector(framing, range))
            case .head(let range): vectors.append(vector(head, range))
            case .body(let range): vectors.append(vector(body, range))
            }
        }
        var first = 0
        while first < vectors.count {
            let count = vectors.withUnsafeBufferPointer { buffer in
                writev(descriptor, buffer.baseAddress! + first, Int32(min(buffer.count - first, vectorsPerWriteMax)))
            }
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            // Skip what was written; a vector written in part keeps its rest.
            var written = count
            while first < vectors.count && written >= vectors[first].iov_len {
                written -= vectors[first].iov_len
                first += 1
            }
            if written > 0 {
                vectors[first].iov_base += written
                vectors[first].iov_len -= written
            }
        }
        return 0
    }

    /// The parameters the app reads; nginx sends about twenty more (server name, document root,
    /// gateway interface …), which are skipped without making strings of them (building them all
    /// was a tenth of the app's time per request, measured with perf).
    static let parametersUsed: [[UInt8]] = ["REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "QUERY_STRING", "CONTENT_TYPE",
                                            "CONTENT_LENGTH", "REMOTE_ADDR", "HTTPS"].map { Array($0.utf8) }
    static let headerPrefix = Array("HTTP_".utf8)

    /// `NAME=value` pairs of the parameters the app reads. The raw request target keeps its bytes:
    /// any that are not printable ASCII are percent-encoded, so bad UTF-8 in a URL becomes a clear
    /// 400 rather than U+FFFD.
    static func parameters(_ environment: FCGX_ParamArray?) -> [String: String] {
        var parameters: [String: String] = [:]
        parameters.reserveCapacity(16)
        guard var cursor = environment else { return parameters }
        while let entry = cursor.pointee {
            cursor = cursor.advanced(by: 1)
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let nameBytes = bytes[..<equals]
            guard nameBytes.starts(with: headerPrefix) || parametersUsed.contains(where: { $0.elementsEqual(nameBytes) }) else {
                continue
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let valueBytes = bytes[(equals + 1)...]
            if name == "REQUEST_URI" && !valueBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                var value = ""
                for byte in valueBytes {
                    if byte > 0x20 && byte < 0x7F {
                        value.unicodeScalars.append(Unicode.Scalar(byte))
                    } else {
                        value += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
                    }
                }
                parameters[name] = value
            } else {
                parameters[name] = String(decoding: valueBytes, as: UTF8.self)
            }
        }
        return parameters
    }

    /// Stops accepting, lets requests in progress finish (up to the grace period), removes the
    /// socket if it is still ours. Workers leave at their next wake: the stop pipe wakes them all.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        if listenFD >= 0 { shutdown(listenFD, Int32(SHUT_RDWR)) }
        if wakeFDs.write >= 0 { _ = Glibc.write(wakeFDs.write, "x", 1) }
        if slowWakeFDs.write >= 0 { _ = Glibc.write(slowWakeFDs.write, "x", 1) }
        var waitedMs = 0
        while waitedMs < Self.shutdownGraceMs {
            lock.lock()
            let busy = inFlight
            lock.unlock()
            if busy == 0 { break }
            usleep(20_000)
            waitedMs += 20
        }
        removeSocketIfOurs()
    }

    func removeSocketIfOurs() {
        guard let identity = socketIdentity else { return }
        var current = stat()
        guard stat(socketPath, &current) == 0 else { return }
        if UInt64(current.st_dev) == identity.device && UInt64(current.st_ino) == identity.inode {
            unlink(socketPath)
        } else {
            logger.notice("the socket now belongs to another process; left in place", metadata: ["socket": "\(socketPath)"])
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
