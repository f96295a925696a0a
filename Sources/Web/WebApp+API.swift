import Foundation
import Access
import Control
import Model

extension WebApp {
    /// Finds a slot in the snapshot: `404` for another chassis or a slot it does not have,
    /// `400` for a slot that is not a number.
    func slot(_ current: Current, chassisID: String, slot: String) throws -> SlotView {
        guard chassisID == current.snapshot.chassis.chassisID else {
            throw HTTPError(404, "no chassis \"\(chassisID)\" here")
        }
        let slotID = try slotNumber(slot)
        guard let view = current.snapshot.slots.first(where: { $0.slotID == slotID }) else {
            throw HTTPError(404, "chassis \(chassisID) has no slot \(slotID)")
        }
        return view
    }

    func slotNumber(_ text: String) throws -> Int {
        guard !text.isEmpty, text.utf8.count <= 4, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
            throw HTTPError(400, "slot must be a number, not \"\(text)\"")
        }
        return value
    }

    func apiChassis(_ exchange: Exchange) throws -> Response {
        let current = try current(exchange)
        return try polledJSON(exchange, current: current) {
            try JSON.encode(ChassisDocument(snapshot: current.snapshot, stale: current.stale))
        }
    }

    func apiSlot(_ exchange: Exchange, chassisID: String, slot slotText: String) throws -> Response {
        let current = try current(exchange)
        let slot = try slot(current, chassisID: chassisID, slot: slotText)
        return try polledJSON(exchange, current: current) {
            try JSON.encode(SlotDocument(chassisID: chassisID, dataVersion: current.snapshot.dataVersion, stale: current.stale,
                                         staleSince: current.staleSince, slot: slot,
                                         newAlerts: ViewBuilder.newAlerts(current.snapshot.alerts)))
        }
    }

    func apiHistory(_ exchange: Exchange, chassisID: String, slot slotText: String) throws -> Response {
        let current = try current(exchange)
        let slotID: Int
        let metrics: [MetricValue]
        // Slot 0 is the chassis's own devices (power supplies, chassis fans): staff only.
        if slotText == "0" && chassisID == current.snapshot.chassis.chassisID && scope(exchange) == nil {
            slotID = 0
            metrics = current.snapshot.chassisMetrics
        } else {
            let slot = try slot(current, chassisID: chassisID, slot: slotText)
            slotID = slot.slotID
            metrics = slot.metrics
        }
        let keys = exchange.values("key")
        guard !keys.isEmpty else { throw HTTPError(400, "key is required (a metric key of the slot)") }
        guard keys.count <= limits.historyKeysMax else { throw HTTPError(400, "at most \(limits.historyKeysMax) keys at once") }
        var seconds = limits.historySecondsDefault
        let secondsValues = exchange.values("seconds")
        if secondsValues.count > 1 { throw HTTPError(400, "seconds given more than once") }
        if let text = secondsValues.first {
            guard let value = Double(text), value.isFinite, value > 0, value <= limits.historySecondsMax else {
                throw HTTPError(400, "seconds must be a number between 1 and \(Int(limits.historySecondsMax))")
            }
            seconds = value
        }
        var series: [HistorySeries] = []
        for key in keys {
            guard let metric = metrics.first(where: { $0.descriptor.key == key }) else {
                throw HTTPError(400, "unknown metric key \"\(key)\" for slot \(slotID)")
            }
            let points = try exchange.source.history(slotID: slotID, key: key, seconds: seconds)
            series.append(HistorySeries(key: key, label: metric.descriptor.label, unit: metric.descriptor.unit, points: points))
        }
        let document = HistoryDocument(chassisID: chassisID, slotID: slotID, seconds: seconds, series: series)
        return try polledJSON(exchange, current: current) { try JSON.encode(document) }
    }

    func apiLocal(_ exchange: Exchange) throws -> Response {
        var response = try json(try exchange.source.local())
        response.headers += corsHeaders(exchange)
        return response
    }

    func apiCluster(_ exchange: Exchange) throws -> Response {
        var response = try json(try exchange.source.cluster())
        response.headers += corsHeaders(exchange)
        return response
    }

    func apiAlerts(_ exchange: Exchange) throws -> Response {
        let current = try current(exchange)
        let alerts = current.snapshot.alerts
        return try polledJSON(exchange, current: current) {
            try JSON.encode(AlertsDocument(
                stale: current.stale, staleSince: current.staleSince, alerts: alerts,
                newAlerts: alerts.filter { $0.acknowledgedAt == nil }.count,
                raisedWarning: alerts.filter { $0.severity == .warning && $0.clearedAt == nil }.count,
                raisedCritical: alerts.filter { $0.severity == .critical && $0.clearedAt == nil }.count))
        }
    }

    func healthActive(_ exchange: Exchange) throws -> Response {
        let local = try exchange.source.local()
        let headers = [("Content-Type", MediaType.text), ("Cache-Control", "no-store")] + corsHeaders(exchange)
        if RedirectRule.isActive(local) {
            return Response(status: 200, headers: headers, body: Array("active \(local.blade) term \(local.term)\n".utf8))
        }
        let reason = local.role == .active ? "lease expired" : local.role.rawValue
        return Response(status: 503, headers: headers, body: Array("not active: \(reason) \(local.blade) term \(local.term)\n".utf8))
    }

    func metrics(_ exchange: Exchange) throws -> Response {
        let current = try current(exchange)
        // A customer's scrape names no blade: this blade's own series are another slot's.
        let local = scope(exchange) == nil ? try? exchange.source.local() : nil
        let notifications = scope(exchange) == nil ? (try? exchange.source.cluster())?.notifications : nil
        let text = PrometheusExposition.render(snapshot: current.snapshot, stale: current.stale, local: local,
                                               notifications: notifications)
        return Response(status: 200, headers: [("Content-Type", MediaType.prometheus), ("Cache-Control", "no-store")],
                        body: Array(text.utf8))
    }

    // MARK: - Writes, through the engine

    /// JSON bodies must say so (or say nothing); anything else is `415`.
    func requireJSON(_ exchange: Exchange) throws {
        guard let type = exchange.request.header("Content-Type"), !type.isEmpty else { return }
        let media = type.split(separator: ";").first.map { $0.trimmingSpaces().lowercased() } ?? ""
        guard media == "application/json" else {
            throw HTTPError(415, "the request body must be application/json, not \(media)")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ exchange: Exchange) throws -> T {
        try requireJSON(exchange)
        do {
            return try Validation.decodeJSON(type, from: exchange.request.body)
        } catch let error as InputError {
            throw HTTPError(400, error.description)
        }
    }

    /// A page's form post: its fields, handed to `action`; an `HTTPError` there becomes the
    /// problem the page shows (the page is rendered again either way).
    func formOutcome<T>(_ exchange: Exchange, _ action: ([String: String]) throws -> T) throws -> (result: T?, problem: String?) {
        guard exchange.request.method == "POST" else { return (nil, nil) }
        let fields: [String: String]
        do { fields = try Validation.formFields(exchange.request.body) } catch { throw HTTPError(400, "\(error)") }
        do {
            return (try action(fields), nil)
        } catch let error as HTTPError {
            return (nil, error.message)
        }
    }

    /// Turns an answer from `send` that is not a success into the `HTTPError` it carries.
    func requireAccepted(_ response: Response) throws {
        guard response.status < 300 else {
            let message = (try? JSONDecoder().decode(ErrorDocument.self, from: Data(response.body)))?.error ?? "refused"
            throw HTTPError(response.status, message)
        }
    }

    /// Sends a write to the engine on behalf of `actor` and maps its answer onto HTTP.
    func send(_ request: ControlRequest, actor: Actor?) -> Response {
        let reply: ControlResponse
        do {
            reply = try control.send(request, actor: actor)
        } catch {
            var response = failure(503, "the engine did not take the change: \(error)", json: true,
                                   request: Request(method: "POST", target: "/api/"))
            response.setHeader("Retry-After", "1")
            return response
        }
        if reply.ok {
            if request.changesAccess { state.invalidate() }
            return (try? json(WriteResultDocument(ok: true, id: reply.id)))
                ?? Response(status: 200, headers: [("Content-Type", MediaType.json)], body: Array("{\"ok\":true}\n".utf8))
        }
        let status = [400, 404, 409, 413, 503].contains(reply.code) ? reply.code : 502
        var response = Response(status: status, headers: [("Content-Type", MediaType.json), ("Cache-Control", "no-store")],
                                body: JSON.errorBody(reply.error ?? "the engine refused the change"))
        if status == 503 { response.setHeader("Retry-After", "1") }
        return response
    }

    func apiSetSlot(_ exchange: Exchange, chassisID: String, slot slotText: String) throws -> Response {
        let current = try current(exchange)
        guard chassisID == current.snapshot.chassis.chassisID else { throw HTTPError(404, "no chassis \"\(chassisID)\" here") }
        let slotID = try slotNumber(slotText)
        let known = current.snapshot.slots.contains(where: { $0.slotID == slotID })
        guard known || (1...max(current.snapshot.chassis.slotCount, 1)).contains(slotID) else {
            throw HTTPError(404, "chassis \(chassisID) has no slot \(slotID)")
        }
        let input = try decode(SlotInput.self, exchange)
        do { try input.validate(limits: limits) } catch { throw HTTPError(400, "\(error)") }
        var requests: [ControlRequest] = []
        if input.name != nil || input.moduleType != nil {
            requests.append(.setSlot(slotID: slotID, name: input.name, moduleType: input.moduleType))
        }
        if let affinity = input.affinity { requests.append(.setSlotAffinity(slotID: slotID, affinity: affinity)) }
        if let serial = input.approve { requests.append(.approveModule(slotID: slotID, serial: serial)) }
        var response = Response(status: 400, headers: [], body: [])
        for request in requests {
            if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
            response = sendAsCaller(request, exchange)
            guard response.status == 200 else { return response }
        }
        return response
    }

    func apiSetThreshold(_ exchange: Exchange) throws -> Response {
        let input = try decode(ThresholdInput.self, exchange)
        do { try input.validate(limits: limits) } catch { throw HTTPError(400, "\(error)") }
        return sendAsCaller(.setThreshold(input.rule), exchange)
    }

    func apiRemoveThreshold(_ exchange: Exchange, id: String) throws -> Response {
        guard let value = Int64(id), value > 0 else { throw HTTPError(400, "threshold id must be a positive number, not \"\(id)\"") }
        return sendAsCaller(.removeThreshold(id: value), exchange)
    }

    /// JSON (`{"by": "…"}` or no body) from scripts; a form post from the banner without scripts,
    /// answered with `303 See Other` back to the page it came from. The acknowledgement is in the
    /// name of the logged-in user (`by` is kept as a note after it).
    func apiAcknowledge(_ exchange: Exchange, alertID: String) throws -> Response {
        guard let id = Int64(alertID), id > 0 else { throw HTTPError(400, "alert id must be a positive number, not \"\(alertID)\"") }
        let type = exchange.request.header("Content-Type")?.lowercased() ?? ""
        var input = AcknowledgeInput(by: nil)
        var returnPath: String?
        if type.hasPrefix("application/x-www-form-urlencoded") {
            let fields: [String: String]
            do {
                fields = try Validation.formFields(exchange.request.body)
                input = try AcknowledgeInput(fields: fields)
            } catch { throw HTTPError(400, "\(error)") }
            returnPath = fields["return"]
        } else if !exchange.request.body.isEmpty {
            input = try decode(AcknowledgeInput.self, exchange)
        }
        do { try input.check() } catch { throw HTTPError(400, "\(error)") }
        let by = input.by
        let user = exchange.principal?.user ?? "web " + exchange.request.remoteAddress
        let acknowledger = by.map { $0.isEmpty || $0 == user ? user : "\(user) (\($0))" } ?? user
        do {
            try Validation.text(acknowledger, field: "by", bytesMax: limits.nameBytesMax, allowEmpty: false)
        } catch {
            throw HTTPError(400, "\(error)")
        }
        let comment = input.comment.flatMap { $0.isEmpty ? nil : $0 }
        let until = input.forSeconds.map { now() + $0 }
        let response = sendAsCaller(.acknowledgeAlert(id: id, by: acknowledger, comment: comment, until: until), exchange)
        if let returnPath, response.status == 200 {
            return Response(status: 303, headers: [("Location", Self.safeReturnPath(returnPath)), ("Cache-Control", "no-store")])
        }
        return response
    }
}
