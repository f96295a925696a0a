import ArgumentParser
import Config
import Control
import Foundation
import Model
import Store

/// `chassisctl notify`: where the active manager sends word of alerts, and the chassis' event log.
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Where notifications go (Alertmanager, syslog, email, hooks).",
        subcommands: [Show.self, Set.self, Test.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the targets as JSON (passwords never shown).")
        @OptionGroup var target: BladeOptions

        func run() throws {
            let reader = AccessCommands.reader(try target.load())
            guard let text = try reader.setting("notifications") else { return print("{}") }
            let targets = try JSONDecoder().decode(NotificationTargets.self, from: Data(text.utf8))
            try printJSON(targets.withoutSecrets)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the targets with a JSON file's (- for standard input).",
            discussion: """
                The object has the lists alertmanager, syslog, email and hooks, as GET /api/v1/notifications \
                shows them. An email target's password is sealed by the engine before it is replicated; leave it \
                out to keep the one already set for the same server and username.
                """)
        @OptionGroup var target: BladeOptions
        @Argument(help: "A JSON file, or - for standard input.") var file: String

        func run() throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            guard data.count <= 32 * 1024 else { throw ValidationError("the targets are longer than 32 KiB") }
            let targets: NotificationTargets
            do { targets = try JSONDecoder().decode(NotificationTargets.self, from: data) } catch {
                throw ValidationError("the targets are not valid: \(error)")
            }
            try AccessCommands.send(.setNotifications(targets), try target.load())
            print("notification targets set: \(targets.ids.count)")
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a test to every target now (on the active manager).")
        @OptionGroup var target: BladeOptions

        func run() throws {
            let config = try target.load()
            let response = try ControlClient(socketPath: config.paths.controlSocket).send(.testNotifications, actor: AccessCommands.actor)
            for line in response.report ?? [] { print(line) }
            try check(response)
        }
    }
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "The event log, newest first.")
    @OptionGroup var target: BladeOptions
    @Option(help: "A kind (alert.raised) or a family (alert).") var kind: String?
    @Option(help: "The least severity: info, warning or critical.") var severity: EventSeverity?
    @Option(help: "Unix seconds.") var since: Double?
    @Option var limit: Int = 100
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let events = try AccessCommands.reader(try target.load())
            .eventLog(filter: EventFilter(minimumSeverity: severity, kind: kind, since: since), limit: limit)
        if json { return try printJSON(events) }
        for event in events {
            print([Format.time(event.at), event.kind.rawValue, event.severity.rawValue,
                   event.slotID.map { "slot \($0)" } ?? "chassis", event.message].joined(separator: "\t"))
        }
    }
}

extension EventSeverity: ExpressibleByArgument {}
