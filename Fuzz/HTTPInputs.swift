// libFuzzer entry for what the web app reads from an HTTP request beyond the FastCGI head (the
// `web` target has that): the request target, query parameters, header fields, cookie values,
// form bodies and JSON bodies, through the real decoding code of Sources/Web (Request.swift,
// Router.swift, Exchange+Query.swift, WebApp+RequestFields.swift, Inputs.swift) and
// Sources/Access (SessionToken.swift, PasswordHash.swift's Base64), compiled without the rest of
// the app (Fuzz/Support/WebApp.swift stands in for the WebApp class, Fuzz/Support/Crypto.swift
// and CryptoExtras.swift for swift-crypto).
//
// The first byte picks what the rest of the input is (`byte % 5`):
//   0  a request target: `Route.segments`/`Route.match` on its path (the decoded segments,
//      encoded again, decode to the same and match the same route); `URLCoding.parseQuery` on
//      its query and the log pages' parameters over it (`single`, `time`, `limit`: a value or a
//      400, never a control character, a non-finite time or a limit out of range; `link` keeps
//      exactly the pairs it does not drop; `Format.parseISOTime` round-trips through
//      `Format.isoTime`)
//   1  a header field's value: `cookie` (checked against a byte-wise reading of the header's
//      `name=value` pairs), `bearer` and `APIToken.parse`, `hostName`, `MemberCredential.verify`, and the
//      text as a `next`/`return` path (`safeReturnPath`, `safeNext`: always a local path a
//      header can carry)
//   2  a cookie value or transfer ticket: `SessionToken.decode`/`TransferTicket.decode` as
//      given (a forgery never passes) and signed with the web key (past the MAC check: what
//      decodes encodes to a text that decodes the same); tokens and tickets built from the
//      input's bytes round-trip; `Base64` decodes canonically and round-trips, `Hex` too;
//      `PasswordHash.parse` of a stored hash
//   3  a form body (`application/x-www-form-urlencoded`): `Validation.formFields` (no control
//      characters; encoded again it gives the same fields) and `AcknowledgeInput(fields:)`
//   4  a JSON body: the next byte picks one of the API's input types (`jsonTypes` below),
//      decoded with `Validation.decodeJSON` as the handlers do. Errors are `InputError`s; an
//      unknown field is refused wherever the type says so; what decodes, written back as JSON,
//      decodes to the same; what passes the type's own validation holds what it promises.
@testable import Web
import Access
import ChassisKeys
import Control
import Crypto
import Foundation
import Model

private let webKey = SymmetricKey(data: Array(0..<32).map { UInt8($0) + 100 })
private let memberKey: [UInt8] = Array(0..<32).map { UInt8($0) }
private let limits = WebLimits()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzHTTPInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    checkHKDFAgainstRFC5869()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    switch selector % 5 {
    case 0: checkTarget(String(decoding: rest, as: UTF8.self))
    case 1: checkHeaderField(String(decoding: rest, as: UTF8.self))
    case 2: checkCredentials(rest)
    case 3: checkForm(rest)
    default: checkJSON(rest)
    }
    return 0
}

// MARK: - 0: the request target

