/// A parser for the subset of TOML the configuration file uses: comments, `[table]`,
/// `[[array-of-tables]]`, `key = value` with basic and literal strings, integers, floats,
/// booleans and single-line arrays of those. Anything else is an error naming the line.
///
/// Pure: text in, values or a located error out.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a number"
        case .bool: return "a boolean"
        case .array: return "an array"
        }
    }
}

/// A table: its keys with the line each was set on, so that later checks can name the line.
public struct TOMLTable: Equatable, Sendable {
    public var values: [String: TOMLValue] = [:]
    public var lines: [String: Int] = [:]
    /// Line of the table header (0 for the root table).
    public var line: Int = 0
}

public struct TOMLDocument: Equatable, Sendable {
    public var root = TOMLTable()
    public var tables: [String: TOMLTable] = [:]
    public var arrays: [String: [TOMLTable]] = [:]
}

public struct TOMLError: Error, Equatable, Sendable {
    public var line: Int
    public var message: String
}

public enum TOMLParser {
    /// Limits, so that a hostile or broken file cannot make the parser do unbounded work.
    public static let fileBytesMax = 1 << 20
    public static let lineBytesMax = 8 << 10
    public static let arrayItemsMax = 1_024

    public static func parse(_ text: String) throws -> TOMLDocument {
        guard text.utf8.count <= fileBytesMax else {
            throw TOMLError(line: 0, message: "file is larger than \(fileBytesMax) bytes")
        }
        var document = TOMLDocument()
        enum Target { case root, table(String), arrayItem(String) }
        var target = Target.root
        var lineNumber = 0
        // Split the bytes, not the Characters: "\r\n" is one Character, so a CRLF file split by
        // Character would be a single line (found by fuzzing).
        for rawLine in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            guard rawLine.count <= lineBytesMax else {
                throw TOMLError(line: lineNumber, message: "line is longer than \(lineBytesMax) bytes")
            }
            var cursor = Cursor(Array(rawLine), line: lineNumber)
            cursor.skipSpaces()
            if cursor.atEndOrComment { continue }
            if cursor.peek == UInt8(ascii: "[") {
                let isArray = cursor.peek(at: 1) == UInt8(ascii: "[")
                cursor.advance(isArray ? 2 : 1)
                cursor.skipSpaces()
                let name = try cursor.dottedKey()
                cursor.skipSpaces()
                try cursor.expect("]")
                if isArray { try cursor.expect("]") }
                cursor.skipSpaces()
                guard cursor.atEndOrComment else { throw cursor.error("unexpected text after the table header") }
                if isArray {
                    var table = TOMLTable()
                    table.line = lineNumber
                    document.arrays[name, default: []].append(table)
                    target = .arrayItem(name)
                } else {
                    if document.tables[name] != nil || document.arrays[name] != nil {
                        throw cursor.error("table [\(name)] is defined twice")
                    }
                    var table = TOMLTable()
                    table.line = lineNumber
                    document.tables[name] = table
                    target = .table(name)
                }
                continue
            }
            let key = try cursor.dottedKey()
            cursor.skipSpaces()
            try cursor.expect("=")
            cursor.skipSpaces()
            let value = try cursor.value(depth: 0)
            cursor.skipSpaces()
            guard cursor.atEndOrComment else { throw cursor.error("unexpected text after the value of '\(key)'") }
            func set(_ table: inout TOMLTable) throws {
                if table.values[key] != nil {
                    throw TOMLError(line: lineNumber, message: "key '\(key)' is set twice (first on line \(table.lines[key] ?? 0))")
                }
                table.values[key] = value
                table.lines[key] = lineNumber
            }
            switch target {
            case .root: try set(&document.root)
            case .table(let name): try set(&document.tables[name]!)
            case .arrayItem(let name): try set(&document.arrays[name]![document.arrays[name]!.count - 1])
            }
        }
        return document
    }

    private struct Cursor {
        let bytes: [UInt8]
        let line: Int
        var index = 0

        init(_ line: [UInt8], line number: Int) {
            // A trailing carriage return (CRLF files) is not part of the line.
            self.bytes = line.last == 0x0D ? Array(line.dropLast()) : line
            self.line = number
        }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
        func peek(at offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }
        mutating func advance(_ count: Int = 1) { index += count }

        mutating func skipSpaces() {
            while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
        }

        func error(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

        mutating func expect(_ character: Character) throws {
            guard let byte = peek, byte == character.asciiValue! else {
                throw error("expected '\(character)'")
            }
            index += 1
        }

        mutating func bareKey() throws -> String {
            let start = index
            while let byte = peek, Cursor.isBareKeyByte(byte) { index += 1 }
            guard index > start else { throw error("expected a key") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func dottedKey() throws -> String {
            var parts = [try bareKey()]
            while peek == UInt8(ascii: ".") {
                index += 1
                parts.append(try bareKey())
            }
            return parts.joined(separator: ".")
        }

        static func isBareKeyByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }

        mutating func value(depth: Int) throws -> TOMLValue {
            guard let byte = peek else { throw error("expected a value") }
            switch byte {
            case UInt8(ascii: "\""): return .string(try basicString())
            case UInt8(ascii: "'"): return .string(try literalString())
            case UInt8(ascii: "["):
                guard depth < 4 else { throw error("arrays nested too deeply") }
                return try array(depth: depth + 1)
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let word = try bareKey()
                if word == "true" { return .bool(true) }
                if word == "false" { return .bool(false) }
                throw error("unknown value '\(word)' (strings need quotes)")
            default:
                return try number()
            }
        }

        mutating func array(depth: Int) throws -> TOMLValue {
            index += 1
            var items: [TOMLValue] = []
            while true {
                skipSpaces()
                if peek == UInt8(ascii: "]") { index += 1; return .array(items) }
                guard peek != nil, peek != UInt8(ascii: "#") else {
                    throw error("unterminated array (arrays must stay on one line)")
                }
                items.append(try value(depth: depth))
                guard items.count <= TOMLParser.arrayItemsMax else { throw error("array has too many items") }
                skipSpaces()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                if peek == UInt8(ascii: "]") { index += 1; return .array(items) }
                if atEndOrComment { throw error("unterminated array (arrays must stay on one line)") }
                throw error("expected ',' or ']' in array")
            }
        }

        mutating func basicString() throws -> String {
            index += 1
            var out: [UInt8] = []
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else {
                        throw error("string is not valid UTF-8")
                    }
                    return text
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { throw error("unterminated escape") }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count,
                              let scalarValue = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(scalarValue) else {
                            throw error("bad \\u escape")
                        }
                        index += 4
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: throw error("unknown escape '\\\(Character(Unicode.Scalar(escaped)))'")
                    }
                case 0x00..<0x20 where byte != 0x09:
                    throw error("control character in string")
                default:
                    out.append(byte)
                }
            }
            throw error("unterminated string")
        }

        mutating func literalString() throws -> String {
            index += 1
            let start = index
            while let byte = peek {
                if byte == UInt8(ascii: "'") {
                    let slice = Array(bytes[start..<index])
                    index += 1
                    guard let text = String(validating: slice, as: UTF8.self) else { throw error("string is not valid UTF-8") }
                    return text
                }
                index += 1
            }
            throw error("unterminated string")
        }

        mutating func number() throws -> TOMLValue {
            let start = index
            while let byte = peek, byte != 0x20, byte != 0x09, byte != UInt8(ascii: ","), byte != UInt8(ascii: "]"),
                  byte != UInt8(ascii: "#") {
                index += 1
            }
            let word = String(decoding: bytes[start..<index], as: UTF8.self).replacingUnderscores()
            guard !word.isEmpty else { throw error("expected a value") }
            if let integer = Int(word) { return .integer(integer) }
            if let float = Double(word), float.isFinite, word.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                return .float(float)
            }
            throw error("cannot read '\(word)' as a value (strings need quotes)")
        }
    }
}

private extension String {
    func replacingUnderscores() -> String {
        // TOML allows 1_000; an underscore must sit between digits.
        var out = ""
        var previous: Character? = nil
        let characters = Array(self)
        for (position, character) in characters.enumerated() {
            if character == "_", let before = previous, before.isNumber,
               position + 1 < characters.count, characters[position + 1].isNumber {
                previous = character
                continue
            }
            out.append(character)
            previous = character
        }
        return out
    }
}
