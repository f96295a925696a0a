import Access
import Control
import Foundation
import Model

extension WebApp {
    /// The parts every page shares: header, stale notice, alert banner, footer, and who is logged
    /// in. A customer is not told which blade serves the page (its name and address are another
    /// slot's).
    func basePage(title: String, page: String, snapshot: ChassisSnapshot?, stale: Bool, local: LocalView?,
                  request: Request, viewer: Principal?) -> PageView {
        let returnPath = WebApp.safeReturnPath(request.rawTarget)
        var view = PageView(
            title: title, page: page, pollURL: nil, blade: viewer?.role == .customer ? nil : ViewBuilder.blade(local),
            chassis: snapshot.map { ViewBuilder.chassisHeader($0.chassis) },
            crumbs: [], stale: stale,
            staleSince: snapshot.map { Format.time($0.engine.updatedAt) } ?? "",
            banner: ViewBuilder.banner(snapshot, limits: limits), returnPath: returnPath,
            footer: snapshot.map { FooterView(dataVersion: $0.dataVersion, generatedAt: Format.time($0.generatedAt)) },
            charts: false, overview: nil, module: nil, error: nil, unavailable: nil)
        view.user = viewer.map { UserBarView(name: $0.user, role: $0.role.rawValue, admin: $0.role == .admin,
                                             staff: AccessRule.staff.permits($0.role),
                                             site: site != nil && AccessRule.staff.permits($0.role)) }
        view.canAcknowledge = viewer.map { Route.apiAcknowledge(alertID: "1").rule(method: "POST").permits($0.role) } ?? false
        return view
    }

    func overviewPage(_ exchange: Exchange, local: LocalView?) throws -> Response {
        let current = try current(exchange)
        let snapshot = current.snapshot
        var view = basePage(title: "\(ViewBuilder.chassisHeader(snapshot.chassis).name) — Chassis Manager", page: "overview",
                            snapshot: snapshot, stale: current.stale, local: local, request: exchange.request,
                            viewer: exchange.principal)
        view.pollURL = "/api/v1/chassis"
        view.crumbs = crumbs(snapshot, slot: nil)
        view.overview = ViewBuilder.overview(snapshot, visibleSlots: scope(exchange)?.slots)
        return try page(view, template: "overview", source: exchange.source)
    }

    func modulePage(_ exchange: Exchange, chassisID: String, slot slotText: String, local: LocalView?) throws -> Response {
        var edit = SlotEditView(canEdit: exchange.principal.map { Route.modulePage(chassisID: "", slot: "").rule(method: "POST").permits($0.role) } ?? false)
        let canPower = exchange.principal.map { Route.apiSlotPower(chassisID: "", slot: "").rule(method: "POST").permits($0.role) } ?? false
        var powerPanel: PowerPanelView?
        if exchange.request.method == "POST" {
            let fields = try? Validation.formFields(exchange.request.body)
            if fields?["action"] == "power", let fields {
                // The power panel's form: the same operators-only rule as the API's.
                guard canPower else { throw HTTPError(403, "only operators and admins control power") }
                let before = try slot(try current(exchange), chassisID: chassisID, slot: slotText)
                var panel = Self.powerPanel(before, canPower: canPower, isActiveManagerSlot: Self.isActiveManagerSlot(before.slotID, local))
                do {
                    panel.notice = try powerFormAction(fields, slot: before, exchange: exchange, panel: &panel)
                } catch let error as HTTPError where error.status == 400 || error.status == 409 || error.status == 503 {
                    panel.problem = error.message
                }
                powerPanel = panel
            } else {
                do {
                    edit.notice = try slotFormAction(exchange, chassisID: chassisID, slot: slotText)
                } catch let error as HTTPError where error.status == 400 || error.status == 409 || error.status == 503 {
                    edit.problem = error.message
                }
            }
        }
        let current = try current(exchange)
        let slot = try slot(current, chassisID: chassisID, slot: slotText)
        var panel = Self.powerPanel(slot, canPower: canPower, isActiveManagerSlot: Self.isActiveManagerSlot(slot.slotID, local))
        (panel.confirm, panel.notice, panel.problem) = (powerPanel?.confirm, powerPanel?.notice, powerPanel?.problem)
        let snapshot = current.snapshot
        let name = slot.name.isEmpty ? "Slot \(slot.slotID)" : "Slot \(slot.slotID) · \(slot.name)"
        var view = basePage(title: "\(name) — Chassis Manager", page: "module", snapshot: snapshot, stale: current.stale,
                            local: local, request: exchange.request, viewer: exchange.principal)
        view.pollURL = ViewBuilder.slotPath(chassisID, slot.slotID).replacingPrefix("/chassis/", with: "/api/v1/chassis/")
        view.crumbs = crumbs(snapshot, slot: slot)
        view.module = ViewBuilder.module(snapshot, slot: slot, limits: limits)
        view.charts = view.module?.hasCharts ?? false
        edit.name = slot.name
        edit.role = slot.moduleType.role
        edit.function = slot.moduleType.function
        edit.expectedModel = slot.moduleType.expectedModel
        edit.affinityOptions = [OptionView(value: "slot", label: "slot: any module inserted is managed as the slot's type",
                                           selected: slot.affinity != .slotSerial),
                                OptionView(value: "slot+serial", label: "slot+serial: another serial waits for approval",
                                           selected: slot.affinity == .slotSerial)]
        edit.awaitingSerial = slot.awaitingApproval ? slot.module?.serial : nil
        edit.approvedSerial = slot.approvedSerial ?? ""
        view.slotEdit = edit
        view.power = panel
        var response = try page(view, template: "module", source: exchange.source)
        if edit.problem != nil || panel.problem != nil { response.status = 400 }
        return response
    }

