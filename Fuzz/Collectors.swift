// libFuzzer entry for the parsers of what the metrics collectors read from the kernel, the
// firmware and the chassis' tool (Sources/Metrics): the /proc files, DMI and MAC address files,
// the hwmon samples libsensors hands over, and the chassis devices command's output. Each parser
// is checked against a reading of the format written here on the input's bytes (split at
// newlines, fields at spaces, tabs and CRs: what ByteParsing promises), and what it gives is fed
// to its collector's `readings`, whose values must be finite and within their unit's range.
//
// The first byte picks the format (`byte % 10`); the rest is the file:
//   0 /proc/stat        parseProcStat (two snapshots, split at the first NUL, for CPUCollector)
//   1 /proc/meminfo     parseMeminfo, MemoryCollector
//   2 /proc/net/dev     parseNetDev (two snapshots), NetworkCollector
//   3 /proc/diskstats   parseDiskstats (two snapshots), DiskFilter, DiskIOCollector
//   4 /proc/loadavg     parseLoadAverage, LoadAverageCollector (a one-line file: with or without
//                       its newline, it reads the same)
//   5 /proc/uptime      parseUptime (likewise)
//   6 /proc/mounts      parseMounts (octal escapes; written back with escapes, read the same),
//                       FilesystemFilter, FilesystemCollector
//   7 a DMI or MAC file cleanDMIValue, parseMACAddress (each stable when applied again)
//   8 an hwmon sample   SensorMapping (key, limits, reading) of a sample built from the bytes
//   9 the chassis tool  ChassisDevicesCollector.parse (`KEY VALUE` lines)
import Metrics
import Model

// The collectors, made once (each holds a read buffer of up to 256 KiB). Their `readings` keep
// only descriptors between inputs, and the rate collectors' earlier snapshot, which each input
// sets first (at a time before the previous input's later one, so that it gives no rates).
private let cpuCollector = CPUCollector(procRoot: "/nonexistent")
private let memoryCollector = MemoryCollector(procRoot: "/nonexistent")
private let networkCollector = NetworkCollector(procRoot: "/nonexistent")
private let diskCollector = DiskIOCollector(procRoot: "/nonexistent")
private let loadCollector = LoadAverageCollector(procRoot: "/nonexistent")
private let filesystemCollector = FilesystemCollector(procRoot: "/nonexistent")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCollectors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let file = Array(bytes.dropFirst())
    switch selector % 10 {
    case 0: checkProcStat(file)
    case 1: checkMeminfo(file)
    case 2: checkNetDev(file)
    case 3: checkDiskstats(file)
    case 4: checkLoadAverage(file)
    case 5: checkUptime(file)
    case 6: checkMounts(file)
    case 7: checkDMI(file)
    case 8: checkSensor(file)
    default: checkChassisDevices(file)
    }
    return 0
}

// MARK: - The format, read independently

/// Lines as ByteParsing.forEachLine gives them: split at LF, the last one without its newline.
private func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var result = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    if result.last?.isEmpty == true { result.removeLast() }
    return result
}

private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }

private func fields(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
    line.split(whereSeparator: isSpace)
}

/// Digits only, no sign, within UInt64.
private func unsigned(_ field: ArraySlice<UInt8>) -> UInt64? {
    guard !field.isEmpty, field.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return UInt64(String(decoding: field, as: UTF8.self))
}

/// An optional sign, digits with at most one point, at least one digit; no exponent.
private func decimal(_ field: ArraySlice<UInt8>) -> Double? {
    var body = field[...]
    if let first = body.first, first == 0x2B || first == 0x2D { body = body.dropFirst() }
    guard body.contains(where: { $0 >= 0x30 && $0 <= 0x39 }), body.filter({ $0 == 0x2E }).count <= 1,
          body.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) else { return nil }
    var text = String(decoding: body, as: UTF8.self)
    if text.hasPrefix(".") { text = "0" + text }
    if text.hasSuffix(".") { text += "0" }
    guard let value = Double(text), value.isFinite else { return nil }
    return field.first == 0x2D ? -value : value
}

private func string(_ field: ArraySlice<UInt8>) -> String { String(decoding: field, as: UTF8.self) }

/// Whether `a` (the parser's) is `b` (the reference's) to the precision of a decimal read digit by digit.
private func close(_ a: Double?, _ b: Double?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let a?, let b?): return a == b || abs(a - b) <= 1e-9 * max(1, abs(b))
    default: return false
    }
}

/// Runs a parser over the bytes as the collectors do (a buffer of the file's bytes).
private func parse<T>(_ bytes: [UInt8], _ parser: (UnsafeBufferPointer<UInt8>) -> T) -> T {
    bytes.withUnsafeBufferPointer { parser($0) }
}

