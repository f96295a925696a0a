import Access
import Foundation
import Model

/// The Redfish service at `/redfish/v1` (read-only but for sessions): routes in `Route`
/// (`redfishService`, `redfishSessions`, `redfishSession`, `redfishManagers`, `redfishAccounts`,
/// `redfishResource`), each with its rule; documents from `Redfish`.
///
/// Clients log in with `POST /redfish/v1/SessionService/Sessions` (`{"UserName", "Password"}`,
/// the same throttle and audit as every login) and send the `X-Auth-Token` it answers; a bearer
/// token works as well. A session's token cannot be renewed in place: it lasts the idle timeout
/// from its login, and the client logs in again.
extension WebApp {
    static let redfishProduct = "Chassis Manager"

    func redfish(_ exchange: Exchange) throws -> Response {
        let segments = try Route.segments(rawPath: exchange.request.rawPath)
        let path = Array(segments.dropFirst(2))
        if segments == ["redfish"] { return redfishJSON(["v1": Redfish.root + "/"]) }
        let principal = exchange.principal
        let customer = principal?.scope != nil
        switch path.first {
        case nil:
            let snapshot = try current(exchange).snapshot
            return redfishJSON(Redfish.serviceRoot(chassisID: snapshot.chassis.chassisID, product: Self.redfishProduct))
        case "odata":
            return redfishJSON(Redfish.odataService())
        case "$metadata":
            return Response(status: 200, headers: [("Content-Type", "application/xml; charset=utf-8"), ("OData-Version", "4.0"),
                                                   ("Cache-Control", "no-store")], body: Array(Redfish.metadata.utf8))
        case "Chassis":
            return try redfishChassis(Array(path.dropFirst()), exchange: exchange, customer: customer)
        case "Managers":
            let cluster = try exchange.source.cluster()
            let chassisID = try current(exchange).snapshot.chassis.chassisID
            if path.count == 1 { return redfishJSON(Redfish.managerCollection(cluster)) }
            guard path.count == 2, let member = cluster.members.first(where: { $0.name == path[1] && $0.slotID != nil }) else {
                throw HTTPError(404, "no such manager")
            }
            return redfishJSON(Redfish.manager(member, chassisID: chassisID, product: Self.redfishProduct))
        case "SessionService":
            return try redfishSessions(Array(path.dropFirst()), exchange: exchange)
        case "AccountService":
            if path.count == 1 { return redfishJSON(Redfish.accountService()) }
            guard path[1] == "Accounts" else { throw HTTPError(404, "no such resource") }
            let access = try state.snapshot(source: exchange.source)
            if path.count == 2 {
                return redfishJSON(Redfish.collection(Redfish.root + "/AccountService/Accounts", type: "ManagerAccountCollection",
                                                      name: "Accounts", members: access.users.keys.sorted().map {
                                                          Redfish.root + "/AccountService/Accounts/" + $0 }))
            }
            guard path.count == 3, let user = access.users[path[2]] else { throw HTTPError(404, "no such account") }
            var locked = false
            if case .locked = LoginThrottle.verdict(access.loginFailures[LoginFailures.userKey(user.name)], now: now()) { locked = true }
            return redfishJSON(Redfish.account(user, locked: locked))
        default:
            throw HTTPError(404, "no such resource")
        }
    }

