@preconcurrency import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Access
import CMalloc
import Config
import Control
import Web
import Logging
import Logs
import ArgumentParser

/// chassis-web: the FastCGI application behind nginx.
///
///     chassis-web --config PATH [--socket PATH]
///
/// Reads the blade's configuration, loads the templates, listens on the FastCGI unix socket
/// (`paths.web_socket`, or `--socket`) with `web.threads` workers, and stops on SIGTERM or SIGINT.

// Logs reach the supervisor's file line by line, not at exit.
setvbuf(stdout, nil, _IOLBF, 0)
setvbuf(stderr, nil, _IONBF, 0)
// glibc gives each thread its own malloc arena, and each kept what its last large answer freed
// (a 16-blade chassis document is 417 KB): two arenas for all.
mallopt(M_ARENA_MAX, 2)

LineLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
let logger = Logger(label: "chassis-web")

/// The command line (swift-argument-parser: `--help`, the man page and shell completions come
/// from this declaration).
struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chassis-web",
        abstract: "The chassis' web application: a FastCGI responder behind nginx.",
        discussion: """
        It answers the pages and /api/v1 from the engine's databases (read-only) and sends \
        changes to the engine's control socket; on a blade that is not the active manager it \
        redirects to the one that is. Its FastCGI socket is mode 0660 with the runtime \
        directory's group (nginx's).

        Exit status: 0 stopped by SIGTERM or SIGINT; 1 a failure at start; 2 a configuration \
        error; 64 a usage error.
        """)

    @Option(help: ArgumentHelp("The blade's configuration.", discussion: "/etc/chassis/blade.toml when installed.",
                               valueName: "file"))
    var config: String

    @Option(help: ArgumentHelp("The FastCGI socket.", discussion: "Default: web.sock in the configuration's runtime_dir.",
                               valueName: "path"))
    var socket: String?
}

let command = WebCommand.parseOrExit()
let configPath = command.config
let socketOverride = command.socket

let config = BladeConfig.loadOrExit(path: configPath, program: "chassis-web")

let templates: TemplateSet
do {
    templates = try TemplateSet.load(directory: config.web.templatesDir)
} catch {
    FileHandle.standardError.write(Data("chassis-web: \(error)\n".utf8))
    exit(1)
}

let limits = WebLimits(requestBodyBytesMax: config.web.requestBodyBytesMax, staleAfterSeconds: config.web.staleAfterSeconds)
// The session key is written by the engine (derived from the cluster key); read when first needed.
let access = AccessSettings(
    policy: SessionPolicy(idleSeconds: Int64(config.access.sessionIdleSeconds),
                          lifetimeSeconds: Int64(config.access.sessionLifetimeSeconds)),
    hostNames: config.access.names,
    memberAddresses: Array(Set(config.members.map(\.address) + [config.blade.address])),
    httpsPort: config.access.httpsPort, httpPort: config.web.port,
    metricsAnonymousNetworks: config.access.metricsAnonymousNetworks,
    loadKey: { try WebKey.load(path: config.paths.webKey) })
// The other chassis of the site, when the configuration lists any (the key is the engine's site.key).
let site = config.site.chassis.isEmpty ? nil
    : SiteBoard(chassisID: config.chassis.id, siteName: config.site.name.isEmpty ? config.chassis.site : config.site.name,
                chassis: config.site.chassis, loadKeys: { try SiteKeys.load(path: config.paths.siteKey) })
let app = WebApp(templates: templates, limits: limits, control: ControlClient(socketPath: config.paths.controlSocket),
                 access: access, defaultIntervalsMs: config.intervalsMs, site: site)
let socketPath = socketOverride ?? config.paths.webSocket

// Signals are taken by sigwait below, never by a handler on a worker thread; a closed nginx
// connection must not kill the process with SIGPIPE.
signal(SIGPIPE, SIG_IGN)
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

let server = FastCGIServer(socketPath: socketPath, threads: max(1, config.web.threads), app: app,
                           makeSource: { try makeStateSource(config) }, logger: logger)
do {
    try server.start()
} catch {
    FileHandle.standardError.write(Data("chassis-web: \(error)\n".utf8))
    exit(1)
}
let sitePoller = site.map { SitePoller(board: $0, settings: config.site, makeSource: { try makeStateSource(config) }, logger: logger) }
sitePoller?.start()
logger.notice("listening", metadata: ["blade": "\(config.blade.name)", "socket": "\(socketPath)",
                             "threads": "\(max(1, config.web.threads))", "templates": "\(config.web.templatesDir)"])

var received: Int32 = 0
sigwait(&stopSignals, &received)
logger.notice("stopping", metadata: ["signal": "\(received)"])
sitePoller?.stop()
server.stop()
logger.notice("stopped")
exit(0)
