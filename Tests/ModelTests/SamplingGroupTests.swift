import Model
import Testing

/// Where a group's interval comes from: the web app, the engine's audit and chassisctl all ask this.
struct SamplingGroupTests {
    @Test func theChassisSettingWinsOverTheFileAndTheFileOverTheDefault() {
        #expect(SamplingGroup.memory.intervalSettingKey == "interval_ms.memory")
        #expect(SamplingGroup.memory.interval(setting: "2500", fileMs: 1_500) == (2_500, true))
        #expect(SamplingGroup.memory.interval(setting: nil, fileMs: 1_500) == (1_500, false))
        #expect(SamplingGroup.memory.interval(setting: nil, fileMs: nil) == (1_000, false))
        // A setting that is not a number is no operator's choice: the file's value stands.
        #expect(SamplingGroup.disk.interval(setting: "soon", fileMs: nil) == (5_000, false))
    }
}
