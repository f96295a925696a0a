// libFuzzer entry for the configuration file (Sources/Config/TOML.swift, BladeConfig.swift).
//
// The input is the file's text (bytes that are not UTF-8 become U+FFFD, as any String would
// hold them): `TOMLParser.parse` and `BladeConfig.parse` read it. Checked:
// - every error names a line of the text (0 only for the whole file);
// - a parsed document written back as TOML (`render` below) parses to the same values;
// - the same text with CRLF line ends parses the same way (the parser reads CRLF files; this
//   check found that it did not, and BladeConfigTests.crlfLineEndsParseLikeLF keeps it so).
import Config
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lineCount = text.utf8.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }

    let parsed = Result { try TOMLParser.parse(text) }
    switch parsed {
    case .success(let document):
        note("document: \(document)")
        roundTrip(document)
    case .failure(let error):
        note("TOML error: \(error)")
        guard let error = error as? TOMLError else { invariantFailed("TOMLParser threw \(type(of: error)): \(error)") }
        check((0...lineCount).contains(error.line), "TOMLError names line \(error.line) of \(lineCount)")
    }

    do {
        let config = try BladeConfig.parse(text, file: "fuzz.toml")
        note("config: \(config)")
        if case .failure(let error) = parsed { invariantFailed("BladeConfig.parse accepted text the TOML parser refuses (\(error))") }
    } catch let error as ConfigError {
        note("config error: \(error)")
        check(error.file == "fuzz.toml", "a ConfigError names another file: \(error)")
        check((0...lineCount).contains(error.line), "ConfigError names line \(error.line) of \(lineCount): \(error)")
    } catch {
        invariantFailed("BladeConfig.parse threw \(type(of: error)), not a ConfigError: \(error)")
    }

    if !text.utf8.contains(0x0D) {
        let crlf = String(decoding: text.utf8.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }, as: UTF8.self)
        switch (parsed, Result { try TOMLParser.parse(crlf) }) {
        case (.success(let lf), .success(let crlfDocument)):
            check(withoutLines(lf) == withoutLines(crlfDocument), "CRLF line ends change the document")
        case (.failure(let lf as TOMLError), .failure(let crlfError as TOMLError)):
            check(lf.line == crlfError.line, "CRLF line ends move the error from line \(lf.line) to \(crlfError.line)")
        case (let lf, let crlfResult):
            invariantFailed("CRLF line ends change the outcome: LF \(lf), CRLF \(crlfResult)")
        }
    }
    return 0
}

/// Writes the document back as TOML, parses that, and compares the values (not the lines).
private func roundTrip(_ document: TOMLDocument) {
    guard let rendered = render(document) else {
        note("no round trip: a rendered line would exceed the parser's limits")
        return
    }
    let again: TOMLDocument
    do {
        again = try TOMLParser.parse(rendered)
    } catch {
        invariantFailed("the parser refuses the document written back (\(error)):\n\(rendered)")
    }
    check(withoutLines(again) == withoutLines(document),
          "parse(render(document)) != document\n  rendered:\n\(rendered)\n  document: \(document)\n  again: \(again)")
}

private func withoutLines(_ document: TOMLDocument) -> TOMLDocument {
    func strip(_ table: TOMLTable) -> TOMLTable {
        var table = table
        table.lines = [:]
        table.line = 0
        return table
    }
    var document = document
    document.root = strip(document.root)
    document.tables = document.tables.mapValues(strip)
    document.arrays = document.arrays.mapValues { $0.map(strip) }
    return document
}

/// TOML text for the document: root keys, then each `[table]`, then each `[[array]]` item (a
/// table and an array of tables may share a name when the table came first). Nil when a line
/// would be longer than the parser allows (escaping can make a value longer than it was read).
private func render(_ document: TOMLDocument) -> String? {
    var lines: [String] = []
    func emit(_ table: TOMLTable) {
        for key in table.values.keys.sorted() { lines.append("\(key) = \(render(table.values[key]!))") }
    }
    emit(document.root)
    for name in document.tables.keys.sorted() {
        lines.append("[\(name)]")
        emit(document.tables[name]!)
    }
    for name in document.arrays.keys.sorted() {
        for item in document.arrays[name]! {
            lines.append("[[\(name)]]")
            emit(item)
        }
    }
    let text = lines.joined(separator: "\n")
    guard lines.allSatisfy({ $0.utf8.count <= TOMLParser.lineBytesMax }), text.utf8.count <= TOMLParser.fileBytesMax else {
        return nil
    }
    return text
}

private func render(_ value: TOMLValue) -> String {
    switch value {
    case .string(let text):
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let digits = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    case .integer(let number): return String(number)
    case .float(let number): return "\(number)" // Swift's shortest form: "1.0", "1e+16", "-0.0"
    case .bool(let flag): return flag ? "true" : "false"
    case .array(let items): return "[" + items.map(render).joined(separator: ", ") + "]"
    }
}
