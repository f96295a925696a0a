import Access
import ArgumentParser
import Config
import Control
import Foundation
import Model
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Users, API tokens, login locks and the audit log from the blade's console. Passwords are read
/// from standard input (never an argument, which any local user could read from /proc) and
/// hashed here; only the hash goes to the engine.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Local users: add, list, remove, change password or role, lift a login lock.",
        subcommands: [Add.self, List.self, Remove.self, Passwd.self, Role.self, Unlock.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; the password is read from standard input.")
        @OptionGroup var target: BladeOptions
        @Argument(help: "The user's name.") var name: String
        @Option(help: "admin, operator, viewer or customer.") var role: String
        @Option(help: "A customer's slots: 2,3.") var slots: String?
        @Option(help: "A customer's chassis ID (default: the chassis it logs in to).") var chassis: String?
        @Flag(help: "Read the password from standard input (the only way to give it).") var passwordStdin = false

        func run() throws {
            let config = try target.load()
            guard let parsedRole = Model.Role(rawValue: role) else { throw ValidationError("role must be admin, operator, viewer or customer") }
            let scope = try AccessCommands.scope(role: parsedRole, slots: slots, chassis: chassis)
            let hash = try AccessCommands.hashedPassword(from: passwordStdin)
            try AccessCommands.send(.addUser(name: name, role: parsedRole, scope: scope, passwordHash: hash), config)
            print("user \(name) added (\(role)\(scope.map { ", slots \($0.text)" } ?? ""))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users with their roles, scopes and tokens.")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let access = try AccessCommands.reader(try target.load()).access()
            let users = access.users.values.sorted { ($0.role, $0.name) < ($1.role, $1.name) }
            if json {
                let rows = users.map { user in
                    ["name": user.name, "role": user.role.rawValue, "slots": user.scope?.text ?? "",
                     "tokens": String(access.tokens.values.filter { $0.user == user.name }.count)]
                }
                return try printJSON(rows)
            }
            let now = Date().timeIntervalSince1970
            for user in users {
                let tokens = access.tokens.values.filter { $0.user == user.name }.count
                var line = "\(user.name)\t\(user.role.rawValue)"
                if let scope = user.scope { line += "\tslots \(scope.text)" }
                if tokens > 0 { line += "\t\(tokens) token\(tokens == 1 ? "" : "s")" }
                if case .locked(let until) = LoginThrottle.verdict(access.loginFailures[LoginFailures.userKey(user.name)], now: now) {
                    line += "\tlocked until \(Format.time(until))"
                }
                print(line)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user, its tokens and its sessions.")
        @OptionGroup var target: BladeOptions
        @Argument var name: String

        func run() throws {
            try AccessCommands.send(.removeUser(name: name), try target.load())
            print("user \(name) removed")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password (from standard input); ends its sessions.")
        @OptionGroup var target: BladeOptions
        @Argument var name: String
        @Flag(help: "Read the password from standard input.") var passwordStdin = false

        func run() throws {
            let config = try target.load()
            let hash = try AccessCommands.hashedPassword(from: passwordStdin)
            try AccessCommands.send(.updateUser(name: name, role: nil, scope: nil, passwordHash: hash), config)
            print("password of \(name) changed")
        }
    }

    struct Role: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's role (and a customer's slots); ends its sessions.")
        @OptionGroup var target: BladeOptions
        @Argument var name: String
        @Argument(help: "admin, operator, viewer or customer.") var role: String
        @Option(help: "A customer's slots: 2,3.") var slots: String?
        @Option(help: "A customer's chassis ID.") var chassis: String?

        func run() throws {
            guard let parsedRole = Model.Role(rawValue: role) else { throw ValidationError("role must be admin, operator, viewer or customer") }
            let scope = try AccessCommands.scope(role: parsedRole, slots: slots, chassis: chassis)
            try AccessCommands.send(.updateUser(name: name, role: parsedRole, scope: scope, passwordHash: nil), try target.load())
            print("\(name) is now \(role)")
        }
    }

    struct Unlock: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift the login lock of a user or a client address.")
        @OptionGroup var target: BladeOptions
        @Option var user: String?
        @Option var address: String?

        func run() throws {
            try AccessCommands.send(.liftLoginLock(user: user, address: address), try target.load())
            print("lock lifted")
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API tokens for scripts and Prometheus (Authorization: Bearer …).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a user and print it (once).")
        @OptionGroup var target: BladeOptions
        @Argument(help: "The user the token acts as.") var user: String
        @Option(help: "What the token is for.") var label: String = ""
        @Option(help: "Days until it expires (default: never).") var expiresDays: Int?

        func run() throws {
            let config = try target.load()
            var random = SystemRandomNumberGenerator()
            let minted = APIToken.mint(using: &random)
            let expiresAt = expiresDays.map { Date().timeIntervalSince1970 + Double($0) * 86_400 }
            try AccessCommands.send(.createToken(id: minted.id, user: user, label: label, secretHash: minted.secretHash,
                                                 expiresAt: expiresAt), config)
            print(minted.text)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (never their secrets).")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let access = try AccessCommands.reader(try target.load()).access()
            let tokens = access.tokens.values.sorted(by: { $0.createdAt < $1.createdAt })
            if json {
                return try printJSON(tokens.map { token in
                    ["id": token.id, "user": token.user, "label": token.label, "createdAt": Format.time(token.createdAt),
                     "expiresAt": token.expiresAt.map(Format.time) ?? ""]
                })
            }
            for token in tokens {
                print("\(token.id)\t\(token.user)\t\(token.label)\tcreated \(Format.time(token.createdAt))\t"
                      + (token.expiresAt.map { "expires \(Format.time($0))" } ?? "never expires"))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
        @OptionGroup var target: BladeOptions
        @Argument var id: String

        func run() throws {
            try AccessCommands.send(.revokeToken(id: id), try target.load())
            print("token \(id) revoked")
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The audit log, newest first.")
    @OptionGroup var target: BladeOptions
    @Option var actor: String?
    @Option(help: "An action (user.add) or a family (user).") var action: String?
    @Option(help: "Unix seconds.") var since: Double?
    @Option var limit: Int = 100
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let records = try AccessCommands.reader(try target.load())
            .audit(filter: AuditFilter(actor: actor, action: action, since: since), limit: limit)
        if json {
            return try printJSON(records)
        }
        for record in records {
            print([Format.time(record.at), record.actor, record.role.isEmpty ? "-" : record.role, record.address, record.action,
                   record.target, record.old.map { "old \($0)" } ?? "", record.new.map { "new \($0)" } ?? ""]
                .filter { !$0.isEmpty }.joined(separator: "\t"))
        }
    }
}

enum AccessCommands {
    static func reader(_ config: BladeConfig) -> StoreReader {
        StoreReader(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase,
                    staleAfterSeconds: config.web.staleAfterSeconds)
    }

    /// Who is at the console: the login user's name and uid.
    static var actor: Actor {
        let uid = getuid()
        let name = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(uid)"
        return Actor(user: name, role: nil, address: "console uid \(uid)", via: "chassisctl")
    }

    @discardableResult
    static func send(_ request: ControlRequest, _ config: BladeConfig) throws -> ControlResponse {
        if let problem = ControlValidation.problem(in: request) { throw ValidationError(problem) }
        let response = try ControlClient(socketPath: config.paths.controlSocket).send(request, actor: actor)
        try check(response)
        return response
    }

    static func scope(role: Model.Role, slots: String?, chassis: String?) throws -> AccessScope? {
        guard role == .customer else {
            if slots != nil || chassis != nil { throw ValidationError("only customers have slots") }
            return nil
        }
        guard let slots else { throw ValidationError("a customer needs --slots, like --slots 2,3") }
        let numbers = try slots.split(separator: ",").map { part -> Int in
            guard let slot = Int(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--slots must be numbers like 2,3") }
            return slot
        }
        return AccessScope(chassisID: chassis, slots: numbers)
    }

    /// Reads one line from standard input and hashes it.
    static func hashedPassword(from standardInput: Bool) throws -> String {
        guard standardInput else { throw ValidationError("give the password on standard input with --password-stdin") }
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
        if let problem = PasswordHash.problem(withNewPassword: line) { throw ValidationError(problem) }
        return try PasswordHash.make(password: line)
    }
}