    private func redfishChassis(_ path: [String], exchange: Exchange, customer: Bool) throws -> Response {
        let snapshot = try current(exchange).snapshot
        let chassisID = snapshot.chassis.chassisID
        guard let id = path.first else { return redfishJSON(Redfish.chassisCollection(snapshot, customer: customer)) }
        let chassisPath = Redfish.root + "/Chassis/" + id
        // The enclosure and its devices are the staff's; a customer sees its blades only.
        if id == chassisID && !customer {
            switch Array(path.dropFirst()) {
            case []:
                return redfishJSON(Redfish.enclosure(snapshot, cluster: try? exchange.source.cluster()))
            case ["Sensors"]:
                return redfishJSON(Redfish.sensorCollection(chassisPath, metrics: snapshot.chassisMetrics))
            case let rest where rest.count == 2 && rest[0] == "Sensors":
                return try redfishSensor(chassisPath, id: rest[1], metrics: snapshot.chassisMetrics)
            case ["PowerSubsystem"]:
                return redfishJSON(Redfish.powerSubsystem(snapshot))
            case ["ThermalSubsystem"]:
                return redfishJSON(Redfish.thermalSubsystem(snapshot))
            case let rest:
                // The power supplies and the fans: a collection, and a member of it.
                let joined = rest.joined(separator: "/")
                for kind in [Redfish.DeviceKind.powerSupplies, .fans] {
                    if joined == kind.collection { return redfishJSON(Redfish.deviceCollection(snapshot, kind)) }
                    guard rest.count == 3, rest.dropLast().joined(separator: "/") == kind.collection,
                          rest[2].hasPrefix(kind.member) else { continue }
                    let number = Int(rest[2].dropFirst(kind.member.count))
                    let document = number.flatMap { kind == .fans ? Redfish.fan(snapshot, number: $0) : Redfish.powerSupply(snapshot, number: $0) }
                    guard let document else { throw HTTPError(404, kind == .fans ? "no such fan" : "no such power supply") }
                    return redfishJSON(document)
                }
                throw HTTPError(404, "no such resource")
            }
        }
        // A blade: "SlotN", among the slots the caller may see, holding a module.
        guard id.hasPrefix("Slot"), let number = Int(id.dropFirst(4)),
              let slot = snapshot.slots.first(where: { $0.slotID == number && $0.module != nil }) else {
            throw HTTPError(404, "no such chassis")
        }
        switch Array(path.dropFirst()) {
        case []:
            let manager = customer ? nil : (try? exchange.source.cluster())?.members.first { $0.slotID == number }?.name
            return redfishJSON(Redfish.blade(slot, chassisID: chassisID, customer: customer, manager: manager))
        case ["Sensors"]:
            return redfishJSON(Redfish.sensorCollection(chassisPath, metrics: slot.metrics))
        case let rest where rest.count == 2 && rest[0] == "Sensors":
            return try redfishSensor(chassisPath, id: rest[1], metrics: slot.metrics)
        default:
            throw HTTPError(404, "no such resource")
        }
    }

    private func redfishSensor(_ chassisPath: String, id: String, metrics: [MetricValue]) throws -> Response {
        guard let metric = Redfish.sensors(of: metrics).first(where: { Redfish.sensorID($0.descriptor.key) == id }),
              let document = Redfish.sensor(chassisPath, metric: metric) else { throw HTTPError(404, "no such sensor") }
        return redfishJSON(document)
    }

    private func redfishSessions(_ path: [String], exchange: Exchange) throws -> Response {
        let sessions = Redfish.root + "/SessionService/Sessions"
        switch path {
        case []:
            return redfishJSON(Redfish.sessionService(timeoutSeconds: Int(access.policy.idleSeconds)))
        case ["Sessions"] where exchange.request.method == "POST":
            let input = try decode(RedfishLoginInput.self, exchange)
            switch try attemptLogin(user: input.UserName, password: input.Password, exchange: exchange) {
            case .success(let user, let session):
                var response = redfishJSON(Redfish.session(id: session.id, user: user.name), status: 201)
                response.headers.append(("X-Auth-Token", session.encode(key: try state.key(access))))
                response.headers.append(("Location", sessions + "/" + session.id))
                return response
            case .failed:
                throw HTTPError(401, "wrong user name or password")
            case .throttled(let verdict):
                var response = failure(429, Self.throttledMessage(verdict, now: now()), json: true, request: exchange.request)
                response.setHeader("Retry-After", String(Self.retryAfter(verdict, now: now())))
                return response
            }
        case ["Sessions"]:
            // The caller's own session, when it came with one.
            let own = exchange.principal?.session.map { [sessions + "/" + $0.id] } ?? []
            return redfishJSON(Redfish.collection(sessions, type: "SessionCollection", name: "Sessions", members: own))
        case let rest where rest.count == 2 && rest[0] == "Sessions":
            guard let principal = exchange.principal, let session = principal.session, session.id == rest[1] else {
                throw HTTPError(404, "no such session (a caller sees its own)")
            }
            if exchange.request.method == "DELETE" {
                try endSession(exchange)
                return Response(status: 204, headers: [("OData-Version", "4.0"), ("Cache-Control", "no-store")])
            }
            return redfishJSON(Redfish.session(id: session.id, user: principal.user))
        default:
            throw HTTPError(404, "no such resource")
        }
    }

    func redfishJSON(_ document: Redfish.Document, status: Int = 200) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]))
            .map { Array($0) } ?? Array("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8"), ("OData-Version", "4.0"),
                                                  ("Cache-Control", "no-store")], body: body)
    }
}

/// Redfish's login body: its property names are Redfish's.
struct RedfishLoginInput: Decodable {
    var UserName: String
    var Password: String
}
