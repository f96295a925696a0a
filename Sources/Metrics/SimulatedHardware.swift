#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Plumbing

/// A blade's sensor hardware, simulated as files that the real libsensors reads.
///
/// It writes, under `directory`:
/// - `class/hwmon/hwmon0..2`: a fake hwmon tree (values in sysfs units: millidegrees, RPM,
///   millivolts, microwatts, milliamperes) with `device` links to `class/_devices/*`, whose
///   `subsystem` links give libsensors realistic chip names: `coretemp-isa-0000` (CPU package
///   and four cores), `nct6798-isa-0290` (board and inlet temperatures, three fans, Vcore,
///   +12V, +5V, +3.3V) and `power_meter-acpi-0` (blade power and 12 V current);
/// - `class/dmi/id/*` and `class/net/eth0/address`: the module's identity;
/// - `psu`: the power supply's state, `ok` or `failed`;
/// - `pins`: operator overrides (see `setPin`), read on every step.
///
/// Bind `class` over `/sys/class` in a private mount namespace and libsensors sees this blade:
/// `unshare -m --propagation private -- sh -c 'mount --bind "$0" /sys/class && exec "$@"' DIR/class CMD...`
/// (as non-root, `unshare -Urm`).
///
/// `step` makes the values drift with CPU load: temperatures follow it with a time constant,
/// fans follow the temperatures, power and current follow the load, with small noise from a
/// seeded generator, so a run is reproducible from its seed.
///
/// The pins file has one override a line, `<key> <value>`, `#` starting a comment. The key is
/// the metric key the libsensors collector produces (`hwmon.coretemp-isa-0000.temp1`), the
/// value is in the metric's unit (celsius, rpm, volts, watts, amperes) or `fault`, which writes
/// an unreadable value. `hwmon0/temp1` and `hwmon0/temp1_input` are accepted as aliases.
/// Two more keys: `sim.cpu_load_percent` replaces the load passed to `step`, and `psu.state`
/// (1 or 0) overrides the `psu` file.
public final class SimulatedHardware {
    /// The identity the module reports through the fake DMI tree.
    public struct Identity: Sendable, Equatable {
        public var serial: String
        public var model: String
        public var revision: String
        public var manufacturer: String
        public var boardSerial: String
        /// `aa:bb:cc:dd:ee:ff`.
        public var macAddress: String

        public init(serial: String, model: String, revision: String, manufacturer: String,
                    boardSerial: String, macAddress: String) {
            self.serial = serial
            self.model = model
            self.revision = revision
            self.manufacturer = manufacturer
            self.boardSerial = boardSerial
            self.macAddress = macAddress
        }

        /// A plausible identity derived from a seed (a locally administered MAC address).
        public static func generated(seed: UInt64) -> Identity {
            var generator = SplitMix64(seed: seed ^ 0x1D_E7_17_1E)
            let serialNumber = generator.next() % 100_000_000
            let mac = (0..<5).map { _ in hex2(UInt8(truncatingIfNeeded: generator.next())) }
            let serial = String(serialNumber).leftPadded(to: 8, with: "0")
            return Identity(serial: "CMB" + serial, model: "CM-Blade 2000", revision: "B2",
                            manufacturer: "Chassis Manager Simulated Systems",
                            boardSerial: "BRD" + serial, macAddress: (["02"] + mac).joined(separator: ":"))
        }
    }

    /// An operator override.
    public enum PinValue: Sendable, Equatable, CustomStringConvertible {
        case value(Double)
        /// An unreadable value (garbage in the file): libsensors fails, the reading is a fault.
        case fault

        public init?(_ text: String) {
            if text == "fault" { self = .fault; return }
            guard let number = Double(text), number.isFinite else { return nil }
            self = .value(number)
        }

        public var description: String {
            switch self {
            case .fault: return "fault"
            case .value(let number): return formatNumber(number)
            }
        }
    }

    public enum SimulationError: Error, Equatable, CustomStringConvertible {
        case unknownKey(String)
        case invalidValue(String)
        case io(path: String, reason: String)

        public var description: String {
            switch self {
            case .unknownKey(let key):
                return "unknown simulated sensor key \(key); known keys: \(SimulatedHardware.pinnableKeys.joined(separator: ", "))"
            case .invalidValue(let text): return "invalid value \(text): a number or 'fault'"
            case .io(let path, let reason): return "\(path): \(reason)"
            }
        }
    }

