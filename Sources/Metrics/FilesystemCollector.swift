#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Model

/// One line of `/proc/mounts`.
public struct MountEntry: Sendable, Equatable {
    public var device: String
    public var mountPoint: String
    public var fsType: String

    public init(device: String, mountPoint: String, fsType: String) {
        self.device = device
        self.mountPoint = mountPoint
        self.fsType = fsType
    }
}

/// Space on one filesystem, in bytes, as `statvfs` reports it.
public struct FilesystemSpace: Sendable, Equatable {
    public var sizeBytes: UInt64
    /// Free blocks, including those reserved for root.
    public var freeBytes: UInt64
    /// Free blocks an unprivileged user may use (`df`'s "Avail", node_exporter's `avail`).
    public var availableBytes: UInt64

    public init(sizeBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64) {
        self.sizeBytes = sizeBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
    }

    /// Used share as `df` computes it: used / (used + available), so the root reserve counts as
    /// unavailable rather than free.
    public var usedPercent: Double {
        let used = sizeBytes >= freeBytes ? sizeBytes - freeBytes : 0
        let denominator = used &+ availableBytes
        if denominator == 0 { return 0 }
        return Double(used) / Double(denominator) * 100
    }
}

/// Which mounts carry disk space worth watching.
///
/// As node_exporter does, pseudo filesystems (proc, sysfs, cgroup, devpts, ...) and anything
/// mounted under `/dev`, `/proc` or `/sys` are skipped. `tmpfs` elsewhere is kept: a full `/run`
/// or `/tmp` breaks a blade as surely as a full disk. `overlay` is kept only at `/`, where it is
/// the root of a container. Network filesystems are skipped because `statvfs` on an unreachable
/// server blocks, and a sampler must never hang.
public enum FilesystemFilter {
    public static let ignoredTypes: Set<String> = [
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
        "efivarfs", "erofs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "proc", "procfs", "pstore",
        "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs", "ramfs", "rootfs",
        "nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "fuse.gvfsd-fuse", "fuse.portal", "fuse.lxcfs",
    ]
    /// Mount points left out with everything under them: the kernel's, and (as node_exporter
    /// does) systemd's credentials and container engines' layers, which belong to other namespaces.
    public static let ignoredMountPrefixes = ["/dev", "/proc", "/sys", "/run/credentials", "/var/lib/docker",
                                              "/var/lib/containers/storage", "/var/lib/kubelet/pods"]

    public static func keeps(_ entry: MountEntry) -> Bool {
        if ignoredTypes.contains(entry.fsType) { return false }
        if entry.fsType == "overlay" && entry.mountPoint != "/" { return false }
        for prefix in ignoredMountPrefixes where FilesystemSelection.isAtOrUnder(entry.mountPoint, prefix) { return false }
        return true
    }
}

/// The operator's choice of mount points (`[hardware] filesystems_include` and
/// `filesystems_exclude`): each a mount point, which takes everything under it too. With an
/// include list only those are watched; an exclude list leaves those out (after the defaults).
public struct FilesystemSelection: Sendable, Equatable {
    public var include: [String]
    public var exclude: [String]

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    public func selects(_ mountPoint: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { Self.isAtOrUnder(mountPoint, $0) }) { return false }
        return !exclude.contains { Self.isAtOrUnder(mountPoint, $0) }
    }

    /// `/run` is at or under `/run`, and so is `/run/user/0`; `/runtime` is not.
    static func isAtOrUnder(_ mountPoint: String, _ prefix: String) -> Bool {
        let trimmed = prefix.count > 1 && prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        return mountPoint == trimmed || trimmed == "/" || mountPoint.hasPrefix(trimmed + "/")
    }
}

/// Parses `/proc/mounts` (the fstab format): device, mount point, type, options, two numbers.
/// Octal escapes (`\040` for a space) in the first two fields are decoded. Lines with fewer than
/// three fields are skipped. A mount point listed twice keeps its last entry, the one on top.
public func parseMounts(_ bytes: UnsafeBufferPointer<UInt8>) -> [MountEntry] {
    var entries: [MountEntry] = []
    var position: [String: Int] = [:]
    var fields = [Range<Int>](repeating: 0..<0, count: 6)
    ByteParsing.forEachLine(bytes) { line in
        let count = ByteParsing.split(bytes, line, into: &fields)
        guard count >= 3 else { return }
        let entry = MountEntry(device: unescapeMountField(bytes, fields[0]),
                               mountPoint: unescapeMountField(bytes, fields[1]),
                               fsType: ByteParsing.string(bytes, fields[2]))
        guard entry.mountPoint.hasPrefix("/") else { return }
        if let existing = position[entry.mountPoint] {
            entries[existing] = entry
        } else {
            position[entry.mountPoint] = entries.count
            entries.append(entry)
        }
    }
    return entries
}

public func parseMounts(_ text: String) -> [MountEntry] {
    ByteParsing.withBytes(of: text) { parseMounts($0) }
}

