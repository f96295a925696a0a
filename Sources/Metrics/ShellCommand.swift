#if canImport(Glibc)
import Glibc
#endif

/// Runs an operator's command (`/bin/sh -c`): role hooks, the fence command, the chassis devices
/// command. posix_spawn with pipes, so that the engine needs no Foundation `Process` (and none of
/// the shared libraries it loads).
///
/// The command runs in its own process group with standard input from /dev/null and the default
/// dispositions of the signals the engine ignores. Its output is kept up to `outputBytesMax`. At
/// the timeout the whole group is killed. The status is the shell's; a background child that keeps
/// the output open does not hold the caller beyond `drainAfterExitMs`.
public enum ShellCommand {
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
    static func closeOnExec() {
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
    public static func run(_ command: String, environment: [String: String] = [:], timeoutSeconds: Double,
                           includeErrors: Bool = true, outputBytesMax: Int = outputBytesMaxDefault,
                           input: [UInt8]? = nil, drainAfterExitMs: Int32 = drainAfterExitMs,
                           started: ((pid_t) -> Void)? = nil) -> Result {
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
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

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
        let arguments = ["/bin/sh", "-c", command].map { (text: String) -> UnsafeMutablePointer<CChar>? in strdup(text) }
        let environmentEntries = merged.map { (name, value) -> UnsafeMutablePointer<CChar>? in strdup("\(name)=\(value)") }
        defer {
            arguments.forEach { free($0) }
            environmentEntries.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = (arguments + [nil]).withUnsafeBufferPointer { argv in
            (environmentEntries + [nil]).withUnsafeBufferPointer { envp in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv.baseAddress!, envp.baseAddress!)
            }
        }
        close(writeEnd)
        if inputEnds[0] >= 0 { close(inputEnds[0]) }
        guard spawned == 0 else {
            close(readEnd)
            return Result(status: nil, output: [], timedOut: false, failure: "cannot start /bin/sh: \(String(cString: strerror(spawned)))")
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
                let count = pendingInput.withUnsafeBytes { bytes in
                    write(inputWriteEnd, bytes.baseAddress! + inputSent, bytes.count - inputSent)
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

    private static func monotonicMs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }
}