/// The input split at its first NUL into an earlier and a later snapshot (the same file twice
/// when there is none).
private func snapshots(_ file: [UInt8]) -> ([UInt8], [UInt8]) {
    guard let nul = file.firstIndex(of: 0) else { return (file, file) }
    return (Array(file[..<nul]), Array(file[(nul + 1)...]))
}

/// What every reading must be: a finite value, a text or a fault; a percentage within 0...100;
/// a rate or an amount of bytes not negative.
private func checkReadings(_ readings: [Reading], _ what: String) {
    for reading in readings {
        note("\(reading.descriptor.key): \(reading.value.map { "\($0)" } ?? reading.text ?? reading.fault ?? "nothing")")
        check((reading.value != nil) || (reading.text != nil) || (reading.fault != nil), "\(what): \(reading.descriptor.key) is empty")
        guard let value = reading.value else { continue }
        check(value.isFinite, "\(what): \(reading.descriptor.key) = \(value)")
        switch reading.descriptor.unit {
        case "percent": check((0...100).contains(value), "\(what): \(reading.descriptor.key) = \(value) %")
        case "bytes", "bytes_per_second", "per_second", "seconds": check(value >= 0, "\(what): \(reading.descriptor.key) = \(value)")
        default: break
        }
    }
}

// MARK: - /proc/stat

private func checkProcStat(_ file: [UInt8]) {
    let (earlier, later) = snapshots(file)
    let stat = parse(later, parseProcStat)
    note("stat: total \(String(describing: stat.total)), cores \(stat.cores.map(\.index)), malformed \(stat.malformedLines)")
    check(stat == referenceProcStat(later), "parseProcStat gave \(stat), the lines say \(referenceProcStat(later))")
    checkReadings(cpuCollector.readings(previous: parse(earlier, parseProcStat), current: stat), "cpu")
}

private func referenceProcStat(_ file: [UInt8]) -> ProcStat {
    var result = ProcStat()
    for line in lines(file) where line.starts(with: Array("cpu".utf8)) {
        let parts = fields(line)
        let numbers = parts.dropFirst().prefix(8).map(unsigned)
        guard parts.count >= 5, numbers.allSatisfy({ $0 != nil }) else {
            result.malformedLines += 1
            continue
        }
        var values = numbers.map { $0 ?? 0 }
        values += [UInt64](repeating: 0, count: 8 - values.count)
        let times = CPUTimes(user: values[0], nice: values[1], system: values[2], idle: values[3], iowait: values[4],
                             irq: values[5], softirq: values[6], steal: values[7])
        let name = parts[0]
        if name.count == 3 {
            result.total = times
        } else if let index = unsigned(name.dropFirst(3)), index < 65_536 {
            result.cores.append((Int(index), times))
        } else {
            result.malformedLines += 1
        }
    }
    return result
}

// MARK: - /proc/meminfo

private func checkMeminfo(_ file: [UInt8]) {
    let info = parse(file, parseMeminfo)
    note("meminfo: \(info)")
    var expected = MemoryInfo()
    for line in lines(file) {
        let parts = fields(line)
        guard parts.count == 2 || parts.count == 3, let key = parts.first, key.count > 1, key.last == 0x3A,
              var value = unsigned(parts[1]) else { continue }
        if parts.count == 3 {
            guard parts[2].elementsEqual("kB".utf8) else { continue }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: 1024)
            if overflow { continue }
            value = scaled
        }
        switch string(key.dropLast()) {
        case "MemTotal": expected.totalBytes = value
        case "MemFree": expected.freeBytes = value
        case "MemAvailable": expected.availableBytes = value
        case "Buffers": expected.buffersBytes = value
        case "Cached": expected.cachedBytes = value
        case "SwapTotal": expected.swapTotalBytes = value
        case "SwapFree": expected.swapFreeBytes = value
        default: break
        }
    }
    check(info == expected, "parseMeminfo gave \(info), the lines say \(expected)")
    checkReadings(memoryCollector.readings(info), "memory")
}

// MARK: - /proc/net/dev

private func checkNetDev(_ file: [UInt8]) {
    let (earlier, later) = snapshots(file)
    let counters = parse(later, parseNetDev)
    note("net/dev: \(counters)")
    var expected: [InterfaceCounters] = []
    for line in lines(later) {
        guard let colon = line.firstIndex(of: 0x3A) else { continue }
        let name = line[..<colon].drop(while: { isSpace($0) || $0 == 0x0A }).reversed().drop(while: { isSpace($0) || $0 == 0x0A })
        let numbers = fields(line[(colon + 1)...])
        guard !name.isEmpty, numbers.count >= 16, let receiveBytes = unsigned(numbers[0]), let receiveErrors = unsigned(numbers[2]),
              let transmitBytes = unsigned(numbers[8]), let transmitErrors = unsigned(numbers[10]) else { continue }
        expected.append(InterfaceCounters(interface: String(decoding: Array(name.reversed()), as: UTF8.self), receiveBytes: receiveBytes,
                                          receiveErrors: receiveErrors, transmitBytes: transmitBytes, transmitErrors: transmitErrors))
    }
    check(counters == expected, "parseNetDev gave \(counters), the lines say \(expected)")
    _ = networkCollector.readings(parse(earlier, parseNetDev), at: 100)
    checkReadings(networkCollector.readings(counters, at: 101.5), "network")
}

