import Model
import Testing

@Suite struct MetricsBatchTests {
    func descriptor(_ key: String, replication: ReplicationClass = .dynamic) -> MetricDescriptor {
        MetricDescriptor(key: key, label: key, metricClass: .performance, unit: "percent", source: "t",
                         replication: replication, group: .cpu, component: "cpu", prometheusName: "x")
    }

    @Test func sendsWhatChangedAndAFullBatchPeriodically() throws {
        var builder = MetricsBatchBuilder(blade: "blade2", slotID: 2, run: 7, fullEverySeconds: 3)
        let cpu = descriptor("cpu.total.utilisation")
        let local = descriptor("collector.cpu.duration_seconds", replication: .local)
        func readings(_ value: Double) -> [(reading: Reading, status: Status)] {
            [(Reading(descriptor: cpu, value: value), .ok), (Reading(descriptor: local, value: 0.001), .ok)]
        }
        let firstBatch = builder.batch(readings(10), at: 1)
        let first = try #require(firstBatch)
        #expect(first.full && first.sequence == 1 && first.values.map(\.key) == ["cpu.total.utilisation"])
        #expect(first.values[0].descriptor == cpu, "local metrics never leave the blade")
        let unchanged = builder.batch(readings(10), at: 2)
        #expect(unchanged == nil, "nothing changed, no full batch due")
        let changedBatch = builder.batch(readings(20), at: 3)
        let changed = try #require(changedBatch)
        #expect(!changed.full && changed.values[0].value == 20 && changed.values[0].descriptor == nil)
        let refreshBatch = builder.batch(readings(20), at: 4)
        let refresh = try #require(refreshBatch)
        #expect(refresh.full && refresh.values[0].descriptor == cpu && refresh.sequence == 3)
    }

    @Test func aChangedDescriptorTravelsWithItsValue() throws {
        var builder = MetricsBatchBuilder(blade: "b", slotID: 1, run: 1, fullEverySeconds: 100)
        var temperature = descriptor("hwmon.chip.temp1")
        _ = builder.batch([(Reading(descriptor: temperature, value: 40), .ok)], at: 1)
        temperature.limits = Limits(highWarning: 80)
        let batchBatch = builder.batch([(Reading(descriptor: temperature, value: 40), .ok)], at: 2)
        let batch = try #require(batchBatch)
        #expect(batch.values.first?.descriptor?.limits.highWarning == 80)
    }
}

@Suite struct MetricsBatchFullTests {
    @Test func aFullBatchCarriesEveryGroupsLastValues() throws {
        var builder = MetricsBatchBuilder(blade: "b", slotID: 1, run: 1, fullEverySeconds: 1_000)
        func descriptor(_ key: String, _ group: SamplingGroup) -> MetricDescriptor {
            MetricDescriptor(key: key, label: key, metricClass: .identification, unit: "text", source: "t",
                             replication: .static, group: group, component: "id", prometheusName: "x")
        }
        _ = builder.batch([(Reading(descriptor: descriptor("id.serial", .identification), text: "S1"), .ok)], at: 1)
        _ = builder.batch([(Reading(descriptor: descriptor("cpu.total", .cpu), value: 5), .ok)], at: 2)
        builder.forceFull()
        let fullBatch = builder.batch([(Reading(descriptor: descriptor("cpu.total", .cpu), value: 5), .ok)], at: 3)
        let full = try #require(fullBatch)
        #expect(full.full)
        #expect(full.values.map(\.key) == ["cpu.total", "id.serial"])
        #expect(full.values.allSatisfy { $0.descriptor != nil })
    }
}
