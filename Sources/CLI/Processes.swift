import Foundation
import Plumbing
#if canImport(Glibc)
import Glibc
#endif

/// Starting and stopping the demo's processes: each in its own session (so a terminal's Ctrl-C
/// reaches only `make demo`, which then stops them in order), output appended to a log file.
enum Processes {
    /// Runs a command to completion (at most ten minutes) and returns its exit status (-1 when
    /// it was killed or could not start) and output.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = ProcessRunner.run(arguments, timeoutSeconds: 600, outputBytesMax: 4 << 20, drainAfterExitMs: 100)
        if let failure = result.failure { throw ProcessRunner.SpawnError(description: failure) }
        return (result.status ?? -1, result.text)
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
