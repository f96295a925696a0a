import Consensus

/// What happens at a simulated instant.
enum Event {
    /// A member's clock reaches its next tick.
    case tick(slot: Int, incarnation: Int, target: Int)
    /// A message arrives at a member.
    case deliver(slot: Int, message: Message)
    /// A paused member resumes.
    case resume(slot: Int, incarnation: Int)
    /// A scheduled action of the scenario or random schedule.
    case action(Int)
    /// A member's engine wakes for its periodic publication of role and lease.
    case publish(slot: Int, incarnation: Int)
    /// A member's engine publishes once it has applied a `Ready`'s entries.
    case publishApplied(slot: Int, incarnation: Int)
}

/// A binary min-heap of events by (time, sequence): ties run in the order they were scheduled,
/// which keeps every run reproducible. The heap moves small keys; events stay in place.
struct EventQueue {
    private struct Key {
        var time: Int
        var sequence: Int
        var storage: Int
    }

    private var heap: [Key] = []
    private var storage: [Event?] = []
    private var freeStorage: [Int] = []
    private var nextSequence = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextTime: Int? { heap.first?.time }

    mutating func push(_ event: Event, at time: Int) {
        let slot: Int
        if let free = freeStorage.popLast() {
            storage[free] = event
            slot = free
        } else {
            storage.append(event)
            slot = storage.count - 1
        }
        heap.append(Key(time: time, sequence: nextSequence, storage: slot))
        nextSequence += 1
        var child = heap.count - 1
        let moving = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            if !Self.less(moving, heap[parent]) { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = moving
    }

    mutating func pop() -> (time: Int, event: Event)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            var parent = 0
            let count = heap.count
            while true {
                let left = 2 * parent + 1
                if left >= count { break }
                let right = left + 1
                let smaller = right < count && Self.less(heap[right], heap[left]) ? right : left
                if !Self.less(heap[smaller], last) { break }
                heap[parent] = heap[smaller]
                parent = smaller
            }
            heap[parent] = last
        }
        let event = storage[top.storage].take()!
        freeStorage.append(top.storage)
        return (top.time, event)
    }

    private static func less(_ a: Key, _ b: Key) -> Bool {
        a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
    }
}
