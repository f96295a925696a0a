import CMalloc
import ChassisKeys
import Config
import Control
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import Logs
import Metrics
import Model
import NIOCore
import NIOPosix
import Store
import Transport

/// chassis-engine: the only writer of a blade's state directory.
///
///     chassis-engine --config /etc/chassis/blade.toml [--witness]
///
/// With `--witness` it only votes and keeps the log (no metrics, no web): the third member that
/// gives a two-blade chassis its quorum.
setvbuf(stdout, nil, _IOLBF, 0)
setvbuf(stderr, nil, _IOLBF, 0)
// glibc's malloc gave freed memory back to the kernel after each sampling pass and faulted it in
// again at the next (a seventh of the idle engine's CPU time, measured with perf): keep up to
// 8 MB of free memory. Two arenas instead of one per thread keep the resident size down.
mallopt(M_TRIM_THRESHOLD, 8 << 20)
mallopt(M_ARENA_MAX, 2)

/// The command line (swift-argument-parser: `--help`, the man page and shell completions come
/// from this declaration).
struct EngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chassis-engine",
        abstract: "A blade's engine: election, replication, sampling, alerts and notifications.",
        discussion: """
        It elects the chassis' active manager with the other blades, replicates the \
        configuration and every blade's last status, samples this blade's health (libsensors) \
        and performance, raises alerts on thresholds, sends notifications from the active \
        manager, and serves the control socket that chassisctl and chassis-web use. It is the \
        only writer of the blade's databases.

        Under systemd (Type=notify) it says READY once it has joined the chassis (it is the \
        active manager or follows one), shows its role or why no manager is active as its \
        status, and pings the watchdog from its event loop. The log level is CHASSIS_LOG_LEVEL \
        (trace, debug, info, notice, warning, error, critical).

        Exit status: 0 stopped by SIGTERM or SIGINT; 1 a failure while running; 2 a \
        configuration error (the file, the line and the problem are printed; systemd does not \
        restart it); 64 a usage error.
        """)

    @Option(help: ArgumentHelp("The blade's configuration.", discussion: "/etc/chassis/blade.toml when installed.",
                               valueName: "file"))
    var config: String

    @Flag(help: "Only vote and keep the log (no metrics, no web): the third member of a two-blade chassis.")
    var witness = false
}

let command = EngineCommand.parseOrExit()
let configPath = command.config
let witness = command.witness

// A bad file stops the engine with the file, the line and the problem.
let config = BladeConfig.loadOrExit(path: configPath, program: "chassis-engine")

LineLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
var logger = Logger(label: "chassis-engine")
logger[metadataKey: "blade"] = "\(config.blade.name)"

/// A blade joining by naming one member learns the others from it first, and keeps what it
/// learnt in its state directory: when that member is unreachable at a later start, the blade
/// starts from the members it knew (they are still authenticated by the key); on its first start
/// it retries until the member answers (a joining blade has nothing else to do; SIGTERM still
/// stops it).
func learnMembers(_ config: BladeConfig, via: (address: String, port: Int)) -> BladeConfig {
    let saved = URL(fileURLWithPath: config.paths.stateDir + "/members-learnt.json")
    var delay: UInt32 = 500_000
    while true {
        do {
            // join_via requires key_file (the configuration checks it).
            let key = try PeerCodec.loadKey(path: config.cluster.keyFile ?? "")
            let view = try ClusterDiscovery.fetch(address: via.address, port: via.port, clusterKey: key)
            let joined = config.joining(view)
            logger.notice("members learnt", metadata: ["via": "\(via.address):\(via.port)",
                                                       "members": "\(joined.members.map(\.name).joined(separator: ","))"])
            if joined.members.count > 1 {
                try? FileManager.default.createDirectory(atPath: config.paths.stateDir, withIntermediateDirectories: true)
                if let data = try? JSONEncoder().encode(view) {
                    do {
                        try ChassisSecret.writeAtomically(path: saved.path, contents: Array(data), mode: 0o640)
                    } catch {
                        logger.warning("cannot keep the members learnt", metadata: ["error": "\(error)"])
                    }
                }
                return joined
            }
            logger.warning("the member named by join_via listed no other member; asking again")
        } catch {
            logger.warning("cannot learn the members", metadata: ["via": "\(via.address):\(via.port)", "error": "\(error)"])
            if let data = try? Data(contentsOf: saved), let view = try? JSONDecoder().decode(ClusterView.self, from: data) {
                let joined = config.joining(view)
                if joined.members.count > 1 {
                    logger.notice("starting with the members learnt before",
                                  metadata: ["members": "\(joined.members.map(\.name).joined(separator: ","))"])
                    return joined
                }
            }
        }
        usleep(delay)
        delay = min(delay * 2, 5_000_000)
    }
}

do {
    let effective = config.cluster.joinVia.map { learnMembers(config, via: $0) } ?? config
    let service = try EngineService(config: effective, witness: witness, logger: logger)
    try service.run()
} catch let failure as Coordinator.Failure {
    // The store or the log could not take what the protocol requires: systemd starts it again.
    logger.critical("engine stopped", metadata: ["error": "\(failure)"])
    exit(70)
} catch {
    logger.critical("engine stopped", metadata: ["error": "\(error)"])
    exit(1)
}
