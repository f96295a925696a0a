import Foundation
import Testing
import Model
@testable import Metrics

@Suite("Pure /proc parsers, from fixture files")
struct ProcParserTests {
    // MARK: /proc/stat

    @Test func procStatFromRealFixture() {
        let stat = parseProcStat(Fixture.text("proc_stat_1.txt"))
        #expect(stat.malformedLines == 0)
        #expect(stat.total == CPUTimes(user: 2917, nice: 0, system: 1930, idle: 46482, iowait: 293,
                                       irq: 0, softirq: 39, steal: 8))
        #expect(stat.cores.map(\.index) == [0, 1])
        #expect(stat.cores[1].times.system == 1097)
    }

    @Test func truncatedProcStatKeepsWhatParses() {
        let stat = parseProcStat(Fixture.text("proc_stat_truncated.txt"))
        #expect(stat.total != nil)
        // "cpu1 1892 0 10" has too few fields to be a CPU line: skipped, not a crash.
        #expect(stat.cores.map(\.index) == [0])
        #expect(stat.malformedLines == 1)
    }

    @Test func garbageProcStatSkipsBadLines() {
        let stat = parseProcStat(Fixture.text("proc_stat_garbage.txt"))
        #expect(stat.total?.idle == 80)
        #expect(stat.cores.map(\.index) == [1])
        // cpu0 with words, cpuX, and a bare "cpu".
        #expect(stat.malformedLines == 3)
    }

    @Test(arguments: ["", "\n\n", "cpu", "cpu0 ", "cpu 1 2 3", "cpu -1 2 3 4 5", "cpu99999999999999999999 1 2 3 4 5",
                      "cpu 99999999999999999999999 1 2 3 4", String(repeating: "x", count: 10_000)])
    func hostileProcStatNeverCrashes(_ text: String) {
        let stat = parseProcStat(text)
        #expect(stat.total == nil)
        #expect(stat.cores.isEmpty)
    }

    @Test func cpuRatesFromTwoSuccessiveSnapshots() {
        let collector = CPUCollector(procRoot: "/nonexistent")
        let first = parseProcStat(Fixture.text("proc_stat_1.txt"))
        let second = parseProcStat(Fixture.text("proc_stat_2.txt"))
        // The first read gives node_exporter's counters only (seconds in each mode, per core).
        let counters = collector.readings(previous: nil, current: first)
        #expect(counters.count == 2 * 8 && counters.allSatisfy { $0.descriptor.prometheusName == "node_cpu_seconds_total" })
        #expect(counters.allSatisfy { $0.descriptor.replication == .local && $0.descriptor.isCounter })
        #expect(counters.first { $0.descriptor.prometheusLabels == ["cpu": "1", "mode": "iowait"] }?.value
                == Double(first.cores[1].times.iowait) / CPUCollector.ticksPerSecond)
        let readings = collector.readings(previous: first, current: second).filter { !$0.descriptor.isCounter }
        let byKey = Dictionary(uniqueKeysWithValues: readings.map { ($0.descriptor.key, $0.value!) })
        #expect(Set(byKey.keys) == ["cpu.total.utilisation", "cpu.core0.utilisation", "cpu.core1.utilisation"])
        // total: busy 4894 -> 4899, all 51669 -> 51877.
        #expect(abs(byKey["cpu.total.utilisation"]! - 5.0 / 208.0 * 100) < 1e-9)
        // core0: busy 1 of 104 ticks; core1: busy 4 of 104 ticks.
        #expect(abs(byKey["cpu.core0.utilisation"]! - 1.0 / 104.0 * 100) < 1e-9)
        #expect(abs(byKey["cpu.core1.utilisation"]! - 4.0 / 104.0 * 100) < 1e-9)
        let descriptor = readings[0].descriptor
        #expect(descriptor.unit == "percent")
        #expect(descriptor.metricClass == .performance)
        #expect(descriptor.group == .cpu)
        #expect(descriptor.prometheusName == "chassis_cpu_utilisation_ratio")
        #expect(descriptor.prometheusLabels == ["cpu": "total"])
    }

    @Test(arguments: [
        (CPUTimes(user: 0, idle: 0), CPUTimes(user: 50, idle: 50), 50.0 as Double?),
        (CPUTimes(user: 10, idle: 10), CPUTimes(user: 10, idle: 110), 0.0),
        (CPUTimes(user: 10, idle: 10, iowait: 0), CPUTimes(user: 10, idle: 10, iowait: 100), 0.0),
        (CPUTimes(system: 0, idle: 0, steal: 0), CPUTimes(system: 30, idle: 40, steal: 30), 60.0),
        (CPUTimes(user: 10, idle: 10), CPUTimes(user: 10, idle: 10), nil),
        (CPUTimes(user: 100, idle: 100), CPUTimes(user: 5, idle: 5), nil),
    ])
    func utilisationTable(previous: CPUTimes, current: CPUTimes, expected: Double?) {
        #expect(cpuUtilisationPercent(previous: previous, current: current) == expected)
    }

    // MARK: /proc/meminfo

    @Test func meminfoFromRealFixture() {
        let info = parseMeminfo(Fixture.text("meminfo.txt"))
        #expect(info.totalBytes == 24_684_092 * 1024)
        #expect(info.availableBytes == 24_346_800 * 1024)
        #expect(info.swapTotalBytes == 0)
        #expect(info.swapUsedPercent == 0)
        let used = (1 - 24_346_800.0 / 24_684_092.0) * 100
        #expect(abs(info.usedPercent! - used) < 1e-9)
    }

    @Test func meminfoWithGarbage() {
        let info = parseMeminfo(Fixture.text("meminfo_garbage.txt"))
        #expect(info.totalBytes == 1000 * 1024)
        #expect(info.freeBytes == nil)
        #expect(info.usedPercent == 75)
        #expect(info.swapUsedPercent == 75)
    }

    @Test func memoryCollectorTurnsMissingFieldsIntoFaults() {
        let collector = MemoryCollector(procRoot: "/nonexistent")
        let readings = collector.readings(parseMeminfo("MemTotal: 100 kB\n"))
        let faults = readings.filter { $0.fault != nil }.map(\.descriptor.key)
        #expect(faults.contains("memory.available_bytes"))
        #expect(readings.first { $0.descriptor.key == "memory.total_bytes" }?.value == 102_400)
        #expect(readings.first { $0.descriptor.key == "memory.available_bytes" }?.descriptor.prometheusName
            == "node_memory_MemAvailable_bytes")
    }

    // MARK: /proc/mounts

    @Test func mountsFromRealFixtureKeepRealFilesystems() {
        let kept = parseMounts(Fixture.text("mounts.txt")).filter(FilesystemFilter.keeps)
        #expect(kept.contains(MountEntry(device: "/dev/vda", mountPoint: "/", fsType: "ext4")))
        #expect(!kept.contains { ["proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs"].contains($0.fsType) })
        #expect(!kept.contains { $0.mountPoint.hasPrefix("/dev") || $0.mountPoint.hasPrefix("/sys") })
    }

    @Test func mountsUnescapeAndFilter() {
        let entries = parseMounts(Fixture.text("mounts_escaped.txt"))
        #expect(entries.contains { $0.mountPoint == "/mnt/my disk" })
        // "/" appears twice: the overlay mounted on top wins.
        #expect(entries.filter { $0.mountPoint == "/" } == [MountEntry(device: "overlay", mountPoint: "/", fsType: "overlay")])
        let kept = entries.filter(FilesystemFilter.keeps).map(\.mountPoint)
        #expect(kept == ["/mnt/my disk", "/", "/run"])
    }

    @Test func filesystemReadingsAndFaults() {
        let collector = FilesystemCollector(procRoot: "/nonexistent")
        let mount = MountEntry(device: "/dev/sda1", mountPoint: "/", fsType: "ext4")
        let space = FilesystemSpace(sizeBytes: 1000, freeBytes: 300, availableBytes: 200)
        let readings = collector.readings(mount, .success(space))
        let byKey = Dictionary(uniqueKeysWithValues: readings.map { ($0.descriptor.key, $0) })
        #expect(byKey["filesystem./.used_percent"]?.value == 700.0 / 900.0 * 100)
        #expect(byKey["filesystem./.free_bytes"]?.value == 200)
        #expect(byKey["filesystem./.free_bytes"]?.descriptor.prometheusName == "node_filesystem_avail_bytes")
        #expect(byKey["filesystem./.free_bytes"]?.descriptor.prometheusLabels
            == ["device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4"])
        #expect(byKey["filesystem./.size_bytes"]?.descriptor.component == "filesystem /")
        let failed = collector.readings(mount, .failure(FileReadError(path: "/", code: 5, reason: "I/O error")))
        #expect(failed.allSatisfy { $0.fault != nil && $0.value == nil })
    }

    @Test func swapIsChartedOnlyWhereThereIsSome() {
        let collector = MemoryCollector(procRoot: "/nonexistent")
        let none = MemoryInfo(totalBytes: 1 << 30, availableBytes: 1 << 29, swapTotalBytes: 0, swapFreeBytes: 0)
        #expect(collector.readings(none).map(\.descriptor.key) == ["memory.total_bytes", "memory.available_bytes", "memory.used_percent"])
        let some = MemoryInfo(totalBytes: 1 << 30, availableBytes: 1 << 29, swapTotalBytes: 4 << 20, swapFreeBytes: 1 << 20)
        let readings = collector.readings(some)
        #expect(readings.count == 6)
        #expect(readings.first { $0.descriptor.key == "swap.used_percent" }?.value == 75)
        // A meminfo without the field at all is a fault, not "no swap".
        let unknown = MemoryInfo(totalBytes: 1 << 30, availableBytes: 1 << 29)
        #expect(collector.readings(unknown).filter { $0.descriptor.key.hasPrefix("swap.") && $0.fault != nil }.count == 3)
    }

    @Test func mountsOfOtherNamespacesAndContainerLayersAreLeftOut() {
        let text = """
        /dev/vda / ext4 rw 0 0
        tmpfs /run/credentials/getty@tty1.service tmpfs ro 0 0
        overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
        /dev/vda /var/lib/docker/volumes ext4 rw 0 0
        shm /var/lib/containers/storage/overlay-containers/x/userdata/shm tmpfs rw 0 0
        /dev/loop3 /usr/share/fonts erofs ro 0 0
        tmpfs /runtime tmpfs rw 0 0
        """
        #expect(parseMounts(text).filter(FilesystemFilter.keeps).map(\.mountPoint) == ["/", "/runtime"])
    }

    @Test func theOperatorsIncludeAndExcludeListsChooseMountPoints() {
        let selection = FilesystemSelection(include: ["/", "/srv/"], exclude: ["/srv/scratch"])
        #expect(selection.selects("/"))
        #expect(selection.selects("/srv") && selection.selects("/srv/data"))
        #expect(!selection.selects("/srv/scratch") && !selection.selects("/srv/scratch/a"))
        #expect(selection.selects("/srv/scratchpad"), "a name that only begins like an excluded one is kept")
        let narrow = FilesystemSelection(include: ["/var"])
        #expect(narrow.selects("/var/log") && !narrow.selects("/") && !narrow.selects("/variable"))
        #expect(FilesystemSelection().selects("/anything"))
    }

    @Test func aFilesystemMountedTwiceIsWatchedOnceAtItsFirstMountPoint() throws {
        let root = TemporaryDirectory("mounts")
        defer { root.remove() }
        root.write("mounts", """
        /dev/vda / ext4 rw 0 0
        /dev/vda /etc/hosts ext4 rw 0 0
        tmpfs /run tmpfs rw 0 0
        /dev/vdb /data ext4 rw 0 0
        /dev/vdb /mnt/bind-of-data ext4 rw 0 0
        tmpfs /mnt/other tmpfs rw 0 0
        """)
        let devices = ["/": UInt64(1), "/etc/hosts": 1, "/run": 2, "/data": 3, "/mnt/bind-of-data": 3, "/mnt/other": 4]
        let collector = FilesystemCollector(procRoot: root.path, selection: FilesystemSelection(exclude: ["/mnt/other"]),
                                            space: { _ in .success(FilesystemSpace(sizeBytes: 10, freeBytes: 5, availableBytes: 5)) },
                                            identity: { devices[$0] })
        let watched = Set(try collector.collect().map { $0.descriptor.prometheusLabels["mountpoint"] ?? "" })
        #expect(watched == ["/", "/run", "/data"])
    }

    @Test func filesystemCollectorAgainstThisMachine() throws {
        let readings = try FilesystemCollector().collect()
        #expect(readings.contains { $0.descriptor.key == "filesystem./.used_percent" && $0.value != nil })
    }

    // MARK: /proc/diskstats

    @Test func diskstatsFromRealFixture() {
        let disks = parseDiskstats(Fixture.text("diskstats.txt"))
        let vda = disks.first { $0.device == "vda" }
        #expect(vda == DiskCounters(device: "vda", sectorsRead: 1_724_650, sectorsWritten: 2_203_824, ioMilliseconds: 4052))
        #expect(disks.filter { DiskFilter.keeps($0.device) }.map(\.device) == ["vda"])
    }

    @Test(arguments: [("sda", true), ("sda1", false), ("vdb", true), ("vdb12", false), ("xvda", true),
                      ("xvda1", false), ("nvme0n1", true), ("nvme0n1p2", false), ("mmcblk0", true),
                      ("mmcblk0p1", false), ("loop3", false), ("ram0", false), ("zram0", false),
                      ("fd0", false), ("dm-0", true), ("md127", true), ("", false)])
    func diskFilterTable(device: String, kept: Bool) {
        #expect(DiskFilter.keeps(device) == kept)
    }

    @Test func diskRatesFromTwoSnapshots() {
        let collector = DiskIOCollector(procRoot: "/nonexistent")
        let before = [DiskCounters(device: "sda", sectorsRead: 1000, sectorsWritten: 0, ioMilliseconds: 0),
                      DiskCounters(device: "loop0", sectorsRead: 0, sectorsWritten: 0, ioMilliseconds: 0)]
        let after = [DiskCounters(device: "sda", sectorsRead: 3000, sectorsWritten: 400, ioMilliseconds: 500),
                     DiskCounters(device: "loop0", sectorsRead: 99, sectorsWritten: 0, ioMilliseconds: 0)]
        #expect(collector.readings(before, at: 10).map(\.descriptor.prometheusName)
                == ["node_disk_read_bytes_total", "node_disk_written_bytes_total", "node_disk_io_time_seconds_total"],
                "the first read gives the counters only, and none of loop0")
        let readings = collector.readings(after, at: 12)
        let byKey = Dictionary(uniqueKeysWithValues: readings.map { ($0.descriptor.key, $0.value!) })
        let expected: [String: Double] = [
            "disk.sda.read_bytes_per_second": 512_000, "disk.sda.write_bytes_per_second": 102_400, "disk.sda.busy_percent": 25,
            "disk.sda.read_bytes_total": 1_536_000, "disk.sda.written_bytes_total": 204_800, "disk.sda.io_time_seconds_total": 0.5,
        ]
        #expect(byKey == expected)
    }

    // MARK: /proc/net/dev

    @Test func netDevFromRealFixture() {
        let interfaces = parseNetDev(Fixture.text("net_dev.txt"))
        #expect(interfaces.map(\.interface) == ["lo", "ifb0", "ifb1", "eth0"])
        #expect(interfaces[3] == InterfaceCounters(interface: "eth0", receiveBytes: 175_069_662, receiveErrors: 0,
                                                   transmitBytes: 135_265, transmitErrors: 0))
    }

    @Test func netDevNameTouchingCounterAndShortLines() {
        let interfaces = parseNetDev(Fixture.text("net_dev_packed.txt"))
        #expect(interfaces.map(\.interface) == ["lo", "eth1"])
        #expect(interfaces[1].receiveBytes == 4_294_967_296)
        #expect(interfaces[1].receiveErrors == 2)
        #expect(interfaces[1].transmitErrors == 1)
    }

    @Test func networkRatesSkipLoopbackAndBackwardsCounters() {
        let collector = NetworkCollector(procRoot: "/nonexistent")
        let before = [InterfaceCounters(interface: "lo", receiveBytes: 0, receiveErrors: 0, transmitBytes: 0, transmitErrors: 0),
                      InterfaceCounters(interface: "eth0", receiveBytes: 1000, receiveErrors: 0, transmitBytes: 5000, transmitErrors: 0)]
        let after = [InterfaceCounters(interface: "lo", receiveBytes: 9, receiveErrors: 0, transmitBytes: 9, transmitErrors: 0),
                     InterfaceCounters(interface: "eth0", receiveBytes: 6000, receiveErrors: 5, transmitBytes: 100, transmitErrors: 0)]
        _ = collector.readings(before, at: 0)
        let readings = collector.readings(after, at: 5)
        let byKey = Dictionary(uniqueKeysWithValues: readings.map { ($0.descriptor.key, $0.value!) })
        // tx went backwards (interface recreated): no rate this time rather than a huge one.
        let expected: [String: Double] = [
            "network.eth0.rx_bytes_per_second": 1000, "network.eth0.rx_errors_per_second": 1, "network.eth0.tx_errors_per_second": 0,
            "network.eth0.rx_bytes_total": 6000, "network.eth0.tx_bytes_total": 100, "network.eth0.rx_errors_total": 5,
            "network.eth0.tx_errors_total": 0,
        ]
        #expect(byKey == expected)
        let rate = readings.first { $0.descriptor.key == "network.eth0.rx_bytes_per_second" }?.descriptor
        #expect(rate?.prometheusName == "chassis_network_receive_bytes_per_second" && rate?.component == "network eth0")
        let counter = readings.first { $0.descriptor.key == "network.eth0.rx_bytes_total" }?.descriptor
        #expect(counter?.prometheusName == "node_network_receive_bytes_total" && counter?.replication == .local)
        #expect(counter?.component == MetricDescriptor.countersComponent)
    }

    // MARK: /proc/loadavg and /proc/uptime

    @Test(arguments: [
        ("0.21 0.37 0.39 1/719 19737", LoadAverage(oneMinute: 0.21, fiveMinutes: 0.37, fifteenMinutes: 0.39) as LoadAverage?),
        ("12.00 7.5 3 1/1 1\n", LoadAverage(oneMinute: 12, fiveMinutes: 7.5, fifteenMinutes: 3)),
        ("0.21 0.37", nil),
        ("a b c d e", nil),
        ("", nil),
        ("1..2 0 0", nil),
    ])
    func loadAverageTable(text: String, expected: LoadAverage?) {
        let parsed = parseLoadAverage(text)
        #expect(parsed?.oneMinute == expected?.oneMinute)
        #expect(parsed?.fiveMinutes == expected?.fiveMinutes)
        #expect(parsed?.fifteenMinutes == expected?.fifteenMinutes)
    }

    @Test(arguments: [("257.02 459.75\n", 257.02 as Double?), ("5", 5), ("", nil), ("-3 1", nil), ("up 1", nil)])
    func uptimeTable(text: String, expected: Double?) {
        #expect(parseUptime(text) == expected)
    }

    /// Found by the collectors fuzz target: a one-line file whose last field is followed by the
    /// newline (`0.04 0 3\n`, `5\n`) read that field with the newline in it, and was refused.
    @Test func loadAverageAndUptimeEndingInTheirLastFieldAndANewline() {
        #expect(parseLoadAverage("0.04 0 3\n") == LoadAverage(oneMinute: 0.04, fiveMinutes: 0, fifteenMinutes: 3))
        #expect(parseUptime("5\n") == 5)
        #expect(parseUptime("\n  260.64\t\n") == 260.64)
        #expect(parseLoadAverage("1 2\n3") == nil)
    }

    /// Found by the collectors fuzz target's check that a parsed value is the field's number: more
    /// than 308 fraction digits made the scale infinite and the value NaN, and as many integer
    /// digits gave infinity (an uptime reading of inf).
    @Test func decimalsPastADoublesRangeAreNeverNaNOrInfinite() {
        let longFraction = "0." + String(repeating: "1", count: 400)
        let load = parseLoadAverage(longFraction + " 1 1")
        #expect(load.map { abs($0.oneMinute - 0.111_111_111_111_111_1) < 1e-15 } == true)
        #expect(parseUptime(String(repeating: "9", count: 400)) == nil)
        #expect(parseLoadAverage(String(repeating: "9", count: 309) + " 1 1") == nil)
        #expect(parseUptime("12.000000000000000000000000001") == 12)
    }

    @Test func loadAndUptimeFixtures() {
        #expect(parseLoadAverage(Fixture.text("loadavg.txt")) == LoadAverage(oneMinute: 0.04, fiveMinutes: 0.1, fifteenMinutes: 0.04))
        #expect(parseUptime(Fixture.text("uptime.txt")) == 260.64)
    }
}