    /// One simulated sensor: where it lives and how its file encodes the value.
    struct Sensor {
        var chipDirectory: String
        var chipName: String
        var feature: String
        var label: String
        /// Metric units to sysfs units: 1000 for millidegrees, millivolts, milliamperes; 1e6 for microwatts.
        var scale: Double
        /// Limit files (`max`, `crit`, `min`, `lcrit`) in metric units.
        var limits: [(String, Double)]

        var key: String { SensorMapping.key(chip: chipName, feature: feature) }
        var inputFile: String { "\(chipDirectory)/\(feature)_input" }
    }

    struct Chip {
        var directory: String
        var name: String
        var device: String
        var subsystem: String
        var chipName: String
    }

    static let chips: [Chip] = [
        Chip(directory: "hwmon0", name: "coretemp", device: "coretemp.0", subsystem: "platform",
             chipName: "coretemp-isa-0000"),
        Chip(directory: "hwmon1", name: "nct6798", device: "nct6798.656", subsystem: "platform",
             chipName: "nct6798-isa-0290"),
        Chip(directory: "hwmon2", name: "power_meter", device: "ACPI000D:00", subsystem: "acpi",
             chipName: "power_meter-acpi-0"),
    ]

    static let sensors: [Sensor] = {
        let cpu = chips[0], board = chips[1], meter = chips[2]
        func sensor(_ chip: Chip, _ feature: String, _ label: String, _ scale: Double,
                    _ limits: [(String, Double)]) -> Sensor {
            Sensor(chipDirectory: chip.directory, chipName: chip.chipName, feature: feature, label: label,
                   scale: scale, limits: limits)
        }
        let cpuLimits = [("max", 84.0), ("crit", 100.0)]
        return [
            sensor(cpu, "temp1", "Package id 0", 1000, cpuLimits),
            sensor(cpu, "temp2", "Core 0", 1000, cpuLimits),
            sensor(cpu, "temp3", "Core 1", 1000, cpuLimits),
            sensor(cpu, "temp4", "Core 2", 1000, cpuLimits),
            sensor(cpu, "temp5", "Core 3", 1000, cpuLimits),
            sensor(board, "temp1", "Board", 1000, [("max", 70), ("crit", 85)]),
            sensor(board, "temp2", "Inlet", 1000, [("max", 40), ("crit", 45)]),
            sensor(board, "fan1", "CPU Fan", 1, [("min", 600)]),
            sensor(board, "fan2", "System Fan 1", 1, [("min", 600)]),
            sensor(board, "fan3", "System Fan 2", 1, [("min", 600)]),
            sensor(board, "in0", "Vcore", 1000, [("min", 0.6), ("max", 1.4)]),
            sensor(board, "in1", "+12V", 1000, [("lcrit", 10.8), ("min", 11.4), ("max", 12.6), ("crit", 13.2)]),
            sensor(board, "in2", "+5V", 1000, [("lcrit", 4.5), ("min", 4.75), ("max", 5.25), ("crit", 5.5)]),
            sensor(board, "in3", "+3.3V", 1000, [("lcrit", 2.97), ("min", 3.135), ("max", 3.465), ("crit", 3.63)]),
            sensor(meter, "power1", "Blade power", 1_000_000, [("max", 300), ("crit", 350)]),
            sensor(meter, "curr1", "12V current", 1000, [("max", 25), ("crit", 30)]),
        ]
    }()

    /// Every key the pins file accepts, metric keys first.
    public static var pinnableKeys: [String] {
        sensors.map(\.key) + [loadKey, powerSupplyKey]
    }
    public static let loadKey = "sim.cpu_load_percent"
    public static let powerSupplyKey = "psu.state"

    /// The directory all files live under.
    public let directory: String
    /// The tree to bind over `/sys/class`.
    public var classDirectory: String { directory + "/class" }
    public let seed: UInt64
    public private(set) var identity: Identity
    /// Current values by metric key, in metric units (what the files hold, pins included).
    public private(set) var values: [String: Double] = [:]
    /// The load the last step used (after a `sim.cpu_load_percent` pin).
    public private(set) var lastLoadPercent: Double = 0
    private var generator: SplitMix64
    private let inletBaseCelsius: Double
    private let reader = BoundedFileReader(maximumBytes: 64 * 1024)

