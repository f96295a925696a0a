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

extension Format {
    /// `2026-12-04`, `2026-12-04T10:00` or `2026-12-04T10:00:00Z` (UTC; a space may replace the T)
    /// as Unix seconds; nil for anything else.
    static func parseISOTime(_ text: String) -> Double? {
        var body = Substring(text)
        if body.hasSuffix("Z") { body = body.dropLast() }
        let parts = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "T" || $0 == " " })
        guard parts.count == 1 || parts.count == 2 else { return nil }
        func numbers(_ part: Substring, separator: Character, counts: [Int]) -> [Int]? {
            let fields = part.split(separator: separator, omittingEmptySubsequences: false)
            guard fields.count <= counts.count, fields.count >= 2 || counts.count == 1 else { return nil }
            var values: [Int] = []
            for (field, count) in zip(fields, counts) {
                guard field.utf8.count == count, field.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(field) else { return nil }
                values.append(value)
            }
            return values
        }
        guard let date = numbers(parts[0], separator: "-", counts: [4, 2, 2]), date.count == 3,
              (1...12).contains(date[1]), (1...31).contains(date[2]) else { return nil }
        var clock = [0, 0, 0]
        if parts.count == 2 {
            guard let values = numbers(parts[1], separator: ":", counts: [2, 2, 2]), values.count >= 2,
                  values[0] < 24, values[1] < 60, (values.count < 3 || values[2] < 60) else { return nil }
            for (index, value) in values.enumerated() { clock[index] = value }
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let year = date[1] <= 2 ? date[0] - 1 : date[0]
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let month = date[1]
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + date[2] - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86_400 + clock[0] * 3_600 + clock[1] * 60 + clock[2])
    }
}
