import Config
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Metrics
import Store
import Plumbing

/// Builds this blade's collectors from its configuration.
enum EngineCollectors {
    static func make(config: BladeConfig, clock: HostClock) -> CollectorSet {
        let hardware = config.hardware
        var identity = ConfiguredIdentity(serial: hardware.serial.isEmpty ? nil : hardware.serial,
                                          model: hardware.model.isEmpty ? nil : hardware.model,
                                          revision: hardware.revision.isEmpty ? nil : hardware.revision,
                                          manufacturer: hardware.manufacturer.isEmpty ? nil : hardware.manufacturer)
        if let directory = hardware.simulatedDir, let serial = replacedModuleSerial(in: directory) {
            identity.serial = serial
        }
        var settings = CollectorSettings(
            procRoot: hardware.procRoot, sysRoot: hardware.sysRoot, chassisID: config.chassis.id,
            slotID: String(config.blade.slot), configuredIdentity: identity, simulatedDirectory: hardware.simulatedDir,
            // Each simulated blade drifts differently, and the same way on every run.
            simulationSeed: UInt64(config.blade.slot) &* 7_919 &+ 17)
        settings.certificateExpiryPath = config.paths.certificateNotAfter
        settings.filesystems = FilesystemSelection(include: hardware.filesystemsInclude, exclude: hardware.filesystemsExclude)
        settings.wallClock = clock.wallSeconds
        return CollectorSet(settings: settings, clock: clock.monotonicSeconds)
    }

    /// The serial number of a simulated module that replaced the original (`chassisctl demo
    /// replace` writes it, as a new module brings its own serial in DMI).
    static func replacedModuleSerial(in directory: String) -> String? {
        guard let text = try? String(contentsOfFile: directory + "/module-serial", encoding: .utf8) else { return nil }
        let serial = text.trimmedWhitespace
        return serial.isEmpty ? nil : serial
    }
}