    /// Creates (or takes over) the simulated tree and writes initial idle values. Existing
    /// `pins` and `psu` files are kept, so an operator's overrides survive an engine restart.
    public init(directory: String, seed: UInt64, identity: Identity? = nil,
                inletCelsius: Double = 24) throws {
        self.directory = directory
        self.seed = seed
        self.identity = identity ?? .generated(seed: seed)
        self.generator = SplitMix64(seed: seed)
        self.inletBaseCelsius = inletCelsius
        try createLayout()
        try writeIdentity()
        if !Self.exists(directory + "/psu") { try Self.setPowerSupply(ok: true, in: directory) }
        let pins = Self.pins(in: directory)
        advance(load: 0, seconds: 10_000, pins: pins)  // settle at idle
        try writeValues(pins: pins)
    }

    /// Advances the simulation by `elapsedSeconds` at the given CPU load and rewrites the files.
    public func step(cpuLoadPercent: Double, elapsedSeconds: Double) throws {
        let pins = Self.pins(in: directory)
        var load = cpuLoadPercent.isFinite ? cpuLoadPercent : 0
        if case .value(let pinned)? = pins[Self.loadKey] { load = pinned }
        load = min(100, max(0, load))
        lastLoadPercent = load
        let dt = max(0, min(elapsedSeconds.isFinite ? elapsedSeconds : 0, 3_600))
        advance(load: load, seconds: dt, pins: pins)
        try writeValues(pins: pins)
    }

    /// Replaces the module: a new identity, as when a blade is swapped in the same slot.
    public func replaceModule(identity: Identity) throws {
        self.identity = identity
        try writeIdentity()
    }

    // MARK: - Drift model

    private func key(_ chip: Int, _ feature: String) -> String {
        SensorMapping.key(chip: Self.chips[chip].chipName, feature: feature)
    }

    private func noise(_ amplitude: Double) -> Double {
        (generator.nextUnit() * 2 - 1) * amplitude
    }

    private func approach(_ key: String, _ target: Double, tauSeconds: Double, seconds: Double,
                          noise amplitude: Double) {
        let current = values[key] ?? target
        let alpha = seconds <= 0 ? 0 : 1 - exp(-seconds / tauSeconds)
        values[key] = current + (target - current) * alpha + noise(amplitude)
    }

    private func advance(load: Double, seconds: Double, pins: [String: PinValue]) {
        // Pinned sensors take their pinned value as state, so that drift resumes from it once unpinned.
        for (key, pin) in pins { if case .value(let number) = pin, key.hasPrefix("hwmon.") { values[key] = number } }
        func pinned(_ key: String) -> Bool { pins[key] != nil }
        func drive(_ key: String, _ target: Double, tau: Double, noise amplitude: Double) {
            if !pinned(key) { approach(key, target, tauSeconds: tau, seconds: seconds, noise: amplitude) }
        }
        let inlet = key(1, "temp2")
        drive(inlet, inletBaseCelsius, tau: 600, noise: 0.05)
        let inletC = values[inlet] ?? inletBaseCelsius
        let package = key(0, "temp1")
        drive(package, inletC + 14 + 0.42 * load, tau: 15, noise: 0.25)
        let packageC = values[package] ?? inletC
        for core in 0..<4 {
            drive(key(0, "temp\(core + 2)"), packageC - 2 - Double(core) * 0.7, tau: 2, noise: 0.3)
        }
        let board = key(1, "temp1")
        drive(board, inletC + 9 + 0.12 * load, tau: 90, noise: 0.1)
        let boardC = values[board] ?? inletC
        let cpuFan = 900 + min(1, max(0, (packageC - 40) / 40)) * 3_900
        drive(key(1, "fan1"), cpuFan, tau: 4, noise: 15)
        let systemFan = 1_200 + min(1, max(0, (boardC - 30) / 20)) * 3_000
        drive(key(1, "fan2"), systemFan, tau: 6, noise: 12)
        drive(key(1, "fan3"), systemFan * 1.03, tau: 6, noise: 12)
        drive(key(1, "in0"), 0.78 + 0.0045 * load, tau: 1, noise: 0.006)
        drive(key(1, "in1"), 12.08 - 0.002 * load, tau: 1, noise: 0.015)
        drive(key(1, "in2"), 5.03, tau: 1, noise: 0.01)
        drive(key(1, "in3"), 3.32, tau: 1, noise: 0.008)
        let power = key(2, "power1")
        drive(power, 75 + 1.55 * load, tau: 2, noise: 1.5)
        let twelveVolts = values[key(1, "in1")] ?? 12
        drive(key(2, "curr1"), (values[power] ?? 75) * 0.92 / max(1, twelveVolts), tau: 0.5, noise: 0.05)
        // Fans and power cannot go negative, whatever the noise did.
        for sensor in Self.sensors where sensor.feature.hasPrefix("fan") || sensor.feature.hasPrefix("power") {
            if let value = values[sensor.key], value < 0 { values[sensor.key] = 0 }
        }
    }