private func checkTarget(_ target: String) {
    let request = Request(method: "GET", target: target)
    if let segments = try? Route.segments(rawPath: request.rawPath) {
        note("segments: \(segments)")
        check(segments.allSatisfy { !$0.isEmpty && !$0.unicodeScalars.contains(where: isControl) },
              "a decoded segment is empty or holds a control character: \(segments)")
        let rebuilt = "/" + segments.map(URLCoding.encodeComponent).joined(separator: "/")
        guard let again = try? Route.segments(rawPath: rebuilt) else {
            invariantFailed("the segments encoded again do not decode: \(rebuilt)")
        }
        check(again == segments, "segments \(segments) encoded as \(rebuilt) decode to \(again)")
        let route = Route.match(segments)
        check(Route.match(again) == route, "the same segments match another route")
        if let route {
            note("route: \(route)")
            check(!route.allowedMethods.isEmpty, "\(route) allows no method")
            for method in route.allowedMethods { _ = route.rule(method: method) }
        }
    }

    let query: [(name: String, value: String)]
    do {
        query = try URLCoding.parseQuery(request.rawQuery)
    } catch {
        check(error is MalformedRequest, "parseQuery threw \(type(of: error))")
        return
    }
    note("query: \(query)")
    let exchange = WebApp.Exchange(query: query)
    var names = ["since", "until", "limit", "actor", "text"]
    for pair in query.prefix(4) where !names.contains(pair.name) { names.append(pair.name) }
    for name in names {
        let given = exchange.values(name).filter { !$0.isEmpty }
        do {
            let value = try exchange.single(name)
            check(given.count <= 1, "single(\(name)) accepted \(given.count) values")
            check(value == given.first, "single(\(name)) gave \(String(describing: value)), the query \(given)")
            if let value {
                check(!value.unicodeScalars.contains(where: isControl), "single(\(name)) passed a control character")
                check(value.utf8.count <= ControlValidation.nameBytesMax, "single(\(name)) passed \(value.utf8.count) bytes")
            }
        } catch let error as WebApp.HTTPError {
            check(error.status == 400, "single(\(name)) answered \(error.status)")
        } catch {
            invariantFailed("single(\(name)) threw \(type(of: error))")
        }
        do {
            if let seconds = try exchange.time(name) {
                check(seconds.isFinite, "time(\(name)) gave \(seconds)")
            }
        } catch let error as WebApp.HTTPError {
            check(error.status == 400, "time(\(name)) answered \(error.status)")
        } catch {
            invariantFailed("time(\(name)) threw \(type(of: error))")
        }
        for text in given.prefix(2) { checkISOTime(text) }
    }
    do {
        let limit = try exchange.limit(default: 100, maximum: 1_000)
        check((1...1_000).contains(limit), "limit gave \(limit)")
    } catch let error as WebApp.HTTPError {
        check(error.status == 400, "limit answered \(error.status)")
    } catch {
        invariantFailed("limit threw \(type(of: error))")
    }

    // A link keeps every pair but the dropped ones, in order, after the added ones.
    let dropping: Set<String> = ["before", query.first?.name ?? "limit"]
    let link = exchange.link("/alerts", dropping: dropping, adding: ["before=12"])
    guard link.hasPrefix("/alerts?"), let linked = try? URLCoding.parseQuery(String(link.dropFirst("/alerts?".count))) else {
        invariantFailed("link gave \(link.debugDescription), which does not parse")
    }
    let expected = [("before", "12")] + query.filter { !dropping.contains($0.name) }.map { ($0.name, $0.value) }
    check(linked.map { [$0.name, $0.value] } == expected.map { [$0.0, $0.1] },
          "link \(link) reads as \(linked), not \(expected)")
}

/// `parseISOTime` reads what `isoTime` writes, for the years it writes with four digits.
private func checkISOTime(_ text: String) {
    guard let seconds = Format.parseISOTime(text) else { return }
    note("ISO time \(text.debugDescription): \(seconds)")
    check(seconds.isFinite && seconds == seconds.rounded(.down), "parseISOTime gave \(seconds)")
    // 1000-01-01 to 9999-12-31: Format.time writes the year as it is (no leading zeros).
    guard seconds >= -30_610_224_000, seconds < 253_402_300_800 else { return }
    let written = Format.isoTime(seconds)
    check(Format.parseISOTime(written) == seconds, "\(text) reads as \(seconds), written \(written), read again \(String(describing: Format.parseISOTime(written)))")
}

// MARK: - 1: header fields