@Suite("Bounded reads")
struct BoundedFileReaderTests {
    @Test func missingFileIsAnErrorNotACrash() {
        let reader = BoundedFileReader(maximumBytes: 64)
        #expect(throws: FileReadError.self) { try reader.string(at: "/nonexistent/file") }
    }

    @Test func directoryIsAnError() {
        let reader = BoundedFileReader(maximumBytes: 64)
        #expect(throws: FileReadError.self) { try reader.string(at: "/proc") }
    }

    @Test func longFileIsTruncatedAtTheBound() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        directory.write("big", String(repeating: "a", count: 1000))
        let reader = BoundedFileReader(maximumBytes: 100)
        let text = try reader.string(at: directory.file("big"))
        #expect(text.count == 100)
        #expect(reader.lastReadTruncated)
        directory.write("small", "abc")
        #expect(try reader.string(at: directory.file("small")) == "abc")
        #expect(!reader.lastReadTruncated)
    }

    @Test func procFilesReadWhole() throws {
        let reader = BoundedFileReader()
        let text = try reader.string(at: "/proc/self/status")
        #expect(text.hasPrefix("Name:"))
        #expect(!reader.lastReadTruncated)
    }

    @Test func aFifoWithoutWriterDoesNotHang() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("fifo")
        #expect(mkfifo(path, 0o644) == 0)
        // Non-blocking open of a FIFO without a writer succeeds and reads end-of-file at once.
        let text = try BoundedFileReader(maximumBytes: 16).string(at: path)
        #expect(text.isEmpty)
    }
}
