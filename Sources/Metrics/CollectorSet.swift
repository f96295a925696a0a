import Model
import Plumbing

/// What the engine's configuration decides about sampling on this blade.
public struct CollectorSettings: Sendable, Equatable {
    public var procRoot: String
    public var sysRoot: String
    /// Configured chassis and slot IDs (sticky: they belong to the slot, not the module).
    public var chassisID: String
    public var slotID: String
    /// Serial, model, revision, manufacturer to use where DMI has none.
    public var configuredIdentity: ConfiguredIdentity
    /// A `SimulatedHardware` directory for a simulated blade; nil on real hardware.
    public var simulatedDirectory: String?
    /// Seed of the simulated blade's drift and generated identity.
    public var simulationSeed: UInt64
    /// Whether to open libsensors at all (a witness or a host without it turns it off).
    public var sensorsEnabled: Bool
    /// A sensors.conf instead of the system's; nil for the system's.
    public var sensorsConfigPath: String?
    /// The file in which the engine notes when this blade's HTTPS certificate expires.
    public var certificateExpiryPath: String? = nil
    /// Unix seconds now (the certificate's expiry is a wall-clock time).
    public var wallClock: @Sendable () -> Double = { 0 }
    /// The mount points the filesystem collector watches besides its defaults' choice.
    public var filesystems = FilesystemSelection()

    public static func == (a: CollectorSettings, b: CollectorSettings) -> Bool {
        a.procRoot == b.procRoot && a.sysRoot == b.sysRoot && a.chassisID == b.chassisID && a.slotID == b.slotID
            && a.configuredIdentity == b.configuredIdentity && a.simulatedDirectory == b.simulatedDirectory
            && a.simulationSeed == b.simulationSeed && a.sensorsEnabled == b.sensorsEnabled
            && a.sensorsConfigPath == b.sensorsConfigPath && a.certificateExpiryPath == b.certificateExpiryPath
            && a.filesystems == b.filesystems
    }

    public init(procRoot: String = "/proc", sysRoot: String = "/sys", chassisID: String, slotID: String,
                configuredIdentity: ConfiguredIdentity = ConfiguredIdentity(), simulatedDirectory: String? = nil,
                simulationSeed: UInt64 = 1, sensorsEnabled: Bool = true, sensorsConfigPath: String? = nil) {
        self.procRoot = procRoot
        self.sysRoot = sysRoot
        self.chassisID = chassisID
        self.slotID = slotID
        self.configuredIdentity = configuredIdentity
        self.simulatedDirectory = simulatedDirectory
        self.simulationSeed = simulationSeed
        self.sensorsEnabled = sensorsEnabled
        self.sensorsConfigPath = sensorsConfigPath
    }
}

/// How one collector fared in one sample (node_exporter's scrape duration and success).
public struct CollectorOutcome: Sendable, Equatable {
    public var collector: String
    public var durationSeconds: Double
    public var succeeded: Bool
    /// Why the whole collector failed, when it did.
    public var error: String?
}

/// One group's sample: the collectors' readings followed by two readings per collector,
/// `collector.<name>.duration_seconds` and `collector.<name>.success` (local replication).
public struct GroupSample: Sendable {
    public var group: SamplingGroup
    public var readings: [Reading]
    public var outcomes: [CollectorOutcome]
}

/// The collectors of one blade, sampled group by group.
///
/// `CollectorSet(settings:)` builds the defaults: CPU, memory, filesystems, disk IO, network,
/// load, uptime, libsensors, identification, and on a simulated blade the simulated power
/// supply, with the simulation stepped (at the last measured CPU load) before every sensors
/// sample. `sample(_:)` is safe to call from several threads; calls are serialised.
public final class CollectorSet: @unchecked Sendable {
    public let collectors: [Collector]
    /// The simulated blade's hardware, when there is one.
    public let simulator: SimulatedHardware?
    /// The libsensors owner, when it opened.
    public let sensorsLibrary: SensorsLibrary?
    /// Problems met while building the set (libsensors failing to open, a bad simulation directory).
    public let setupErrors: [String]
    private let clock: () -> Double
    private let lock = PthreadLock()
    private var lastCPUPercent: Double = 0
    private var lastSimulationStep: Double?
    private var healthDescriptors = DescriptorCache()

    /// Wraps given collectors (tests, or an engine with its own choice).
    public init(collectors: [Collector], simulator: SimulatedHardware? = nil, sensorsLibrary: SensorsLibrary? = nil,
                setupErrors: [String] = [], clock: @escaping () -> Double = HostClock.system.monotonicSeconds) {
        self.collectors = collectors
        self.simulator = simulator
        self.sensorsLibrary = sensorsLibrary
        self.setupErrors = setupErrors
        self.clock = clock
    }

