import Plumbing
import Foundation
import Testing

/// sd_notify without libsystemd, against a real datagram socket standing in for systemd's.
@Suite struct SystemdNotifierTests {
    /// A bound datagram socket at a fresh path, and what arrives on it.
    final class Listener {
        let path = NSTemporaryDirectory() + "notify-\(UUID().uuidString.prefix(8)).sock"
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)

        init() {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func next() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4_096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
        }

        deinit {
            close(descriptor)
            unlink(path)
        }
    }

    @Test func readyOnceThenStatusOnlyWhenItChanges() throws {
        let listener = Listener()
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path]))
        notifier.ready(status: "active")
        #expect(listener.next() == "READY=1\nSTATUS=active")
        notifier.ready(status: "active")
        notifier.status("standby; active manager blade2\n(127.0.1.2)")
        #expect(listener.next() == "STATUS=standby; active manager blade2 (127.0.1.2)", "no second READY, one line")
        // CRLF is one Character: a status with one still makes one line (no "READY=1" smuggled in).
        notifier.status("no quorum\r\nREADY=1")
        #expect(listener.next() == "STATUS=no quorum READY=1")
        notifier.watchdog()
        #expect(listener.next() == "WATCHDOG=1")
        notifier.stopping()
        #expect(listener.next() == "STOPPING=1\nSTATUS=stopping")
    }

    @Test func theWatchdogIntervalIsHalfWhatSystemdAsksAndOnlyForThisProcess() throws {
        let listener = Listener()
        let asked = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "10000000"]))
        #expect(asked.watchdogIntervalMs == 5_000)
        let other = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "10000000",
                                                              "WATCHDOG_PID": "1"]))
        #expect(other.watchdogIntervalMs == nil, "the pings are another process's")
    }

    @Test func withoutAUsableSocketItIsNotThere() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)]) == nil)
    }
}

/// The lock the role hooks share between the event loop and their queue.
@Suite struct LockedTests {
    @Test func concurrentChangesAreNotLost() async {
        let counter = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<1_000 { counter.withLock { $0 += 1 } } }
            }
        }
        #expect(counter.withLock { $0 } == 8_000)
    }
}