private func checkHeaderField(_ text: String) {
    let name = "chassis_session" // AccessSettings.cookieName (AccessEdge.swift is not compiled here)
    // Cookie: every pair is checked against a byte-wise reading of the header.
    let cookie = WebApp.cookie(name, in: text)
    check(cookie == referenceCookie(name, in: text), "cookie gave \(String(describing: cookie)), the pairs say \(String(describing: referenceCookie(name, in: text)))")
    if let firstName = text.split(separator: "=", maxSplits: 1).first.map({ String($0.drop(while: { $0 == " " || $0 == ";" })) }) {
        check(WebApp.cookie(firstName, in: text) == referenceCookie(firstName, in: text),
              "cookie(\(firstName.debugDescription)) disagrees with the pairs")
    }
    if let value = cookie {
        check(!value.utf8.contains(0x3B) && value.utf8.last != 0x20, "a cookie value holds ';' or ends in a space")
    }
    let appended = text + "; \(name)=s1.value"
    if !text.contains(name + "="), appended.utf8.count <= 8_192 {
        check(WebApp.cookie(name, in: appended) == "s1.value", "a session cookie after \(text.debugDescription) is not found")
    }

    // Authorization.
    if let token = WebApp.bearer(text) {
        note("bearer: \(token.debugDescription)")
        check(text.utf8.count <= 512, "bearer read a header of \(text.utf8.count) bytes")
        check(token.first != " " && token.first != "\t" && token.last != " " && token.last != "\t", "bearer left spaces around the token")
        if let (id, secret) = APIToken.parse(token) {
            check(APIToken.prefix + id + "_" + secret == token, "APIToken.parse(\(token)) gave \(id), \(secret)")
        }
    }
    if let (id, secret) = APIToken.parse(text) {
        check(id.utf8.count == 16 && secret.utf8.count == 43 && APIToken.prefix + id + "_" + secret == text,
              "APIToken.parse(\(text)) gave \(id), \(secret)")
    }
    check(!MemberCredential.verify(text, webKey: memberKey, seconds: 1_800_000_000) || text.hasPrefix("m1."),
          "a member credential without its prefix verified")

    // Host.
    let host = WebApp.hostName(text)
    check(host == host.lowercased(), "hostName gave \(host), not lower-cased")
    check(host.utf8.count <= text.lowercased().utf8.count, "hostName grew the header")

    // A return path from a form or the query.
    for path in [WebApp.safeReturnPath(text), WebApp.safeNext(text)] {
        check(path.hasPrefix("/") && !path.hasPrefix("//") && !path.contains("\\"), "a return path \(path) leaves the site")
        check(path.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "a return path \(path.debugDescription) cannot go in a header")
        check(WebApp.safeReturnPath(path) == path, "safeReturnPath is not stable on \(path)")
    }
    let next = WebApp.safeNext(text)
    check(!next.hasPrefix("/login") && !next.hasPrefix("/logout") && !next.hasPrefix("/session/"), "safeNext gave \(next)")
}

/// The value of cookie `name`: the header's bytes split at `;`, each pair without its leading
/// spaces, the first whose name (before its first `=`) is `name`, without trailing spaces.
private func referenceCookie(_ name: String, in header: String) -> String? {
    guard header.utf8.count <= 8_192 else { return nil }
    for pair in Array(header.utf8).split(separator: 0x3B, omittingEmptySubsequences: true) {
        let trimmed = pair.drop(while: { $0 == 0x20 })
        guard let equals = trimmed.firstIndex(of: 0x3D) else { continue }
        if Array(trimmed[..<equals]) == Array(name.utf8) {
            var value = trimmed[(equals + 1)...]
            while value.last == 0x20 { value = value.dropLast() }
            return String(decoding: value, as: UTF8.self)
        }
    }
    return nil
}

// MARK: - 2: cookie values, tickets, tokens

