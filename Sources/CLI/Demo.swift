import Config
import Foundation
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// A simulated chassis on this machine: blade i on 127.0.1.i, each with its own engine (over a
/// simulated hwmon tree read by the real libsensors in a private mount namespace), web app and
/// nginx on port 8080, and its own state directory.
struct DemoBlade: Codable {
    var index: Int
    var address: String
    var directory: String
    var runtimeDirectory: String
    var engine: Int32 = 0
    var web: Int32 = 0
    var nginx: Int32 = 0

    var configPath: String { directory + "/blade.toml" }
    /// On the tmpfs: the simulation rewrites its files every sample.
    var simulatedDirectory: String { runtimeDirectory + "/sim" }
    var nginxPrefix: String { directory + "/nginx" }
    var name: String { "blade\(index)" }
}

struct DemoState: Codable {
    var root: String
    var directory: String
    var port: Int
    var slots: Int
    var blades: [DemoBlade]

    static func path(in directory: String) -> String { directory + "/demo.json" }

    static func load(directory: String) throws -> DemoState {
        guard let data = FileManager.default.contents(atPath: path(in: directory)) else {
            throw DemoError("no demo running in \(directory) (no demo.json); start one with: chassisctl demo up")
        }
        return try JSONDecoder().decode(DemoState.self, from: data)
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: DemoState.path(in: directory)), options: .atomic)
    }

    func blade(_ index: Int) throws -> DemoBlade {
        guard let blade = blades.first(where: { $0.index == index }) else {
            throw DemoError("no blade \(index) in this demo (blades: \(blades.map { String($0.index) }.joined(separator: ", ")))")
        }
        return blade
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Demo {
    static let defaultDirectory = "/tmp/chassis-demo"
    static let readyTimeoutSeconds = 30.0

    static func address(of index: Int) -> String { "127.0.1.\(index)" }

    static func up(blades count: Int, slots: Int?, directory: String, root: String, port: Int) throws -> DemoState {
        guard (1...16).contains(count) else { throw DemoError("--blades must be between 1 and 16") }
        if let existing = try? DemoState.load(directory: directory),
           existing.blades.contains(where: { Processes.isAlive($0.engine) || Processes.isAlive($0.nginx) }) {
            throw DemoError("a demo is already running in \(directory); stop it with: chassisctl demo down")
        }
        for tool in ["nginx", "unshare"] where Processes.which(tool) == nil {
            throw DemoError("\(tool) is not installed; run: make deps")
        }
        let slotCount = min(16, max(count, slots ?? max(count, 8)))
        let runtimeRoot = "/dev/shm/chassis-demo-\(getuid())" + directory.replacingOccurrences(of: "/", with: "_")
        try? FileManager.default.removeItem(atPath: runtimeRoot)
        var state = DemoState(root: root, directory: directory, port: port, slots: slotCount, blades: [])
        for index in 1...count {
            let blade = DemoBlade(index: index, address: address(of: index), directory: "\(directory)/blade\(index)",
                                  runtimeDirectory: "\(runtimeRoot)/blade\(index)")
            try prepare(blade, state: state)
            state.blades.append(blade)
        }
        try state.save()
        for position in state.blades.indices {
            try start(&state.blades[position], state: state)
            try state.save()
        }
        try waitUntilReady(state.blades, port: port)
        return state
    }

    /// Writes a blade's configuration file and nginx configuration.
    static func prepare(_ blade: DemoBlade, state: DemoState) throws {
        let fileManager = FileManager.default
        for path in [blade.directory, blade.directory + "/state", blade.simulatedDirectory + "/class", blade.nginxPrefix,
                     blade.runtimeDirectory] {
            try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        let config = """
        # Written by chassisctl demo up; see config/blade.example.toml for every setting.
        [blade]
        name = "\(blade.name)"
        address = "\(blade.address)"
        slot = \(blade.index)

        [chassis]
        id = "660007770088"
        name = "Demo chassis"
        site = "Lab"
        row = "A"
        rack = "12"
        shelf = "3"
        slots = \(state.slots)

        [paths]
        state_dir = "\(blade.directory)/state"
        runtime_dir = "\(blade.runtimeDirectory)"

        [web]
        port = \(state.port)
        templates_dir = "\(state.root)/Templates"
        public_dir = "\(state.root)/Public"

        [hardware]
        simulated_dir = "\(blade.simulatedDirectory)"

        """
        try config.write(toFile: blade.configPath, atomically: true, encoding: .utf8)
        let templatePath = state.root + "/nginx/blade.conf.template"
        guard let template = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
            throw DemoError("cannot read \(templatePath)")
        }
        let rendered = NginxTemplate.render(template, values: [
            "prefix": blade.nginxPrefix,
            "listen": "\(blade.address):\(state.port)",
            "public_root": state.root + "/Public",
            "fastcgi_socket": blade.runtimeDirectory + "/web.sock",
            "mime_types": "/etc/nginx/mime.types",
        ])
        try rendered.write(toFile: blade.nginxPrefix + "/nginx.conf", atomically: true, encoding: .utf8)
    }

    /// Starts a blade's three processes: the engine first (it creates the databases), then the
    /// web app, then nginx.
    static func start(_ blade: inout DemoBlade, state: DemoState) throws {
        let binaries = Processes.executableDirectory
        guard let unshare = Processes.which("unshare"), let nginx = Processes.which("nginx") else {
            throw DemoError("unshare and nginx are needed; run: make deps")
        }
        let engine = binaries + "/chassis-engine"
        let web = binaries + "/chassis-web"
        for binary in [engine, web] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw DemoError("\(binary) is not built; run: make build")
        }
        try FileManager.default.createDirectory(atPath: blade.runtimeDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: blade.simulatedDirectory + "/class", withIntermediateDirectories: true)
        // The engine runs in a private mount namespace where the simulated tree is /sys/class,
        // so the real libsensors reads it exactly as it reads hardware.
        let namespaceFlags = geteuid() == 0 ? "-m" : "-Urm"
        blade.engine = try Processes.spawn(
            [unshare, namespaceFlags, "--propagation", "private", "--", "/bin/sh", "-c",
             #"mount --bind "$0" /sys/class && exec "$@""#, blade.simulatedDirectory + "/class",
             engine, "--config", blade.configPath],
            logPath: blade.directory + "/engine.log")
        try waitFor(seconds: 10, what: "\(blade.name) engine control socket") {
            FileManager.default.fileExists(atPath: blade.runtimeDirectory + "/engine.sock")
        }
        blade.web = try Processes.spawn([web, "--config", blade.configPath], logPath: blade.directory + "/web.log")
        try waitFor(seconds: 10, what: "\(blade.name) web app socket") {
            FileManager.default.fileExists(atPath: blade.runtimeDirectory + "/web.sock")
        }
        blade.nginx = try Processes.spawn(
            [nginx, "-p", blade.nginxPrefix + "/", "-c", blade.nginxPrefix + "/nginx.conf", "-e", blade.nginxPrefix + "/error.log",
             "-g", "daemon off;"],
            logPath: blade.directory + "/nginx.log")
    }

    static func waitFor(seconds: Double, what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            usleep(50_000)
        }
        throw DemoError("timed out after \(Int(seconds)) s waiting for \(what)")
    }

    static func waitUntilReady(_ blades: [DemoBlade], port: Int) throws {
        for blade in blades {
            try waitFor(seconds: readyTimeoutSeconds, what: "http://\(blade.address):\(port)/api/v1/local") {
                HTTPProbe.get(host: blade.address, port: port, path: "/api/v1/local")?.status == 200
            }
        }
    }

    /// Every process of the blade, children included (nginx workers outlive a killed master).
    static func processTree(_ pid: Int32) -> [Int32] {
        guard pid > 0 else { return [] }
        var result = [pid]
        var frontier = [pid]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var parents: [Int32: Int32] = [:]
        for entry in entries {
            guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, let parent = Int32(fields[1]) { parents[child] = parent }
        }
        while let next = frontier.popLast() {
            for (child, parent) in parents where parent == next && !result.contains(child) {
                result.append(child)
                frontier.append(child)
            }
        }
        return result
    }

    static func stopBlade(_ blade: DemoBlade) {
        // nginx first (no new requests), then the web app, then the engine.
        for pid in [blade.nginx, blade.web, blade.engine] {
            let tree = processTree(pid)
            Processes.stop(pid, graceSeconds: 5)
            for child in tree.dropFirst() { Processes.stop(child, graceSeconds: 1) }
        }
    }

    static func killBlade(_ blade: DemoBlade) {
        for pid in [blade.engine, blade.web, blade.nginx] {
            for member in processTree(pid) where Processes.isAlive(member) {
                kill(member, SIGKILL)
            }
        }
        for pid in [blade.engine, blade.web, blade.nginx] { Processes.reap(pid) }
    }

    static func down(directory: String) throws {
        let state = try DemoState.load(directory: directory)
        for blade in state.blades { stopBlade(blade) }
        try? FileManager.default.removeItem(atPath: DemoState.path(in: directory))
    }

    static func setSensor(state: DemoState, blade index: Int, key: String, value: String) throws {
        let blade = try state.blade(index)
        if value == "release" {
            try SimulatedHardware.removePin(key, in: blade.simulatedDirectory)
        } else if key == SimulatedHardware.powerSupplyKey && (value == "ok" || value == "failed") {
            try SimulatedHardware.setPowerSupply(ok: value == "ok", in: blade.simulatedDirectory)
        } else {
            guard let pin = SimulatedHardware.PinValue(value) else {
                throw DemoError("value must be a number, 'fault' or 'release' (got \(value))")
            }
            try SimulatedHardware.setPin(key, pin, in: blade.simulatedDirectory)
        }
    }
}

/// Renders the nginx template by plain replacement of `{{name}}` placeholders; a placeholder
/// left unreplaced is an error in the template, caught by the tests.
enum NginxTemplate {
    static func render(_ template: String, values: [String: String]) -> String {
        var text = template
        for (name, value) in values {
            text = text.replacingOccurrences(of: "{{\(name)}}", with: value)
        }
        return text
    }
}

extension Demo {
    /// A new module in the same slot: the simulated blade reads its serial number from this file
    /// when it starts, as a real blade reads its own from DMI.
    static func replaceModule(_ blade: DemoBlade, serial: String?) throws {
        let newSerial = serial ?? "CMR\(String(UInt32.random(in: 10_000_000...99_999_999)))"
        guard !newSerial.isEmpty, newSerial.utf8.count <= 64,
              newSerial.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw DemoError("a serial number is 1 to 64 letters, digits or '-'")
        }
        try (newSerial + "\n").write(toFile: blade.simulatedDirectory + "/module-serial", atomically: true, encoding: .utf8)
        print("\(blade.name): module replaced, new serial \(newSerial)")
    }
}