    // MARK: - Files

    private func createLayout() throws {
        let root = classDirectory
        for path in [directory, root, root + "/hwmon", root + "/_devices", root + "/dmi", root + "/dmi/id",
                     root + "/net", root + "/net/eth0", directory + "/.staging"] {
            try Self.makeDirectory(path)
        }
        for chip in Self.chips {
            let hwmon = "\(root)/hwmon/\(chip.directory)"
            let device = "\(root)/_devices/\(chip.device)"
            try Self.makeDirectory(hwmon)
            try Self.makeDirectory(device)
            // Relative links, so they resolve the same inside the namespace (under /sys/class)
            // and outside it (under the simulation directory).
            try Self.symlink("../../_devices/\(chip.device)", at: hwmon + "/device")
            try Self.symlink("../../_bus/\(chip.subsystem)", at: device + "/subsystem")
            try writeFile("\(hwmon)/name", chip.name + "\n")
        }
        for sensor in Self.sensors {
            try writeFile("\(root)/hwmon/\(sensor.chipDirectory)/\(sensor.feature)_label", sensor.label + "\n")
            for (suffix, value) in sensor.limits {
                try writeFile("\(root)/hwmon/\(sensor.chipDirectory)/\(sensor.feature)_\(suffix)",
                              Self.encode(value, scale: sensor.scale) + "\n")
            }
        }
    }

    private func writeIdentity() throws {
        try Self.replaceModule(identity: identity, in: directory)
    }

    /// Writes a module identity into a simulated blade's DMI and net files; what
    /// `chassisctl demo replace` does from another process. The identification collector
    /// reports it at its next sample.
    public static func replaceModule(identity: Identity, in directory: String) throws {
        let classDirectory = directory + "/class"
        for path in [directory, directory + "/.staging", classDirectory, classDirectory + "/dmi",
                     classDirectory + "/dmi/id", classDirectory + "/net", classDirectory + "/net/eth0"] {
            try makeDirectory(path)
        }
        let dmi = classDirectory + "/dmi/id"
        let files = [("product_serial", identity.serial), ("product_name", identity.model),
                     ("product_version", identity.revision), ("sys_vendor", identity.manufacturer),
                     ("board_serial", identity.boardSerial), ("board_name", identity.model),
                     ("board_vendor", identity.manufacturer)]
        for (name, value) in files {
            try writeAtomically("\(dmi)/\(name)", value + "\n", staging: directory + "/.staging")
        }
        try writeAtomically(classDirectory + "/net/eth0/address", identity.macAddress + "\n",
                            staging: directory + "/.staging")
    }

    private func writeValues(pins: [String: PinValue]) throws {
        for sensor in Self.sensors {
            let path = "\(classDirectory)/hwmon/\(sensor.inputFile)"
            if case .fault? = pins[sensor.key] {
                try writeFile(path, "fault\n")
            } else {
                try writeFile(path, Self.encode(values[sensor.key] ?? 0, scale: sensor.scale) + "\n")
            }
        }
    }

    private func writeFile(_ path: String, _ contents: String) throws {
        try Self.writeAtomically(path, contents, staging: directory + "/.staging")
    }

    static func encode(_ value: Double, scale: Double) -> String {
        String(Int((value * scale).rounded()))
    }

    /// Whether this process sees `directory/class` as `/sys/class` (same device and inode), that
    /// is, whether it runs in the private mount namespace where libsensors reads the simulation.
    public static func isBoundOverSysClass(directory: String) -> Bool {
        var simulated = stat()
        var system = stat()
        guard stat(directory + "/class", &simulated) == 0, stat("/sys/class", &system) == 0 else { return false }
        return simulated.st_dev == system.st_dev && simulated.st_ino == system.st_ino
    }

    // MARK: - Operator overrides, usable from another process (the CLI)

