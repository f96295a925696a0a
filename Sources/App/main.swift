@preconcurrency import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Access
import CMalloc
import Config
import Control
import Web

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

let log: @Sendable (String) -> Void = { message in
    print("chassis-web: " + message)
}

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: chassis-web --config PATH [--socket PATH]\n".utf8))
    exit(2)
}

func help() -> Never {
    print("""
    chassis-web: the chassis' web application, a FastCGI responder behind nginx. It answers the
    pages and /api/v1 from the engine's databases (read-only) and sends changes to the engine's
    control socket; on a blade that is not the active manager it redirects to the one that is.

    usage: chassis-web --config PATH [--socket PATH]

      --config PATH  the blade's configuration (/etc/chassis/blade.toml when installed)
      --socket PATH  the FastCGI socket (default: web.sock in the configuration's runtime_dir)
      -h, --help     this text

    Exit status: 0 stopped by SIGTERM or SIGINT, 1 a failure at start, 2 a usage or
    configuration error.
    """)
    exit(0)
}

var configPath: String?
var socketOverride: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--config":
        guard let value = arguments.popFirst() else { usage() }
        configPath = value
    case "--socket":
        guard let value = arguments.popFirst() else { usage() }
        socketOverride = value
    case "--help", "-h": help()
    default:
        FileHandle.standardError.write(Data("chassis-web: unknown argument \(argument)\n".utf8))
        usage()
    }
}
guard let configPath else { usage() }

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
let app = WebApp(templates: templates, limits: limits, control: ControlClient(socketPath: config.paths.controlSocket),
                 access: access, defaultIntervalsMs: config.intervalsMs)
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
                           makeSource: { try makeStateSource(config) }, log: log)
do {
    try server.start()
} catch {
    FileHandle.standardError.write(Data("chassis-web: \(error)\n".utf8))
    exit(1)
}
log("blade \(config.blade.name) listening on \(socketPath) with \(max(1, config.web.threads)) threads, templates \(config.web.templatesDir)")

var received: Int32 = 0
sigwait(&stopSignals, &received)
log("signal \(received): stopping")
server.stop()
log("stopped")
exit(0)
