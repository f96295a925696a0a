#if canImport(Glibc)
import Glibc
#endif

/// The service manager's notification protocol (sd_notify(3)), spoken without libsystemd: one
/// datagram per state to the unix socket named by `NOTIFY_SOCKET` (a path, or `@name` for the
/// abstract namespace). Without `NOTIFY_SOCKET` (not started by systemd with `Type=notify`)
/// every call does nothing.
///
/// The engine says READY once it has joined the chassis (it knows the active manager or is it),
/// STATUS with its role or why no manager is active, WATCHDOG from its event loop (a hung loop
/// stops the pings and systemd restarts the engine), and STOPPING when it shuts down.
public final class SystemdNotifier {
    private let descriptor: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t
    /// How often to ping the watchdog (half of `WATCHDOG_USEC`), when systemd asked for pings.
    public let watchdogIntervalMs: Int64?
    public private(set) var saidReady = false
    private var lastStatus = ""

    /// Reads the environment systemd gives a service; nil when there is no notification socket
    /// or it cannot be used.
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        var bytes = Array(path.utf8)
        // An abstract socket: '@' stands for the leading NUL byte.
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity, bytes.first == 0 || bytes.first == UInt8(ascii: "/") else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        // Pings only when they are meant for this process (WATCHDOG_PID, when set, names it).
        let forUs = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogIntervalMs = max(1, microseconds / 2_000)
        } else {
            watchdogIntervalMs = nil
        }
    }

    deinit { close(descriptor) }

    /// Sends `NAME=value` lines; false when the datagram could not be sent.
    @discardableResult
    public func send(_ state: String) -> Bool {
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, addressLength)
                }
            }
        }
        return sent == bytes.count
    }

    /// READY=1, once, with the status that goes with it.
    public func ready(status text: String) {
        guard !saidReady else { return status(text) }
        saidReady = true
        lastStatus = text
        send("READY=1\nSTATUS=\(Self.oneLine(text))")
    }

    /// STATUS=…, when it changed.
    public func status(_ text: String) {
        guard text != lastStatus else { return }
        lastStatus = text
        send("STATUS=\(Self.oneLine(text))")
    }

    public func watchdog() { send("WATCHDOG=1") }

    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }

    /// A status is one line of the datagram.
    public static func oneLine(_ text: String) -> String {
        // By property: "\r\n" is one Character, equal to neither "\n" nor "\r".
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