func unescapeMountField(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
    var decoded: [UInt8] = []
    decoded.reserveCapacity(range.count)
    var index = range.lowerBound
    while index < range.upperBound {
        let byte = bytes[index]
        if byte == 0x5C /* \ */ && index + 3 < range.upperBound {
            let digits = (index + 1)..<(index + 4)
            if digits.allSatisfy({ bytes[$0] >= 0x30 && bytes[$0] <= 0x37 }) {
                let value = digits.reduce(0) { $0 * 8 + Int(bytes[$1] - 0x30) }
                if value < 256 {
                    decoded.append(UInt8(value))
                    index += 4
                    continue
                }
            }
        }
        decoded.append(byte)
        index += 1
    }
    return String(decoding: decoded, as: UTF8.self)
}

/// Free space per mounted filesystem, from `/proc/mounts` and `statvfs`.
public final class FilesystemCollector: Collector {
    public let name = "proc.filesystem"
    public let group = SamplingGroup.disk
    public let procRoot: String
    private let path: String
    private let space: (String) -> Result<FilesystemSpace, FileReadError>
    private let identity: (String) -> UInt64?
    public let selection: FilesystemSelection
    private let reader = BoundedFileReader(maximumBytes: 256 * 1024)
    private var descriptors = DescriptorCache()

    /// - Parameters:
    ///   - selection: the operator's include and exclude lists.
    ///   - space: how to measure a mount point; `statvfs` unless a test injects one.
    ///   - identity: which filesystem a mount point is (`stat`'s device); a filesystem mounted
    ///     again elsewhere (a bind mount, a container's view of the host) is watched once, at
    ///     its first mount point.
    public init(procRoot: String = "/proc", selection: FilesystemSelection = FilesystemSelection(),
                space: ((String) -> Result<FilesystemSpace, FileReadError>)? = nil,
                identity: ((String) -> UInt64?)? = nil) {
        self.procRoot = procRoot
        self.path = procRoot + "/mounts"
        self.selection = selection
        self.space = space ?? FilesystemCollector.statvfsSpace
        self.identity = identity ?? FilesystemCollector.deviceIdentity
    }

    public static func deviceIdentity(_ mountPoint: String) -> UInt64? {
        var status = stat()
        guard stat(mountPoint, &status) == 0 else { return nil }
        return UInt64(status.st_dev)
    }

    public static func statvfsSpace(_ mountPoint: String) -> Result<FilesystemSpace, FileReadError> {
        var stats = statvfs()
        if statvfs(mountPoint, &stats) != 0 {
            let code = errno
            return .failure(FileReadError(path: mountPoint, code: code, reason: BoundedFileReader.describe(code)))
        }
        let block = UInt64(stats.f_frsize)
        return .success(FilesystemSpace(sizeBytes: UInt64(stats.f_blocks) &* block,
                                        freeBytes: UInt64(stats.f_bfree) &* block,
                                        availableBytes: UInt64(stats.f_bavail) &* block))
    }

    public func collect() throws -> [Reading] {
        let mounts = try reader.withContents(of: path) { parseMounts($0) }
        var result: [Reading] = []
        var seen = Set<UInt64>()
        for mount in mounts where FilesystemFilter.keeps(mount) && selection.selects(mount.mountPoint) {
            if let device = identity(mount.mountPoint), !seen.insert(device).inserted { continue }
            result.append(contentsOf: readings(mount, space(mount.mountPoint)))
        }
        return result
    }

    /// Readings for one mount: used percent, available and size in bytes (faults if unmeasurable).
    public func readings(_ mount: MountEntry, _ measured: Result<FilesystemSpace, FileReadError>) -> [Reading] {
        let labels = ["device": mount.device, "mountpoint": mount.mountPoint, "fstype": mount.fsType]
        let component = "filesystem \(mount.mountPoint)"
        func make(_ suffix: String, _ label: String, _ unit: String, _ prometheusName: String) -> MetricDescriptor {
            let key = "filesystem.\(mount.mountPoint).\(suffix)"
            return descriptors.descriptor(key + "\u{0}" + mount.device) {
                Descriptors.performance(key: key, label: "\(label) \(mount.mountPoint)", unit: unit,
                                        source: name, group: group, component: component,
                                        prometheusName: prometheusName, labels: labels)
            }
        }
        let used = make("used_percent", "Used", "percent", "chassis_filesystem_used_ratio")
        let free = make("free_bytes", "Available", "bytes", "node_filesystem_avail_bytes")
        let size = make("size_bytes", "Size", "bytes", "node_filesystem_size_bytes")
        switch measured {
        case .success(let space):
            return [Reading(descriptor: used, value: space.usedPercent),
                    Reading(descriptor: free, value: Double(space.availableBytes)),
                    Reading(descriptor: size, value: Double(space.sizeBytes))]
        case .failure(let error):
            return [used, free, size].map { Reading(descriptor: $0, fault: error.description) }
        }
    }
}
