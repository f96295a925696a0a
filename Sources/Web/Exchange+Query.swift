import Control
import Foundation
import Model

/// The query parameters the log pages and their API share (the audit log, the alert log): one
/// value each, a time as Unix seconds or ISO 8601, a bounded limit, and links that keep the
/// filter.
extension WebApp.Exchange {
    /// The parameter's one non-empty value, without control characters; `400` when given twice.
    func single(_ name: String) throws -> String? {
        let given = values(name).filter { !$0.isEmpty }
        guard given.count <= 1 else { throw WebApp.HTTPError(400, "\(name) given more than once") }
        if let value = given.first, let problem = ControlValidation.textProblem(value, field: name) {
            throw WebApp.HTTPError(400, problem)
        }
        return given.first
    }

    /// Unix seconds, or a time like `2026-12-04T10:00:00Z`.
    func time(_ name: String) throws -> Double? {
        guard let text = try single(name) else { return nil }
        if let seconds = Double(text), seconds.isFinite { return seconds }
        guard let parsed = Format.parseISOTime(text) else {
            throw WebApp.HTTPError(400, "\(name) must be Unix seconds or a time like 2026-12-04T10:00:00Z")
        }
        return parsed
    }

    /// `limit`, between 1 and `maximum`.
    func limit(default fallback: Int, maximum: Int) throws -> Int {
        guard let text = try single("limit") else { return fallback }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw WebApp.HTTPError(400, "limit must be between 1 and \(maximum)")
        }
        return value
    }

    /// `base` with `adding`, then this request's query less the parameters named in `dropping`.
    func link(_ base: String, dropping: Set<String>, adding: [String] = []) -> String {
        let kept = query.filter { !dropping.contains($0.name) }
            .map { URLCoding.encodeComponent($0.name) + "=" + URLCoding.encodeComponent($0.value) }
        let all = adding + kept
        return base + (all.isEmpty ? "" : "?" + all.joined(separator: "&"))
    }
}
