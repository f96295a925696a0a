import Model

/// A customer's view of the chassis: its own slots (modules, sensors, values, history, alerts) and
/// the chassis' overall status line, and nothing that identifies another slot's module. Every
/// representation (pages, JSON, `/metrics`, history, alerts, exports) is built from this one
/// projection, so none can leak past it.
public enum CustomerView {
    /// The snapshot as `scope` may see it. Staff (nil scope) see it whole.
    public static func project(_ snapshot: ChassisSnapshot, scope: AccessScope?) -> ChassisSnapshot {
        guard let scope else { return snapshot }
        var view = snapshot
        let chassisID = snapshot.chassis.chassisID
        view.slots = snapshot.slots.filter { scope.contains(slot: $0.slotID, chassisID: chassisID) }.map(Self.customerSlot)
        // The chassis' own devices (power supplies, fans) are not the customer's slots; the
        // overall status line says whether anything is wrong.
        view.chassisMetrics = []
        view.alerts = snapshot.alerts.filter { alert in
            alert.slotID.map { scope.contains(slot: $0, chassisID: chassisID) } ?? false
        }
        // A window on the whole chassis concerns the customer's slots too; one on another slot does not.
        view.maintenance = snapshot.maintenance?.filter { window in
            window.slotID.map { scope.contains(slot: $0, chassisID: chassisID) } ?? true
        }
        return view
    }

    /// A slot of the customer's: its power as the customer may know it, without the blades that
    /// carried the actions out or the commands' output (which names the chassis' tools and hosts).
    static func customerSlot(_ slot: SlotView) -> SlotView {
        guard var power = slot.power else { return slot }
        func plain(_ record: PowerActionRecord) -> PowerActionRecord {
            var record = record
            (record.startedBy, record.output) = (nil, "")
            return record
        }
        power.pending = power.pending.map(plain)
        power.last = power.last.map(plain)
        var view = slot
        view.power = power
        return view
    }

    /// Whether `scope` may see slot `slotID` (slot 0 is the chassis' own devices: staff only).
    public static func permits(slot slotID: Int, chassisID: String, scope: AccessScope?) -> Bool {
        guard let scope else { return true }
        return slotID != 0 && scope.contains(slot: slotID, chassisID: chassisID)
    }

    /// A key that differs between views, for caches and ETags.
    public static func cacheKey(_ scope: AccessScope?) -> String {
        scope.map { "scope=" + $0.text } ?? "scope=all"
    }
}