    /// Maps an alias (`hwmon0/temp1`, `hwmon0/temp1_input`) to its metric key; metric keys and
    /// the two special keys map to themselves. Nil for anything unknown.
    public static func canonicalKey(_ key: String) -> String? {
        if pinnableKeys.contains(key) { return key }
        var alias = key
        if alias.hasSuffix("_input") { alias.removeLast("_input".count) }
        for sensor in sensors where "\(sensor.chipDirectory)/\(sensor.feature)" == alias { return sensor.key }
        return nil
    }

    /// The overrides in `directory/pins`; lines that do not parse or name unknown keys are ignored.
    public static func pins(in directory: String) -> [String: PinValue] {
        guard let text = try? readSmallFile(directory + "/pins") else { return [:] }
        var pins: [String: PinValue] = [:]
        for line in text.split(separator: "\n") {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, let key = canonicalKey(String(words[0])),
                  let value = PinValue(String(words[1])) else { continue }
            pins[key] = value
        }
        return pins
    }

    /// Pins a sensor (or the simulated load, or the power supply) to a value until removed.
    public static func setPin(_ key: String, _ value: PinValue, in directory: String) throws {
        guard let canonical = canonicalKey(key) else { throw SimulationError.unknownKey(key) }
        var pins = pins(in: directory)
        pins[canonical] = value
        try writePins(pins, in: directory)
    }

    /// Removes a pin; the value drifts again from where it was pinned.
    public static func removePin(_ key: String, in directory: String) throws {
        guard let canonical = canonicalKey(key) else { throw SimulationError.unknownKey(key) }
        var pins = pins(in: directory)
        pins[canonical] = nil
        try writePins(pins, in: directory)
    }

    /// Sets the power supply state that `SimulatedPowerCollector` reads.
    public static func setPowerSupply(ok: Bool, in directory: String) throws {
        try makeDirectory(directory)
        try makeDirectory(directory + "/.staging")
        try writeAtomically(directory + "/psu", ok ? "ok\n" : "failed\n", staging: directory + "/.staging")
    }

    private static func writePins(_ pins: [String: PinValue], in directory: String) throws {
        var text = "# Simulated sensor pins: <metric key> <value in the metric's unit, or fault>\n"
        for key in pins.keys.sorted() { text += "\(key) \(pins[key]!)\n" }
        try makeDirectory(directory)
        try makeDirectory(directory + "/.staging")
        try writeAtomically(directory + "/pins", text, staging: directory + "/.staging")
    }

    // MARK: - Small POSIX helpers

    static func readSmallFile(_ path: String) throws -> String {
        try BoundedFileReader(maximumBytes: 64 * 1024).string(at: path)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SimulationError.io(path: path, reason: BoundedFileReader.describe(errno))
        }
    }

    static func symlink(_ target: String, at path: String) throws {
        unlink(path)
        #if canImport(Glibc)
        let result = Glibc.symlink(target, path)
        #elseif canImport(Musl)
        let result = Musl.symlink(target, path)
        #else
        let result = Darwin.symlink(target, path)
        #endif
        if result != 0 { throw SimulationError.io(path: path, reason: BoundedFileReader.describe(errno)) }
    }

    /// Writes a temporary file in `staging` (same filesystem) and renames it over `path`, so a
    /// reader in another process never sees a half-written value.
    static func writeAtomically(_ path: String, _ contents: String, staging: String) throws {
        let temporary = "\(staging)/\(getpid())-\(StagingCounter.shared.next())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw SimulationError.io(path: temporary, reason: BoundedFileReader.describe(errno)) }
        var bytes = Array(contents.utf8)
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written != bytes.count {
            unlink(temporary)
            throw SimulationError.io(path: path, reason: "short write")
        }
        bytes.removeAll()
        if rename(temporary, path) != 0 {
            let reason = BoundedFileReader.describe(errno)
            unlink(temporary)
            throw SimulationError.io(path: path, reason: reason)
        }
    }
}

/// Unique names for staging files within a process.
final class StagingCounter: @unchecked Sendable {
    static let shared = StagingCounter()
    private let lock = PthreadLock()
    private var value: UInt64 = 0

    func next() -> UInt64 {
        lock.withLock {
            value += 1
            return value
        }
    }
}

private func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// Formats a number without a trailing `.0` for whole values, for the pins file.
func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return String(value)
}

extension String {
    func leftPadded(to length: Int, with pad: Character) -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