// MARK: - /proc/diskstats

private func checkDiskstats(_ file: [UInt8]) {
    let (earlier, later) = snapshots(file)
    let disks = parse(later, parseDiskstats)
    note("diskstats: \(disks)")
    var expected: [DiskCounters] = []
    for line in lines(later) {
        let parts = fields(line)
        guard parts.count >= 14, let read = unsigned(parts[5]), let written = unsigned(parts[9]),
              let io = unsigned(parts[12]) else { continue }
        expected.append(DiskCounters(device: string(parts[2]), sectorsRead: read, sectorsWritten: written, ioMilliseconds: io))
    }
    check(disks == expected, "parseDiskstats gave \(disks), the lines say \(expected)")
    for disk in disks {
        let kept = DiskFilter.keeps(disk.device)
        check(!kept || !disk.device.isEmpty, "DiskFilter keeps an empty name")
        for prefix in ["loop", "ram", "zram", "fd"] where disk.device.hasPrefix(prefix) {
            check(!kept, "DiskFilter keeps \(disk.device)")
        }
    }
    _ = diskCollector.readings(parse(earlier, parseDiskstats), at: 100)
    checkReadings(diskCollector.readings(disks, at: 100.25), "disk")
}

// MARK: - /proc/loadavg, /proc/uptime

/// The whole file's fields: what a one-line file holds, with or without its newline (and
/// blank space around it).
private func wholeFileFields(_ file: [UInt8]) -> [ArraySlice<UInt8>] {
    let blank = { (byte: UInt8) in isSpace(byte) || byte == 0x0A }
    guard let first = file.firstIndex(where: { !blank($0) }), let last = file.lastIndex(where: { !blank($0) }) else { return [] }
    return fields(file[first...last])
}

private func checkLoadAverage(_ file: [UInt8]) {
    let load = parse(file, parseLoadAverage)
    note("loadavg: \(String(describing: load))")
    let parts = wholeFileFields(file)
    let expected = parts.count >= 3 ? (decimal(parts[0]), decimal(parts[1]), decimal(parts[2])) : (nil, nil, nil)
    if let one = expected.0, let five = expected.1, let fifteen = expected.2 {
        guard let load else { invariantFailed("parseLoadAverage refused \(one) \(five) \(fifteen)") }
        check(close(load.oneMinute, one) && close(load.fiveMinutes, five) && close(load.fifteenMinutes, fifteen),
              "parseLoadAverage gave \(load), the fields say \(one) \(five) \(fifteen)")
    } else {
        check(load == nil, "parseLoadAverage read \(String(describing: load)) from fields that are not numbers")
    }
    checkReadings(loadCollector.readings(load), "load")
}

private func checkUptime(_ file: [UInt8]) {
    let uptime = parse(file, parseUptime)
    note("uptime: \(String(describing: uptime))")
    let expected = wholeFileFields(file).first.flatMap(decimal).flatMap { $0 >= 0 ? $0 : nil }
    check(close(uptime, expected), "parseUptime gave \(String(describing: uptime)), the field says \(String(describing: expected))")
    if let uptime { check(uptime.isFinite && uptime >= 0, "parseUptime gave \(uptime)") }
}

// MARK: - /proc/mounts

private func checkMounts(_ file: [UInt8]) {
    let mounts = parse(file, parseMounts)
    note("mounts: \(mounts)")
    var points = Set<String>()
    for mount in mounts {
        check(mount.mountPoint.hasPrefix("/"), "a mount point \(mount.mountPoint.debugDescription) is not absolute")
        check(points.insert(mount.mountPoint).inserted, "mount point \(mount.mountPoint) listed twice")
        check(!mount.fsType.isEmpty, "a mount without a type")
        if FilesystemFilter.keeps(mount) {
            check(!FilesystemFilter.ignoredTypes.contains(mount.fsType), "the filter keeps a \(mount.fsType) mount")
        }
    }
    // Written back as the kernel writes the table (spaces, tabs, newlines and backslashes as
    // octal escapes), the table reads the same.
    let written = mounts.map { "\(escape($0.device)) \(escape($0.mountPoint)) \($0.fsType) rw 0 0" }.joined(separator: "\n")
    let again = parseMounts(written)
    check(again == mounts, "mounts \(mounts) written as \(written.debugDescription) read as \(again)")

    for (index, mount) in mounts.prefix(4).enumerated() {
        let size = UInt64(index) * 1_000_000_007
        let space = FilesystemSpace(sizeBytes: size, freeBytes: size / 3 * UInt64(index % 3), availableBytes: size / 5)
        checkReadings(filesystemCollector.readings(mount, .success(space)), "filesystem")
    }
}

