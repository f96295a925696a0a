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
        @Flag(help: "JSON (the only form; accepted for scripts that pass it to every listing).") var json = false

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

/// `chassisctl maintenance`: windows in which a slot's (or the chassis') alerts are held.
struct MaintenanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance", abstract: "Maintenance windows: alerts shown, their notifications held.",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Windows that have not ended.")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let windows = try AccessCommands.reader(try target.load()).snapshot().maintenance ?? []
            if json { return try printJSON(windows) }
            for window in windows {
                print([String(window.id), window.slotID.map { "slot \($0)" } ?? "chassis", Format.time(window.startsAt),
                       Format.time(window.endsAt), window.createdBy, window.reason].joined(separator: "\t"))
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedule a window from now.")
        @OptionGroup var target: BladeOptions
        @Option(help: "The slot; the whole chassis when left out.") var slot: Int?
        @Option(help: "How long, in minutes (at most a week).") var minutes: Int
        @Option(help: "Why.") var reason: String

        func run() throws {
            let start = Date().timeIntervalSince1970
            let request = ControlRequest.addMaintenance(slotID: slot, startsAt: start, endsAt: start + Double(minutes) * 60,
                                                        reason: reason, by: AccessCommands.actor.user)
            try AccessCommands.send(request, try target.load())
            print("maintenance scheduled for \(minutes) min on \(slot.map { "slot \($0)" } ?? "the whole chassis")")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a window (or end it now).")
        @OptionGroup var target: BladeOptions
        @Argument var id: Int64

        func run() throws {
            try AccessCommands.send(.removeMaintenance(id: id), try target.load())
            print("maintenance \(id) cancelled")
        }
    }
}
