import Plumbing
import Foundation

/// A seeded generator, so that salts, keys, serial numbers and tokens repeat from run to run: the
/// shared SplitMix64 (Plumbing).
typealias SeededGenerator = SplitMix64

/// The openssl tool, found on PATH; nil when it is not installed (the tests that need it are
/// then skipped).
let opensslPath: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return (path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"])
        .map { $0 + "/openssl" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// What a finished openssl run printed and how it ended.
struct ToolResult {
    var status: Int32
    var output: String
}

/// Runs openssl with the given arguments and returns its exit status and its output (standard
/// output and standard error together).
func openssl(_ arguments: [String]) throws -> ToolResult {
    guard let tool = opensslPath else { return ToolResult(status: -1, output: "openssl is not installed") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// A temporary directory that removes itself when the test is done with it.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "certificates-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes a text file in the directory and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
