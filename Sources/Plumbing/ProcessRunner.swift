#if canImport(Glibc)
import Glibc
#endif

/// Runs an operator's command (`/bin/sh -c`): role hooks, the fence command, the chassis devices
/// command, power commands, notification hooks and curl. See `ProcessRunner.run`.
public enum ShellCommand {
    public typealias Result = ProcessRunner.Result

    public static func run(_ command: String, environment: [String: String] = [:], timeoutSeconds: Double,
                           includeErrors: Bool = true, outputBytesMax: Int = ProcessRunner.outputBytesMaxDefault,
                           input: [UInt8]? = nil, drainAfterExitMs: Int32 = ProcessRunner.drainAfterExitMs,
                           started: ((pid_t) -> Void)? = nil) -> Result {
        ProcessRunner.run(["/bin/sh", "-c", command], environment: environment, timeoutSeconds: timeoutSeconds,
                          includeErrors: includeErrors, outputBytesMax: outputBytesMax, input: input,
                          drainAfterExitMs: drainAfterExitMs, started: started)
    }
}

/// Every program the product starts, started one way: posix_spawn, so that the engine needs no
/// Foundation `Process` (and none of the shared libraries it loads), every descriptor of the caller
/// closed in the child, the signals the caller ignores or blocks back to their defaults.
/// - `run`: a command to completion, in its own process group, with standard input from /dev/null
///   (or `input`), its output kept up to `outputBytesMax`, the whole group killed at the timeout.
///   The status is the program's; a background child that keeps the output open does not hold the
///   caller beyond `drainAfterExitMs`.
/// - `spawnDetached`: a daemon of the demo (engine, web app, nginx) in a session of its own, its
///   output appended to a log file.
public enum ProcessRunner {
    public struct Result: Sendable, Equatable {
        /// The exit status, or nil when the command was killed (timeout or signal) or never started.
        public var status: Int32?
        public var output: [UInt8]
        public var timedOut: Bool
        /// Why it could not start, when it could not.
        public var failure: String?

        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    /// Marks every descriptor of this process above standard error close-on-exec, so that a
    /// command inherits none of them. Without it, a command that leaves a daemon behind (a hook
    /// starting a service, a power command starting a blade) would hold the engine's listening
    /// sockets and databases open after the engine died, and the restarted engine could not bind
    /// its port: seen in the demo, where a power-on run by one engine started another blade.
    public static func closeOnExec() {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let descriptor = Int32(name), descriptor > 2, descriptor != own else { continue }
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    public static let outputBytesMaxDefault = 64 << 10
    public static let drainAfterExitMs: Int32 = 1_000
    static let pollIntervalMs: Int32 = 20

    /// - Parameter input: What the command reads on its standard input (a secret that must not
    ///   be an argument); nil for /dev/null.
    ///   - drainAfterExitMs: how long, once the shell exited, its output is still read while a
    ///     child it left in the background keeps the pipe open.
    ///   - started: told the shell's PID (its process group's) as soon as it runs, so that a
    ///     caller can end the command early (`kill(-pid, …)`).
    ///   - arguments: the program (an absolute path) and its arguments.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeoutSeconds: Double,
                           includeErrors: Bool = true, outputBytesMax: Int = outputBytesMaxDefault,
                           input: [UInt8]? = nil, drainAfterExitMs: Int32 = drainAfterExitMs,
                           started: ((pid_t) -> Void)? = nil) -> Result {
        guard let program = arguments.first, program.hasPrefix("/") else {
            return Result(status: nil, output: [], timedOut: false, failure: "the program must be an absolute path")
        }
        var pipeEnds: [Int32] = [-1, -1]
        var inputEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            return Result(status: nil, output: [], timedOut: false, failure: "pipe: \(String(cString: strerror(errno)))")
        }
        if input != nil, pipe(&inputEnds) != 0 {
            close(pipeEnds[0])
            close(pipeEnds[1])
            return Result(status: nil, output: [], timedOut: false, failure: "pipe: \(String(cString: strerror(errno)))")
        }
        // No end may leak into other commands started meanwhile (the child gets its own copies).
        for end in pipeEnds + inputEnds where end >= 0 { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        var inputWriteEnd = inputEnds[1]
        defer { if inputWriteEnd >= 0 { close(inputWriteEnd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil {
            posix_spawn_file_actions_adddup2(&actions, inputEnds[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        if includeErrors {
            posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }

        var pid = pid_t()
        let spawned = spawn(arguments, environment: environment, actions: &actions, ownGroup: true, pid: &pid)
        close(writeEnd)
        if inputEnds[0] >= 0 { close(inputEnds[0]) }
        guard spawned == 0 else {
            close(readEnd)
            return Result(status: nil, output: [], timedOut: false, failure: "cannot start \(program): \(String(cString: strerror(spawned)))")
        }
        defer { close(readEnd) }
        started?(pid)
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        var open = true
        /// Reads what is there; false at end of file.
        func drain() -> Bool {
            while true {
                let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if output.count < outputBytesMax { output += chunk.prefix(min(count, outputBytesMax - output.count)) }
                    continue
                }
                if count == 0 { return false }
                if errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK
            }
        }
        var pendingInput = input ?? []
        var inputSent = 0
        if inputWriteEnd >= 0 { _ = fcntl(inputWriteEnd, F_SETFL, fcntl(inputWriteEnd, F_GETFL) | O_NONBLOCK) }
        /// Writes what the pipe takes of the input; closes it when all is written or the reader is gone.
        func feed() {
            while inputWriteEnd >= 0 {
                if inputSent >= pendingInput.count {
                    close(inputWriteEnd)
                    inputWriteEnd = -1
                    pendingInput = []
                    return
                }
                let count = pendingInput.withUnsafeBytes { bytes -> Int in
                    guard let base = bytes.baseAddress else { return 0 }
                    return write(inputWriteEnd, base + inputSent, bytes.count - inputSent)
                }
                if count > 0 { inputSent += count; continue }
                if count < 0 && errno == EINTR { continue }
                if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                close(inputWriteEnd)
                inputWriteEnd = -1
                return
            }
        }
        feed()
        let deadline = monotonicMs() + Int64(timeoutSeconds * 1_000)
        var status: Int32 = 0
        var exited = false
        while !exited {
            if waitpid(pid, &status, WNOHANG) == pid { exited = true; break }
            let remaining = deadline - monotonicMs()
            if remaining <= 0 { break }
            if inputWriteEnd >= 0 {
                var descriptors = [pollfd(fd: inputWriteEnd, events: Int16(POLLOUT), revents: 0),
                                   pollfd(fd: open ? readEnd : -1, events: Int16(POLLIN), revents: 0)]
                _ = poll(&descriptors, 2, min(pollIntervalMs, Int32(remaining)))
                feed()
                if open { open = drain() }
            } else if open {
                var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, min(pollIntervalMs, Int32(remaining)))
                open = drain()
            } else {
                usleep(UInt32(pollIntervalMs) * 1_000)
            }
        }
        if !exited {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            if open { _ = drain() }
            return Result(status: nil, output: output, timedOut: true, failure: nil)
        }
        // The shell is gone; what it wrote is in the pipe, unless a child of it keeps the pipe.
        let drainDeadline = monotonicMs() + Int64(max(0, drainAfterExitMs))
        while open, monotonicMs() < drainDeadline {
            var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, pollIntervalMs)
            open = drain()
        }
        let exitStatus: Int32? = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : nil
        return Result(status: exitStatus, output: output, timedOut: false, failure: nil)
    }

    /// Starts a daemon: `arguments[0]` (an absolute path) in a session of its own (so that a
    /// terminal's Ctrl-C reaches only the caller, which then stops it in order), standard input
    /// from /dev/null, its output appended to `logPath`. Returns its PID; the caller reaps it.
    public static func spawnDetached(_ arguments: [String], logPath: String, environment: [String: String] = [:]) throws -> pid_t {
        guard let program = arguments.first, program.hasPrefix("/") else {
            throw SpawnError(description: "the program must be an absolute path, not \(arguments.first ?? "nothing")")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid = pid_t()
        let spawned = spawn(arguments, environment: environment, actions: &actions, ownGroup: false, pid: &pid)
        guard spawned == 0 else { throw SpawnError(description: "cannot start \(program): \(String(cString: strerror(spawned)))") }
        return pid
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// posix_spawn with the caller's environment and `environment` over it, every descriptor of
    /// the caller above standard error closed in the child, the signals the caller may ignore or
    /// block back to their defaults, in a process group (`ownGroup`) or a session of its own.
    private static func spawn(_ arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t,
                              ownGroup: Bool, pid: inout pid_t) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        // glibc's POSIX_SPAWN_SETSID (0x80) is hidden behind _GNU_SOURCE in the Swift import.
        let spawnSetSID: Int32 = 0x80
        if ownGroup { posix_spawnattr_setpgroup(&attributes, 0) }
        posix_spawnattr_setflags(&attributes, Int16((ownGroup ? POSIX_SPAWN_SETPGROUP : spawnSetSID)
                                                    | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        closeOnExec()
        var merged: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                merged[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        for (name, value) in environment { merged[name] = value }
        let argumentEntries = arguments.map { (text: String) -> UnsafeMutablePointer<CChar>? in strdup(text) }
        let environmentEntries = merged.map { (name, value) -> UnsafeMutablePointer<CChar>? in strdup("\(name)=\(value)") }
        defer {
            argumentEntries.forEach { free($0) }
            environmentEntries.forEach { free($0) }
        }
        return (argumentEntries + [nil]).withUnsafeBufferPointer { argv in
            (environmentEntries + [nil]).withUnsafeBufferPointer { envp in
                guard let program = argv.baseAddress?.pointee, let argvBase = argv.baseAddress, let envpBase = envp.baseAddress else {
                    return EINVAL
                }
                return posix_spawn(&pid, program, &actions, &attributes, argvBase, envpBase)
            }
        }
    }

    private static func monotonicMs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }
}
