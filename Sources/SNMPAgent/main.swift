@preconcurrency import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import ArgumentParser
import Config
import Logging
import Logs

/// chassis-snmp: the chassis' AgentX subagent of snmpd.
///
///     chassis-snmp --config PATH

setvbuf(stdout, nil, _IOLBF, 0)
setvbuf(stderr, nil, _IONBF, 0)
LineLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
let logger = Logger(label: "chassis-snmp")

struct SNMPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chassis-snmp",
        abstract: "The chassis' SNMP subagent (AgentX) of Debian's snmpd.",
        discussion: """
        It connects to snmpd's AgentX socket ([snmp] agentx_socket) and answers ENTITY-MIB, \
        ENTITY-SENSOR-MIB and CHASSIS-MANAGER-MIB from the blade's store (read-only): the whole \
        chassis in the default context, and a customer's own slots in a context named after the \
        customer. On the active manager it sends notifications (alerts raised and cleared, a new \
        active manager) through snmpd. It connects again whenever snmpd restarts.

        Exit status: 0 stopped by SIGTERM or SIGINT, or SNMP not enabled; 2 a configuration \
        error; 64 a usage error.
        """)

    @Option(help: ArgumentHelp("The blade's configuration.", discussion: "/etc/chassis/blade.toml when installed.",
                               valueName: "file"))
    var config: String
}

let command = SNMPCommand.parseOrExit()
let config = BladeConfig.loadOrExit(path: command.config, program: "chassis-snmp")
guard config.snmp.enabled else {
    logger.notice("SNMP is not enabled in \(command.config) ([snmp] enabled = true); nothing to do")
    exit(0)
}

nonisolated(unsafe) var stopRequested: sig_atomic_t = 0
signal(SIGTERM) { _ in stopRequested = 1 }
signal(SIGINT) { _ in stopRequested = 1 }
signal(SIGPIPE, SIG_IGN)

logger.info("chassis-snmp starting: AgentX socket \(config.snmp.agentxSocket), store \(config.paths.stateDir)")
let subagent = Subagent(config: config, logger: logger)
subagent.run(stop: { stopRequested != 0 })
logger.info("chassis-snmp stopped")