    static func isActiveManagerSlot(_ slotID: Int, _ local: LocalView?) -> Bool {
        guard let local else { return false }
        return local.role == .active && local.slotID == slotID
    }

    /// The slot form: name, role, function and expected model, as `PATCH …/slots/N` takes them.
    func slotFormAction(_ exchange: Exchange, chassisID: String, slot slotText: String) throws -> String {
        let fields: [String: String]
        do { fields = try Validation.formFields(exchange.request.body) } catch { throw HTTPError(400, "\(error)") }
        let current = try current(exchange)
        let slot = try slot(current, chassisID: chassisID, slot: slotText)
        if fields["action"] == "approve" {
            let serial = fields["serial"] ?? ""
            let request = ControlRequest.approveModule(slotID: slot.slotID, serial: serial)
            if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
            try requireAccepted(sendAsCaller(request, exchange))
            return "Module \(serial) approved: it is managed as the slot's type."
        }
        if let text = fields["affinity"] {
            guard let affinity = SlotAffinity(rawValue: text) else { throw HTTPError(400, "affinity must be slot or slot+serial") }
            if affinity != (slot.affinity ?? .slot) {
                try requireAccepted(sendAsCaller(.setSlotAffinity(slotID: slot.slotID, affinity: affinity), exchange))
            }
        }
        let name = fields["name"].map { String($0[...].trimmingSpaces()) }
        let role = fields["role"].map { String($0[...].trimmingSpaces()) } ?? slot.moduleType.role
        let input = SlotInput(name: name, moduleType: ModuleType(
            role: role, function: fields["function"].map { String($0[...].trimmingSpaces()) } ?? slot.moduleType.function,
            expectedModel: fields["expectedModel"].map { String($0[...].trimmingSpaces()) } ?? slot.moduleType.expectedModel))
        do { try input.validate(limits: limits) } catch { throw HTTPError(400, "\(error)") }
        let request = ControlRequest.setSlot(slotID: slot.slotID, name: input.name, moduleType: input.moduleType)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        let response = sendAsCaller(request, exchange)
        guard response.status < 300 else {
            let message = (try? JSONDecoder().decode(ErrorDocument.self, from: Data(response.body)))?.error ?? "refused"
            throw HTTPError(response.status == 404 ? 400 : response.status, message)
        }
        return "Slot \(slot.slotID) saved."
    }

    func crumbs(_ snapshot: ChassisSnapshot, slot: SlotView?) -> [CrumbView] {
        var crumbs: [CrumbView] = []
        if !snapshot.chassis.site.isEmpty { crumbs.append(CrumbView(text: snapshot.chassis.site, href: nil, current: false)) }
        let chassisName = ViewBuilder.chassisHeader(snapshot.chassis).name
        crumbs.append(CrumbView(text: chassisName, href: slot == nil ? nil : "/", current: slot == nil))
        if let slot {
            crumbs.append(CrumbView(text: "Slot \(slot.slotID)" + (slot.name.isEmpty ? "" : " · " + slot.name),
                                    href: nil, current: true))
        }
        return crumbs
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
