import Foundation
@testable import Metrics

/// Fixture files copied from a real /proc (and a few hand-made malformed ones).
enum Fixture {
    static func url(_ name: String) -> URL {
        guard let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures folder is missing from the test bundle")
        }
        return directory.appendingPathComponent(name)
    }

    static func text(_ name: String) -> String {
        guard let data = try? Data(contentsOf: url(name)) else { fatalError("missing fixture \(name)") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A fresh temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ prefix: String = "metrics-test") {
        // tmpfs when there is one: the simulator tests write many small files, and a disk-backed
        // /tmp on a busy build machine makes each write cost a millisecond or more.
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        let template = base + "/\(prefix)-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let result = mkdtemp(&bytes) else { fatalError("mkdtemp failed") }
        path = String(cString: result)
    }

    func file(_ relative: String) -> String { path + "/" + relative }

    func write(_ relative: String, _ contents: String) {
        let full = file(relative)
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(contents.utf8))
    }

    func read(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: file(relative)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A proc root made of fixture files.
func fixtureProcRoot(stat: String = "proc_stat_1.txt") -> TemporaryDirectory {
    let root = TemporaryDirectory("procroot")
    root.write("stat", Fixture.text(stat))
    root.write("meminfo", Fixture.text("meminfo.txt"))
    root.write("loadavg", Fixture.text("loadavg.txt"))
    root.write("uptime", Fixture.text("uptime.txt"))
    root.write("diskstats", Fixture.text("diskstats.txt"))
    root.write("net/dev", Fixture.text("net_dev.txt"))
    root.write("mounts", Fixture.text("mounts.txt"))
    return root
}
