#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@preconcurrency import CSensors

/// The one owner of libsensors' process-wide state: `sensors_init` on creation,
/// `sensors_cleanup` on deinit, and a lock around every call, because libsensors keeps its chip
/// list in globals and is not thread-safe.
///
/// Only one instance may be alive at a time; creating a second throws `alreadyOpen`. libsensors
/// always reads `/sys` (there is no way to point it elsewhere); tests and the demo run it in a
/// private mount namespace with a fake tree bound over `/sys/class` instead.
public final class SensorsLibrary {
    public enum OpenError: Error, Equatable, CustomStringConvertible {
        case alreadyOpen
        case configUnreadable(path: String, errno: Int32)
        case initFailed(code: Int32, message: String)

        public var description: String {
            switch self {
            case .alreadyOpen: return "libsensors is already initialised by another SensorsLibrary"
            case .configUnreadable(let path, let code): return "cannot open \(path): errno \(code)"
            case .initFailed(let code, let message): return "sensors_init failed (\(code)): \(message)"
            }
        }
    }

    /// A sensors.conf to use instead of the system's (`/etc/sensors3.conf`, `/etc/sensors.d`);
    /// `/dev/null` means no configuration at all (no labels, no compute rules).
    public let configPath: String?
    private static let lock = PthreadLock()
    nonisolated(unsafe) private static var isOpen = false
    /// False after a failed rescan: libsensors then knows no chips until a rescan succeeds.
    public private(set) var isInitialised = true

    public init(configPath: String? = nil) throws {
        self.configPath = configPath
        try Self.lock.withLock {
            if Self.isOpen { throw OpenError.alreadyOpen }
            try Self.initialise(configPath)
            Self.isOpen = true
        }
    }

    deinit {
        Self.lock.withLock {
            sensors_cleanup()
            Self.isOpen = false
        }
    }

    /// Drops libsensors' chip list and scans `/sys` again, for hardware that appeared or went
    /// away. On failure libsensors is left uninitialised and every later read fails (as faults)
    /// until a rescan succeeds.
    public func rescan() throws {
        try Self.lock.withLock {
            sensors_cleanup()
            isInitialised = false
            try Self.initialise(configPath)
            isInitialised = true
        }
    }

    /// Runs `body` while holding the libsensors lock.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try Self.lock.withLock(body)
    }

    /// The libsensors version string, e.g. `3.6.0`.
    public static var version: String {
        guard let text = libsensors_version else { return "unknown" }
        return String(cString: text)
    }

    static func message(_ code: Int32) -> String {
        guard let text = sensors_strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    private static func initialise(_ configPath: String?) throws {
        var file: UnsafeMutablePointer<FILE>?
        if let configPath {
            file = fopen(configPath, "r")
            if file == nil { throw OpenError.configUnreadable(path: configPath, errno: errno) }
        }
        defer { if let file { fclose(file) } }
        let code = sensors_init(file)
        if code != 0 {
            sensors_cleanup()
            throw OpenError.initFailed(code: code, message: message(code))
        }
    }
}

/// A plain pthread mutex: the Metrics target avoids Foundation in its hot paths.
final class PthreadLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
