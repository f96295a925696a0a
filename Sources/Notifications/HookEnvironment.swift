/// What an alert hook finds in its environment: the event and its alert, one variable each.
public enum HookEnvironment {
    public static func variables(_ notice: Notice) -> [String: String] {
        let event = notice.event
        return [
            "CHASSIS_EVENT": event.kind.rawValue,
            "CHASSIS_EVENT_ID": notice.id,
            "CHASSIS_EVENT_AT": String(event.at),
            "CHASSIS_SEVERITY": event.severity.rawValue,
            "CHASSIS_ID": notice.chassisID,
            "CHASSIS_NAME": notice.chassisName,
            "CHASSIS_SLOT": event.slotID.map(String.init) ?? "",
            "CHASSIS_MODULE": notice.module ?? "",
            "CHASSIS_ALERT_ID": event.alertID.map(String.init) ?? "",
            "CHASSIS_METRIC": event.metricKey ?? "",
            "CHASSIS_MESSAGE": String(decoding: SyslogMessage.utf8Prefix(event.message, bytesMax: 1_000), as: UTF8.self),
            "CHASSIS_SUMMARY": String(decoding: SyslogMessage.utf8Prefix(notice.summary, bytesMax: 1_100), as: UTF8.self),
        ]
    }
}
