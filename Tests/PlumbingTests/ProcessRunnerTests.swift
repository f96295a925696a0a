import Foundation
import Plumbing
import Testing

/// Operators' commands (hooks, fence, chassis devices) run through posix_spawn, as the engine runs them.
@Suite struct ShellCommandTests {
    static func milliseconds(since start: Date) -> Double { Date().timeIntervalSince(start) * 1_000 }

    @Test func statusOutputEnvironmentAndStandardInput() {
        let result = ShellCommand.run("echo out; echo err >&2; echo \"$CHASSIS_ROLE/$HOME\"; cat; exit 3",
                                      environment: ["CHASSIS_ROLE": "active"], timeoutSeconds: 5)
        #expect(result.status == 3)
        #expect(!result.timedOut)
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        #expect(result.text == "out\nerr\nactive/\(home)\n", "stderr merged, the environment inherited and extended, stdin empty")
        let quiet = ShellCommand.run("echo out; echo err >&2", timeoutSeconds: 5, includeErrors: false)
        #expect(quiet.status == 0 && quiet.text == "out\n")
    }

    @Test func aCommandThatHangsIsKilledWithItsChildrenAtTheTimeout() throws {
        let marker = NSTemporaryDirectory() + "shell-command-\(UUID().uuidString)"
        let start = Date()
        let result = ShellCommand.run("echo started; (sleep 3; touch \(marker)) & sleep 30", timeoutSeconds: 0.3)
        #expect(result.timedOut && result.status == nil)
        #expect(result.text == "started\n")
        #expect(Self.milliseconds(since: start) < 2_000)
        Thread.sleep(forTimeInterval: 3.3)
        #expect(!FileManager.default.fileExists(atPath: marker), "the whole process group was killed")
    }

    @Test func aBackgroundChildKeepingTheOutputOpenDoesNotHoldTheCaller() {
        let start = Date()
        // The shell exits at once; its child keeps standard output open for 10 s.
        let result = ShellCommand.run("echo announced; sleep 10 &", timeoutSeconds: 20)
        #expect(result.status == 0)
        #expect(result.text == "announced\n")
        #expect(Self.milliseconds(since: start) < 3_000)
    }

    /// A role hook: its background child (arping) must not hold it for the default second.
    @Test func aShortDrainEndsTheWaitForABackgroundChildSooner() {
        let start = Date()
        let result = ShellCommand.run("echo announced; sleep 10 &", timeoutSeconds: 20, drainAfterExitMs: 50)
        #expect(result.status == 0 && result.text == "announced\n")
        #expect(Self.milliseconds(since: start) < 500, "waited \(Self.milliseconds(since: start)) ms")
    }

    /// A hook superseded by a newer change of role: the caller, told the shell's PID, ends its
    /// process group (the shell and what it started) at once.
    @Test func theStartedPIDLetsACallerEndTheCommandEarly() throws {
        let marker = NSTemporaryDirectory() + "shell-command-\(UUID().uuidString)"
        let start = Date()
        let result = ShellCommand.run("(sleep 1; touch \(marker)) & sleep 30", timeoutSeconds: 20, started: { pid in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { _ = kill(-pid, SIGTERM) }
        })
        #expect(result.status == nil && !result.timedOut)
        // Ended long before its `sleep 30` (the bound is loose: under a loaded machine the kill
        // scheduled for 0.2 s and the group's exit took over 2 s).
        #expect(Self.milliseconds(since: start) < 10_000)
        Thread.sleep(forTimeInterval: 1.3)
        #expect(!FileManager.default.fileExists(atPath: marker), "the background child was ended with its group")
    }

    @Test func outputIsBoundedAndSignalsAreReported() {
        let big = ShellCommand.run("head -c 1000000 /dev/zero", timeoutSeconds: 5, outputBytesMax: 1_000)
        #expect(big.status == 0 && big.output.count == 1_000)
        let killed = ShellCommand.run("kill -TERM $$", timeoutSeconds: 5)
        #expect(killed.status == nil && !killed.timedOut, "a shell ended by a signal has no exit status (SIGTERM is not ignored in it)")
        let missing = ShellCommand.run("/nonexistent/program", timeoutSeconds: 5)
        #expect(missing.status == 127)
    }

    @Test func aProgramRunsWithItsArgumentsAndNoShell() {
        let result = ProcessRunner.run(["/bin/echo", "a b", "$HOME", ";", "c"], timeoutSeconds: 5)
        #expect(result.status == 0 && result.text == "a b $HOME ; c\n", "arguments as given, nothing expanded")
        let relative = ProcessRunner.run(["echo", "x"], timeoutSeconds: 5)
        #expect(relative.status == nil && relative.failure == "the program must be an absolute path")
        let missing = ProcessRunner.run(["/nonexistent/program"], timeoutSeconds: 5)
        #expect(missing.status == nil && missing.failure?.hasPrefix("cannot start /nonexistent/program") == true)
        #expect(ProcessRunner.run([], timeoutSeconds: 5).failure != nil)
    }

    @Test func aDetachedDaemonRunsInItsOwnSessionLoggingToItsFile() throws {
        let log = NSTemporaryDirectory() + "process-runner-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        try "earlier\n".write(toFile: log, atomically: true, encoding: .utf8)
        let pid = try ProcessRunner.spawnDetached(["/bin/sh", "-c", "echo \"$MARK\"; echo err >&2; ps -o sid= -p $$ | tr -d ' '; sleep 30"],
                                                  logPath: log, environment: ["MARK": "daemon-mark"])
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        var text = ""
        for _ in 0..<100 {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").count >= 4 { break }
            usleep(20_000)
        }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["earlier", "daemon-mark", "err"], "appended, standard error too")
        #expect(lines.count >= 4 && lines[3] == String(pid), "the leader of a session of its own")
        #expect(throws: ProcessRunner.SpawnError.self) { try ProcessRunner.spawnDetached(["sh"], logPath: log) }
    }
}
