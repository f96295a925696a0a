// libFuzzer entry for what the FastCGI edge reads from nginx before libfcgi does
// (Sources/Web/FastCGIRecords.swift) and the request parsing of Sources/Web/Request.swift and
// ETag.swift (the only Web files that need nothing else: the rest of Web pulls in Store,
// Access, Crypto and Mustache).
//
// The input is read:
// - as the bytes peeked from a connection: `FastCGIRecords.requestHead` over the same bytes as an
//   array, an array slice that does not start at 0, and a raw buffer (the FastCGI edge's form)
//   gives one answer, the answer an independent walk of the records gives; a prefix of the
//   bytes is either incomplete or has the whole's answer; more bytes never change a final one;
// - as text: a request target and query (`URLCoding`), CGI parameters (`Request.fromCGI`), an
//   `If-None-Match` field (`ETag.matches`). What decodes, encoded with `encodeComponent`,
//   decodes to the same again.
import Web

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFastCGIHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    checkRequestHead(bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    checkURLCoding(text)
    checkRequest(text)
    return 0
}

// MARK: - FastCGI records

private func checkRequestHead(_ bytes: [UInt8]) {
    let head = FastCGIRecords.requestHead(in: bytes)
    note("request head: \(head)")
    let expected = walk(bytes[...])
    check(head == expected, "requestHead says \(head), the records say \(expected)")
    let padded = [0xEE, 0xEE, 0xEE] + bytes
    check(FastCGIRecords.requestHead(in: padded[3...]) == head, "a slice not starting at 0 gives another answer")
    let raw = bytes.withUnsafeBytes { FastCGIRecords.requestHead(in: $0) }
    check(raw == head, "a raw buffer gives \(raw), an array \(head)")

    // What arrives later cannot change a final answer, and a prefix is incomplete or final.
    if head != .incomplete {
        check(FastCGIRecords.requestHead(in: bytes + [0x01, 0x04, 0, 0, 0, 0, 0, 0]) == head,
              "bytes after a \(head) head change the answer")
    }
    let step = max(1, bytes.count / 64)
    for length in stride(from: 0, to: bytes.count, by: step) {
        let prefix = FastCGIRecords.requestHead(in: bytes[..<length])
        check(prefix == .incomplete || prefix == head,
              "the first \(length) of \(bytes.count) bytes give \(prefix), all of them \(head)")
    }
}

/// The records as FastCGI 1.0 frames them (section 3.3): version, type, request id (2), content
/// length (2), padding length, reserved; the head ends with an empty PARAMS record (type 4).
private func walk(_ bytes: ArraySlice<UInt8>) -> FastCGIRecords.RequestHead {
    var rest = bytes
    while rest.count >= 8 {
        let header = Array(rest.prefix(8))
        guard header[0] == 1 else { return .malformed }
        let contentLength = Int(header[4]) * 256 + Int(header[5])
        let paddingLength = Int(header[6])
        guard rest.count >= 8 + contentLength + paddingLength else { return .incomplete }
        if header[1] == 4 && contentLength == 0 { return .complete }
        rest = rest.dropFirst(8 + contentLength + paddingLength)
    }
    return .incomplete
}

// MARK: - Targets, queries, headers

private func checkURLCoding(_ text: String) {
    for plusIsSpace in [false, true] {
        guard let decoded = try? URLCoding.percentDecode(text[...], plusIsSpace: plusIsSpace) else { continue }
        note("percent-decoded (plus is space: \(plusIsSpace)): \(decoded.debugDescription)")
        let encoded = URLCoding.encodeComponent(decoded)
        check(encoded.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "+") },
              "encodeComponent left a byte that is not unreserved: \(encoded.debugDescription)")
        for plus in [false, true] {
            let again = try? URLCoding.percentDecode(encoded[...], plusIsSpace: plus)
            check(again == decoded, "percentDecode(encodeComponent(x)) != x: \(decoded.debugDescription) -> \(encoded)")
        }
    }
    if let pairs = try? URLCoding.parseQuery(text) {
        note("query: \(pairs)")
        let rebuilt = pairs.map { URLCoding.encodeComponent($0.name) + "=" + URLCoding.encodeComponent($0.value) }
            .joined(separator: "&")
        guard let again = try? URLCoding.parseQuery(rebuilt) else {
            invariantFailed("parseQuery refuses a query built from what it parsed: \(rebuilt)")
        }
        check(again.map { [$0.name, $0.value] } == pairs.map { [$0.name, $0.value] },
              "parseQuery(rebuilt) != parsed: \(pairs) -> \(rebuilt) -> \(again)")
    }
    let safe = URLCoding.headerSafeTarget(text)
    check(safe.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "headerSafeTarget left a byte a header cannot carry")
}

/// Lines `NAME=VALUE` as CGI parameters; the body is whatever follows an empty line.
private func checkRequest(_ text: String) {
    var parameters: [String: String] = [:]
    var body: [UInt8] = []
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
    while let line = lines.popFirst() {
        if line.isEmpty {
            body = Array(lines.joined(separator: "\n").utf8)
            break
        }
        let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        parameters[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    let request = Request.fromCGI(parameters: parameters, body: body)
    note("request: \(request.method) \(request.rawTarget.debugDescription) headers \(request.headers)")
    let target = request.rawTarget
    check(request.rawPath + (target.contains("?") ? "?" + request.rawQuery : "") == target,
          "rawPath and rawQuery do not make up the target \(target.debugDescription)")
    _ = try? URLCoding.parseQuery(request.rawQuery)
    _ = try? URLCoding.percentDecode(request.rawPath[...], plusIsSpace: false)
    let etag = ETag.make(dataVersion: "fuzz", route: request.rawPath, stale: false)
    _ = ETag.matches(ifNoneMatch: request.header("if-none-match"), etag: etag)
    check(ETag.matches(ifNoneMatch: "W/" + etag, etag: etag), "a weak tag does not match its strong tag")
    _ = ETag.matches(ifNoneMatch: text, etag: etag)
}