private func checkCredentials(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    // As given: without the web key's MAC nothing decodes (a seed may carry one).
    if let token = SessionToken.decode(text, key: webKey) {
        note("a signed session as given: \(token)")
        check(SessionToken.decode(token.encode(key: webKey), key: webKey) == token, "session \(token) does not round-trip")
    }
    _ = TransferTicket.decode(text, key: webKey)

    // Signed: the fields past the MAC check.
    let signed = text + "." + Base64.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: webKey)),
                                            padding: false, url: true)
    if let token = SessionToken.decode(signed, key: webKey) {
        note("session: \(token)")
        check(text.hasPrefix("s1."), "a session without the s1 prefix decoded")
        check(SessionToken.decode(token.encode(key: webKey), key: webKey) == token, "session \(token) does not round-trip")
    }
    if let ticket = TransferTicket.decode(signed, key: webKey) {
        note("ticket: \(ticket)")
        check(text.hasPrefix("t1."), "a ticket without the t1 prefix decoded")
        check(TransferTicket.decode(ticket.encode(key: webKey), key: webKey) == ticket, "ticket \(ticket) does not round-trip")
    }

    // Built from the input's bytes: what fits decodes to itself.
    if bytes.count >= 40 {
        func number(_ offset: Int) -> Int64 {
            Int64(bytes[offset..<(offset + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 1_000_000_000_000_000_000)
        }
        let id = Hex.encode(bytes[0..<16])
        let user = String(decoding: bytes[40...], as: UTF8.self)
        let token = SessionToken(id: id, user: user, generation: number(16), startedAt: number(24), renewedAt: number(32))
        let encoded = token.encode(key: webKey)
        let decoded = SessionToken.decode(encoded, key: webKey)
        check(decoded == token || encoded.utf8.count > SessionToken.bytesMax, "session \(token) encodes as \(encoded), decodes as \(String(describing: decoded))")
        let ticket = TransferTicket(id: Hex.encode(bytes[8..<24]), session: token, expiresAt: number(32))
        let ticketText = ticket.encode(key: webKey)
        let ticketBack = TransferTicket.decode(ticketText, key: webKey)
        let expected = TransferTicket(id: ticket.id, session: SessionToken(id: id, user: user, generation: token.generation,
                                                                           startedAt: token.startedAt, renewedAt: token.startedAt),
                                      expiresAt: ticket.expiresAt)
        check(ticketBack == expected || ticketText.utf8.count > SessionToken.bytesMax, "ticket \(ticket) decodes as \(String(describing: ticketBack))")
        check(SessionToken.decode(ticketText, key: webKey) == nil && TransferTicket.decode(encoded, key: webKey) == nil,
              "a ticket reads as a session or a session as a ticket")

        // The credential another blade's engine shows: accepted within a minute of its time.
        let seconds = number(0) % 4_000_000_000
        let credential = MemberCredential.make(webKey: memberKey, seconds: seconds)
        check(MemberCredential.verify(credential, webKey: memberKey, seconds: seconds + 60)
              && !MemberCredential.verify(credential, webKey: memberKey, seconds: seconds + 61)
              && !MemberCredential.verify(credential, webKey: Array(memberKey.reversed()), seconds: seconds),
              "member credential \(credential) is not accepted exactly within a minute with its key")
    }

    // Base64: decoding is canonical (one spelling per byte string, either alphabet, padded or not).
    if let decoded = Base64.decode(text) {
        let unpadded = String(decoding: text.utf8.filter { $0 != UInt8(ascii: "=") }.map { byte -> UInt8 in
            byte == UInt8(ascii: "-") ? UInt8(ascii: "+") : byte == UInt8(ascii: "_") ? UInt8(ascii: "/") : byte
        }, as: UTF8.self)
        check(Base64.encode(decoded, padding: false) == unpadded, "Base64 read \(text) as \(hex(decoded)), which encodes otherwise")
    }
    for padding in [false, true] {
        for url in [false, true] {
            let encoded = Base64.encode(bytes, padding: padding, url: url)
            check(Base64.decode(encoded) == bytes, "Base64 (padding \(padding), url \(url)) does not round-trip \(hex(bytes))")
        }
    }
    if let decoded = Hex.decode(text) {
        check(Hex.encode(decoded) == text.lowercased(), "Hex read \(text) as \(hex(decoded))")
    }
    check(Hex.decode(Hex.encode(bytes)) == bytes, "Hex does not round-trip")
    if let stored = try? PasswordHash.parse(text) {
        note("password hash: \(stored.parameters)")
        check(stored.salt.count >= 8 && stored.hash.count >= 16, "PasswordHash.parse accepted a short salt or hash")
    }
}

// MARK: - 3: form bodies

private func checkForm(_ body: [UInt8]) {
    let fields: [String: String]
    do {
        fields = try Validation.formFields(body)
    } catch {
        check(error is InputError, "formFields threw \(type(of: error))")
        return
    }
    note("form: \(fields)")
    for (name, value) in fields {
        check(!name.unicodeScalars.contains(where: isControl) && !value.unicodeScalars.contains(where: isControl),
              "a form field holds a control character: \(name.debugDescription) = \(value.debugDescription)")
    }
    let encoded = fields.sorted { $0.key < $1.key }
        .map { URLCoding.encodeComponent($0.key) + "=" + URLCoding.encodeComponent($0.value) }.joined(separator: "&")
    guard let again = try? Validation.formFields(Array(encoded.utf8)) else {
        invariantFailed("the form encoded again does not parse: \(encoded)")
    }
    check(again == fields, "form \(fields) encoded as \(encoded) reads as \(again)")
    if let input = try? AcknowledgeInput(fields: fields), (try? input.check()) != nil {
        if let seconds = input.forSeconds {
            check(seconds.isFinite && seconds >= 60 && seconds <= AcknowledgeInput.forSecondsMax, "forSeconds \(seconds) passed")
        }
        if let comment = input.comment { check(comment.utf8.count <= 512, "a comment of \(comment.utf8.count) bytes passed") }
    }
}

// MARK: - 4: JSON bodies

private typealias JSONCheck = ([UInt8]) -> Void

/// One entry per JSON body a handler decodes (`decode(T.self, exchange)` in WebApp+*.swift).
private let jsonTypes: [(name: String, check: JSONCheck)] = [
    ("threshold", { checkThreshold($0) }),
    ("slot", { checkSlot($0) }),
    ("acknowledge", { body in
        roundTrip(AcknowledgeInput.self, body, allowed: ["by", "comment", "forSeconds"]) { input in
            object(["by": input.by, "comment": input.comment, "forSeconds": input.forSeconds])
        }
    }),
    ("login", { body in
        roundTrip(LoginInput.self, body, allowed: ["user", "password"]) { ["user": $0.user, "password": $0.password] }
    }),
    ("maintenance", { body in
        roundTrip(MaintenanceInput.self, body, allowed: ["slot", "startsAt", "endsAt", "durationSeconds", "reason"]) { input in
            check(input.endsAt == nil || input.durationSeconds == nil, "maintenance with both endsAt and durationSeconds")
            return object(["slot": input.slot, "startsAt": input.startsAt, "endsAt": input.endsAt,
                           "durationSeconds": input.durationSeconds, "reason": input.reason])
        }
    }),
    ("handover", { body in
        roundTrip(HandOverInput.self, body, allowed: ["to"]) { object(["to": $0.to]) }
    }),
    ("member", { body in
        roundTrip(MemberInput.self, body, allowed: ["name", "address", "slot", "port", "priority", "witness"]) { input in
            object(["name": input.name, "address": input.address, "slot": input.slot, "port": input.port,
                    "priority": input.priority, "witness": input.witness])
        }
    }),
    ("intervals", { body in
        roundTrip(IntervalsInput.self, body, allowed: nil, same: { $0.values == $1.values }) { input in
            check(!input.values.isEmpty && input.values.count <= SamplingGroup.allCases.count, "\(input.values.count) intervals")
            return input.values
        }
    }),
    ("chassis", { body in
        roundTrip(ChassisInput.self, body, allowed: ["name", "site", "row", "rack", "shelf"]) { input in
            object(["name": input.name, "site": input.site, "row": input.row, "rack": input.rack, "shelf": input.shelf])
        }
    }),
    ("replication", { body in
        roundTrip(ReplicationInput.self, body, allowed: nil, same: { $0.values == $1.values }) { input in
            check(!input.values.isEmpty && input.values.count <= SamplingGroup.allCases.count, "\(input.values.count) groups")
            return input.values.mapValues { members -> Any in members.map { $0 as Any } ?? "all" }
        }
    }),
    ("user", { body in
        roundTrip(UserInput.self, body, allowed: ["name", "role", "password", "slots", "chassis"]) { input in
            check((input.slots?.count ?? 0) <= 16, "\(input.slots?.count ?? 0) slots")
            return object(["name": input.name, "role": input.role, "password": input.password, "slots": input.slots,
                           "chassis": input.chassis])
        }
    }),
    ("user-change", { body in
        roundTrip(UserChangeInput.self, body, allowed: ["role", "password", "slots", "chassis"]) { input in
            check((input.slots?.count ?? 0) <= 16, "\(input.slots?.count ?? 0) slots")
            return object(["role": input.role, "password": input.password, "slots": input.slots, "chassis": input.chassis])
        }
    }),
    ("token", { body in
        roundTrip(TokenInput.self, body, allowed: ["user", "label", "expiresInDays"]) { input in
            object(["user": input.user, "label": input.label, "expiresInDays": input.expiresInDays])
        }
    }),
    ("unlock", { body in
        roundTrip(UnlockInput.self, body, allowed: ["user", "address"]) { object(["user": $0.user, "address": $0.address]) }
    }),
    ("notifications", { checkNotifications($0) }),
]

private func checkJSON(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let entry = jsonTypes[Int(selector) % jsonTypes.count]
    note("JSON body as \(entry.name)")
    entry.check(Array(bytes.dropFirst()))
}

/// Decodes `body` as the handlers do; nil (after checking the error) when it does not decode.
private func decode<T: Decodable>(_ kind: T.Type, _ body: [UInt8]) -> T? {
    do {
        return try Validation.decodeJSON(kind, from: body)
    } catch let error as InputError {
        note("refused: \(error)")
        return nil
    } catch {
        invariantFailed("decodeJSON threw \(type(of: error)), not an InputError: \(error)")
    }
}

/// Decodes, checks that no field outside `allowed` got through (nil: the type takes any name),
/// writes the value back as JSON (`json`) and checks that it decodes to the same; the value.
@discardableResult
private func roundTrip<T: Decodable>(_ type: T.Type, _ body: [UInt8], allowed: Set<String>?,
                                     same: (T, T) -> Bool = { String(describing: $0) == String(describing: $1) },
                                     json: (T) -> Any) -> T? {
    guard let value = decode(type, body) else { return nil }
    note("decoded: \(value)")
    check(String(validating: body, as: UTF8.self) != nil, "a body that is not UTF-8 decoded")
    if let allowed, let keys = topLevelKeys(body) {
        check(keys.isSubset(of: allowed), "\(T.self) took unknown fields \(keys.subtracting(allowed).sorted())")
    }
    let written: Data
    do {
        written = try JSONSerialization.data(withJSONObject: json(value), options: [.sortedKeys])
    } catch {
        invariantFailed("\(T.self) \(value) cannot be written as JSON: \(error)")
    }
    guard let again = decode(type, Array(written)) else {
        invariantFailed("\(T.self) written back does not decode: \(String(decoding: written, as: UTF8.self))")
    }
    check(same(again, value),
          "\(T.self) written as \(String(decoding: written, as: UTF8.self)) decodes to \(again), not \(value)")
    return value
}

/// The keys of the body's top-level object, or of the object at `path`, as JSONSerialization reads them.
private func topLevelKeys(_ body: [UInt8], path: [String] = []) -> Set<String>? {
    guard var node = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else { return nil }
    for key in path {
        guard let object = node as? [String: Any], let child = object[key] else { return nil }
        node = child
    }
    return (node as? [String: Any]).map { Set($0.keys) }
}

/// A JSON object of the present values (absent optionals are left out).
private func object(_ fields: [String: Any?]) -> [String: Any] {
    fields.compactMapValues { $0 }
}

private func checkThreshold(_ body: [UInt8]) {
    let decoded = roundTrip(ThresholdInput.self, body, allowed: ["id", "scope", "metricKey", "limits", "hysteresis", "minimumDurationSeconds"]) { input in
        let rule = input.rule
        let scope: Any
        switch rule.scope {
        case .global: scope = "global"
        case .chassis(let id): scope = ["chassis": id]
        case .moduleType(let role): scope = ["moduleType": role]
        case .slot(let slot): scope = ["slot": slot]
        }
        let limits = object(["lowCritical": rule.limits.lowCritical, "lowWarning": rule.limits.lowWarning,
                             "highWarning": rule.limits.highWarning, "highCritical": rule.limits.highCritical])
        return ["id": rule.id, "scope": scope, "metricKey": rule.metricKey, "limits": limits, "hysteresis": rule.hysteresis,
                "minimumDurationSeconds": rule.minimumDurationSeconds] as [String: Any]
    }
    guard let input = decoded else { return }
    if let keys = topLevelKeys(body, path: ["scope"]) {
        check(keys.count == 1 && keys.isSubset(of: ["chassis", "moduleType", "slot"]), "a scope of \(keys.sorted()) decoded")
    }
    if let keys = topLevelKeys(body, path: ["limits"]) {
        check(keys.isSubset(of: ["lowCritical", "lowWarning", "highWarning", "highCritical"]), "limits of \(keys.sorted()) decoded")
    }
    guard (try? input.validate(limits: limits)) != nil else { return }
    let rule = input.rule
    let present = [rule.limits.lowCritical, rule.limits.lowWarning, rule.limits.highWarning, rule.limits.highCritical].compactMap { $0 }
    check(present.allSatisfy(\.isFinite) && present == present.sorted(), "limits \(present) passed validation")
    check(rule.hysteresis.isFinite && rule.hysteresis >= 0 && rule.id >= 0, "hysteresis \(rule.hysteresis), id \(rule.id) passed")
    check((0...86_400).contains(rule.minimumDurationSeconds), "minimumDurationSeconds \(rule.minimumDurationSeconds) passed")
    check(!rule.metricKey.isEmpty && rule.metricKey.utf8.count <= limits.metricKeyBytesMax, "metricKey passed")
    if case .slot(let slot) = rule.scope { check((0...64).contains(slot), "slot \(slot) passed") }
}

private func checkSlot(_ body: [UInt8]) {
    let decoded = roundTrip(SlotInput.self, body, allowed: ["name", "moduleType", "affinity", "approve"]) { input in
        object(["name": input.name, "affinity": input.affinity?.rawValue, "approve": input.approve,
                "moduleType": input.moduleType.map { ["role": $0.role, "function": $0.function, "expectedModel": $0.expectedModel] }])
    }
    guard let input = decoded else { return }
    if let keys = topLevelKeys(body, path: ["moduleType"]) {
        check(keys.isSubset(of: ["role", "function", "expectedModel"]), "a moduleType of \(keys.sorted()) decoded")
    }
    guard (try? input.validate(limits: limits)) != nil else { return }
    check(input.name != nil || input.moduleType != nil || input.affinity != nil || input.approve != nil, "an empty change passed")
    for text in [input.name, input.moduleType?.role, input.moduleType?.function, input.moduleType?.expectedModel].compactMap({ $0 }) {
        check(text.utf8.count <= limits.nameBytesMax && !text.unicodeScalars.contains(where: isControl), "slot text \(text.debugDescription) passed")
    }
}

private func checkNotifications(_ body: [UInt8]) {
    guard let targets = decode(NotificationTargets.self, body) else { return }
    note("targets: \(targets)")
    _ = targets.problem()
    let written: Data
    do {
        written = try JSONEncoder().encode(targets)
    } catch {
        invariantFailed("targets \(targets) cannot be encoded: \(error)")
    }
    guard let again = decode(NotificationTargets.self, Array(written)) else {
        invariantFailed("targets written back do not decode: \(String(decoding: written, as: UTF8.self))")
    }
    check(again == targets, "targets written as \(String(decoding: written, as: UTF8.self)) decode to \(again)")
}

// MARK: - Helpers

private func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || scalar.value == 0x7F }

/// RFC 5869's first test case (HKDF-SHA256), for the stand-in that KeyDerivation.swift calls.
private func checkHKDFAgainstRFC5869() {
    let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: [UInt8](repeating: 0x0b, count: 22)),
                                     salt: Array(0x00...0x0c).map { UInt8($0) }, info: Array(0xf0...0xf9).map { UInt8($0) },
                                     outputByteCount: 42)
    let expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    check(key.withUnsafeBytes { hex(Array($0)) } == expected, "the HKDF stand-in fails RFC 5869 test case 1")
}