/// A field as the kernel writes it: space, tab, newline, CR and backslash as octal escapes.
private func escape(_ field: String) -> String {
    var out = ""
    for scalar in field.unicodeScalars {
        switch scalar {
        case " ": out += "\\040"
        case "\t": out += "\\011"
        case "\n": out += "\\012"
        case "\r": out += "\\015"
        case "\\": out += "\\134"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

// MARK: - DMI, MAC addresses

private func checkDMI(_ file: [UInt8]) {
    let text = String(decoding: file, as: UTF8.self)
    if let value = cleanDMIValue(text) {
        note("DMI: \(value.debugDescription)")
        check(!value.isEmpty, "cleanDMIValue gave an empty value")
        check(cleanDMIValue(value) == value, "cleanDMIValue is not stable on \(value.debugDescription)")
    }
    if let address = parseMACAddress(text) {
        note("MAC: \(address)")
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        check(parts.count >= 6 && parts.allSatisfy { $0.utf8.count == 2 && $0.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) } },
              "parseMACAddress gave \(address.debugDescription)")
        check(!parts.allSatisfy { $0 == "00" }, "parseMACAddress gave the zero address")
        check(parseMACAddress(address) == address, "parseMACAddress is not stable on \(address)")
    }
}

// MARK: - hwmon samples

/// A sample from the bytes: kind, flags, input (or an error), four optional limits, then the
/// chip, feature and label names (NUL-separated).
private func checkSensor(_ file: [UInt8]) {
    guard file.count >= 43 else { return }
    func double(_ offset: Int) -> Double {
        Double(bitPattern: file[offset..<(offset + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
    let kind = SensorKind.allCases[Int(file[0]) % SensorKind.allCases.count]
    let flags = file[1]
    var limitValues: [LimitRole: Double] = [:]
    for (position, role) in [LimitRole.lowCritical, .lowWarning, .highWarning, .highCritical].enumerated()
    where flags & (1 << position) != 0 {
        limitValues[role] = double(11 + 8 * position)
    }
    let names = file[43...].split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map(string)
    let chip = names.first ?? ""
    let feature = names.count > 1 ? names[1] : ""
    let label = names.count > 2 ? names[2] : feature
    let input: Result<Double, SensorReadError> = flags & 0x10 != 0
        ? .failure(SensorReadError(code: Int32(file[2]), message: "error"))
        : .success(double(3))
    let sample = SensorFeatureSample(chip: chip, feature: feature, label: label, kind: kind, input: input, limits: limitValues,
                                     driverReportsFault: flags & 0x20 != 0, powerAverage: flags & 0x40 != 0)
    let reading = SensorMapping.reading(sample, source: "libsensors")
    note("sample \(sample) -> \(reading)")
    let descriptor = reading.descriptor
    check(descriptor.key == "hwmon.\(chip).\(feature)" && descriptor.unit == kind.unit, "key \(descriptor.key), unit \(descriptor.unit)")
    if let value = reading.value {
        check(value.isFinite && reading.fault == nil && !sample.driverReportsFault, "reading \(reading)")
    } else {
        check(reading.fault != nil, "a reading without a value has no fault")
    }
    let limits = descriptor.limits
    let present = [limits.lowCritical, limits.lowWarning, limits.highWarning, limits.highCritical].compactMap { $0 }
    check(present.allSatisfy(\.isFinite), "non-finite limits \(limits)")
    check((limits.highWarning != 0 && limits.highCritical != 0) || kind == .intrusion, "a high limit of 0 kept: \(limits)")
}

// MARK: - The chassis devices command

private func checkChassisDevices(_ file: [UInt8]) {
    let readings = ChassisDevicesCollector.parse(String(decoding: file, as: UTF8.self))
    let keys = readings.map(\.descriptor.key)
    check(Set(keys).count == keys.count, "a device read twice: \(keys)")
    let known = ChassisDevicesCollector.descriptors.map(\.key)
    check(keys == known.filter(keys.contains), "devices \(keys) out of order or unknown")
    for reading in readings {
        check(reading.value.map(\.isFinite) ?? (reading.fault != nil), "\(reading.descriptor.key): \(reading)")
    }
}