    /// Builds the default collectors from settings. Never throws: a part that cannot start is
    /// reported in `setupErrors` and, for libsensors, as a collector that always fails, so that
    /// `collector.libsensors.success` shows 0.
    public convenience init(settings: CollectorSettings, clock: @escaping () -> Double = HostClock.system.monotonicSeconds) {
        var errors: [String] = []
        var collectors: [Collector] = [
            CPUCollector(procRoot: settings.procRoot),
            MemoryCollector(procRoot: settings.procRoot),
            FilesystemCollector(procRoot: settings.procRoot, selection: settings.filesystems),
            DiskIOCollector(procRoot: settings.procRoot, clock: clock),
            NetworkCollector(procRoot: settings.procRoot, clock: clock),
            LoadAverageCollector(procRoot: settings.procRoot),
            UptimeCollector(procRoot: settings.procRoot),
        ]
        if let path = settings.certificateExpiryPath {
            collectors.append(CertificateExpiryCollector(path: path, clock: settings.wallClock))
        }
        var simulator: SimulatedHardware?
        var classRoot: String?
        if let directory = settings.simulatedDirectory {
            var identity = SimulatedHardware.Identity.generated(seed: settings.simulationSeed)
            let configured = settings.configuredIdentity
            if let serial = configured.serial { identity.serial = serial }
            if let model = configured.model { identity.model = model }
            if let revision = configured.revision { identity.revision = revision }
            if let manufacturer = configured.manufacturer { identity.manufacturer = manufacturer }
            do {
                simulator = try SimulatedHardware(directory: directory, seed: settings.simulationSeed,
                                                  identity: identity)
            } catch {
                errors.append("simulated hardware in \(directory): \(error)")
            }
            classRoot = directory + "/class"
            if settings.sensorsEnabled && !SimulatedHardware.isBoundOverSysClass(directory: directory) {
                errors.append("simulated hardware in \(directory) is not bound over /sys/class: libsensors reads "
                              + "the host's sensors; run under unshare -m (see SimulatedHardware)")
            }
            collectors.append(SimulatedPowerCollector(directory: directory))
        }
        var library: SensorsLibrary?
        if settings.sensorsEnabled {
            do {
                library = try SensorsLibrary(configPath: settings.sensorsConfigPath)
                collectors.append(SensorsCollector(library: library!))
            } catch {
                errors.append("libsensors: \(error)")
                collectors.append(FailedCollector(name: "libsensors", group: .sensors, reason: "\(error)"))
            }
        }
        collectors.append(IdentificationCollector(chassisID: settings.chassisID, slotID: settings.slotID,
                                                  sysRoot: settings.sysRoot, classRoot: classRoot,
                                                  configured: settings.configuredIdentity))
        self.init(collectors: collectors, simulator: simulator, sensorsLibrary: library,
                  setupErrors: errors, clock: clock)
    }

    /// The groups that have at least one collector, in `SamplingGroup` order.
    public var groups: [SamplingGroup] {
        SamplingGroup.allCases.filter { group in collectors.contains { $0.group == group } }
    }

    /// Samples every collector of `group`. A collector that throws contributes no readings and
    /// a success of 0; the others are unaffected.
    public func sample(_ group: SamplingGroup) -> GroupSample {
        lock.withLock {
            var readings: [Reading] = []
            var outcomes: [CollectorOutcome] = []
            if group == .sensors, let simulator { stepSimulation(simulator) }
            for collector in collectors where collector.group == group {
                let start = clock()
                var outcome = CollectorOutcome(collector: collector.name, durationSeconds: 0, succeeded: true)
                do {
                    let collected = try collector.collect()
                    readings.append(contentsOf: collected)
                    if group == .cpu, let total = collected.first(where: { $0.descriptor.key == "cpu.total.utilisation" }),
                       let value = total.value {
                        lastCPUPercent = value
                    }
                } catch {
                    outcome.succeeded = false
                    outcome.error = String(describing: error)
                }
                outcome.durationSeconds = max(0, clock() - start)
                outcomes.append(outcome)
                readings.append(contentsOf: healthReadings(outcome, group: group))
            }
            return GroupSample(group: group, readings: readings, outcomes: outcomes)
        }
    }

    private func stepSimulation(_ simulator: SimulatedHardware) {
        let now = clock()
        let elapsed = lastSimulationStep.map { now - $0 } ?? 0
        lastSimulationStep = now
        // A failed write shows up as stale or faulty sensor readings; nothing else to do here.
        try? simulator.step(cpuLoadPercent: lastCPUPercent, elapsedSeconds: elapsed)
    }

    private func healthReadings(_ outcome: CollectorOutcome, group: SamplingGroup) -> [Reading] {
        let name = outcome.collector
        let duration = healthDescriptors.descriptor("collector.\(name).duration_seconds") {
            MetricDescriptor(key: "collector.\(name).duration_seconds", label: "Collector \(name) duration",
                             metricClass: .performance, unit: "seconds", source: name, replication: .local,
                             group: group, component: "collectors",
                             prometheusName: "chassis_collector_duration_seconds",
                             prometheusLabels: ["collector": name])
        }
        let success = healthDescriptors.descriptor("collector.\(name).success") {
            MetricDescriptor(key: "collector.\(name).success", label: "Collector \(name) success",
                             metricClass: .performance, unit: "state", source: name, replication: .local,
                             group: group, component: "collectors",
                             prometheusName: "chassis_collector_success",
                             prometheusLabels: ["collector": name])
        }
        return [Reading(descriptor: duration, value: outcome.durationSeconds),
                Reading(descriptor: success, value: outcome.succeeded ? 1 : 0)]
    }
}

/// Stands in for a collector that could not start, so that its failure is a metric.
public final class FailedCollector: Collector {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let name: String
    public let group: SamplingGroup
    public let reason: String

    public init(name: String, group: SamplingGroup, reason: String) {
        self.name = name
        self.group = group
        self.reason = reason
    }

    public func collect() throws -> [Reading] {
        throw Failure(description: reason)
    }
}
