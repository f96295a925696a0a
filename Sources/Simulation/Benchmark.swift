import Plumbing
import Consensus

/// Measures how many messages per second one core steps, beside two references measured in the
/// same run: encoding and decoding the same messages, and an empty loop over them.
public enum Benchmark {
    /// Runs the benchmark for about `rounds` proposals per role and returns the lines to print.
    public static func run(rounds: Int = 200_000) -> [String] {
        let clock = ContinuousClock()
        let members = (1...3).map { Member(id: MemberID(UInt32($0)), address: "127.0.1.\($0)") }
        let command = [UInt8](repeating: 7, count: 64)

        // Leader: fed append and heartbeat answers from two followers.
        let leader = makeLeader(members)
        var leaderMessages: [Message] = []
        leaderMessages.reserveCapacity(rounds * 3)
        var stepped = 0
        let leaderDuration = clock.measure {
            for round in 0..<rounds {
                guard let ready = try? leader.propose(command), let index = ready.appended?.index else { continue }
                for follower in [MemberID(2), MemberID(3)] {
                    let answer = Message(kind: .appendResponse, from: follower, to: leader.id, term: leader.term,
                                         logIndex: index, sendTick: leader.now, flags: .granted)
                    let output = leader.step(answer)
                    stepped += 1
                    if round < 1_000 { leaderMessages.append(answer) }
                    if let wanted = output.snapshotWanted { _ = try? leader.compact(upTo: wanted, data: [1]) }
                }
                if round % 5 == 0 {
                    _ = leader.tick()
                    for follower in [MemberID(2), MemberID(3)] {
                        let answer = Message(kind: .heartbeatResponse, from: follower, to: leader.id,
                                             term: leader.term, logIndex: index, sendTick: leader.now)
                        _ = leader.step(answer)
                        stepped += 1
                    }
                }
            }
        }
        precondition(leader.role == .leader, "benchmark leader lost its role")

        // Follower: fed appends (one entry each) and heartbeats from the leader.
        let follower = Node.bootstrap(id: MemberID(2), members: members, random: SplitMix64(seed: 2))
        _ = follower.ready()
        var followerStepped = 0
        var appendSamples: [Message] = []
        let followerDuration = clock.measure {
            for round in 0..<rounds {
                let index = round + 1
                let append = Message(kind: .append, from: MemberID(1), to: follower.id, term: 1,
                                     logIndex: index - 1, logTerm: index == 1 ? 0 : 1, commit: index - 1,
                                     sendTick: round, flags: .counted,
                                     entries: [Entry(index: index, term: 1, data: command)])
                let output = follower.step(append)
                followerStepped += 1
                if round < 1_000 { appendSamples.append(append) }
                if let wanted = output.snapshotWanted { _ = try? follower.compact(upTo: wanted, data: [1]) }
                if round % 5 == 0 {
                    _ = follower.step(Message(kind: .heartbeat, from: MemberID(1), to: follower.id, term: 1,
                                              logIndex: index - 1, commit: index - 1, sendTick: round, flags: .counted))
                    followerStepped += 1
                }
            }
        }
        precondition(follower.commitIndex == rounds - 1, "benchmark follower fell behind")

        // References over the same number of messages: codec round trips, and an empty loop.
        let samples = leaderMessages + appendSamples
        let total = stepped + followerStepped
        var checksum = 0
        let codecDuration = clock.measure {
            for index in 0..<total {
                let bytes = samples[index % samples.count].encode()
                if let decoded = try? Message.decode(bytes) { checksum &+= decoded.logIndex }
            }
        }
        let emptyDuration = clock.measure {
            for index in 0..<total { checksum &+= samples[index % samples.count].logIndex }
        }

        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        func line(_ name: String, _ count: Int, _ duration: Duration) -> String {
            let time = seconds(duration)
            let rate = time > 0 ? Double(count) / time : 0
            return "\(name): messages=\(count) seconds=\(format(time)) messages_per_second=\(Int(rate))"
        }
        let coreTime = seconds(leaderDuration) + seconds(followerDuration)
        return [
            line("consensus_bench_leader", stepped, leaderDuration),
            line("consensus_bench_follower", followerStepped, followerDuration),
            line("consensus_bench", total, leaderDuration + followerDuration),
            line("reference_codec_roundtrip", total, codecDuration),
            line("reference_empty_loop", total, emptyDuration),
            "ratio: core_step_vs_codec=\(format(coreTime / max(seconds(codecDuration), 1e-9))) checksum=\(checksum & 0xff)",
        ]
    }

    static func format(_ value: Double) -> String {
        let scaled = Int((value * 1000).rounded())
        let fraction = String(scaled % 1000)
        return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// A core of a three-member chassis made leader by feeding it the votes of member 2.
    static func makeLeader(_ members: [Member]) -> Node {
        let node = Node.bootstrap(id: members[0].id, members: members, random: SplitMix64(seed: 1))
        _ = node.ready()
        while node.role != .preCandidate { _ = node.tick() }
        _ = node.step(Message(kind: .preVoteResponse, from: members[1].id, to: node.id, term: node.term,
                              logTerm: node.term + 1, flags: .granted))
        _ = node.step(Message(kind: .voteResponse, from: members[1].id, to: node.id, term: node.term,
                              flags: .granted))
        precondition(node.role == .leader, "benchmark could not elect its leader")
        // Commit the leader's first entry.
        for follower in members.dropFirst() {
            _ = node.step(Message(kind: .appendResponse, from: follower.id, to: node.id, term: node.term,
                                  logIndex: node.lastIndex, sendTick: node.now, flags: .granted))
        }
        return node
    }
}
