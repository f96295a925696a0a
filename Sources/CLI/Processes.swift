import Foundation
import Plumbing
#if canImport(Glibc)
import Glibc
#endif

/// Starting and stopping the demo's processes: each in its own session (so a terminal's Ctrl-C
/// reaches only `make demo`, which then stops them in order), output appended to a log file.
enum Processes {
    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `arguments[0]` (an absolute path) with its output appended to `logPath`; returns the PID.
    static func spawn(_ arguments: [String], logPath: String, environment: [String: String] = [:]) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // glibc's POSIX_SPAWN_SETSID (0x80) is hidden behind _GNU_SOURCE in the Swift import.
        let spawnSetSID: Int32 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(spawnSetSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let cArguments = arguments.map { strdup($0) } + [nil]
        let cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &fileActions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Runs a command to completion and returns its exit status and output.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 { return false }
        // A zombie (exited, not yet reaped) counts as gone.
        if let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = status.lastIndex(of: ")") {
            let state = status[status.index(close, offsetBy: 2)...].prefix(1)
            return state != "Z"
        }
        return true
    }

    /// Sends SIGTERM, waits up to `graceSeconds`, then SIGKILL. Only for PIDs this tool started.
    static func stop(_ pid: pid_t, graceSeconds: Double) {
        guard isAlive(pid) else { return }
        kill(pid, SIGTERM)
        kill(pid, SIGCONT)
        let deadline = Date().addingTimeInterval(graceSeconds)
        while Date() < deadline {
            reap(pid)
            if !isAlive(pid) { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        for _ in 0..<100 where isAlive(pid) {
            reap(pid)
            usleep(10_000)
        }
    }

    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// The directory this executable lives in: the other binaries are built beside it.
    static var executableDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        let directories: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for directory in directories {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// What `chassisctl demo` asks a blade it waits for: `HTTPGet`, nil when there is no answer.
enum HTTPProbe {
    static func get(host: String, port: Int, path: String, timeoutMs: Int = 1_000) -> HTTPGet.Reply? {
        try? HTTPGet.get(host: host, port: port, path: path, timeoutMs: timeoutMs)
    }
}
