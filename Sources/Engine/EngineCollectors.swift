import Config
import Logging
import Metrics

/// Builds this blade's collectors from its configuration.
enum EngineCollectors {
    static func make(config: BladeConfig, simulated: SimulatedHardware?, logger: Logger) -> [Collector] {
        let proc = config.hardware.procRoot
        var collectors: [Collector] = [
            CPUCollector(procRoot: proc),
            MemoryCollector(procRoot: proc),
            FilesystemCollector(procRoot: proc),
            DiskIOCollector(procRoot: proc),
            NetworkCollector(procRoot: proc),
            LoadAverageCollector(procRoot: proc),
            UptimeCollector(procRoot: proc),
        ]
        do {
            collectors.append(SensorsCollector(library: try SensorsLibrary()))
        } catch {
            logger.warning("no hardware sensors", metadata: ["error": "\(error)"])
        }
        if let simulated {
            collectors.append(SimulatedPowerCollector(directory: simulated.directory))
        }
        return collectors
    }
}
