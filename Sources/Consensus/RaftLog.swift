/// The log in memory: a snapshot covering a compacted prefix, then contiguous entries.
struct RaftLog {
    private(set) var snapshot: Snapshot
    /// `entries[i].index == snapshot.index + 1 + i`.
    private(set) var entries: [Entry]

    init(snapshot: Snapshot, entries: [Entry]) {
        for (offset, entry) in entries.enumerated() {
            precondition(entry.index == snapshot.index + 1 + offset, "persisted entries are not contiguous")
            precondition(entry.term >= snapshot.term, "persisted entry older than its snapshot")
            precondition(offset == 0 || entry.term >= entries[offset - 1].term, "persisted terms decrease")
        }
        self.snapshot = snapshot
        self.entries = entries
    }

    var firstIndex: LogIndex { snapshot.index + 1 }
    var lastIndex: LogIndex { snapshot.index + entries.count }
    var lastTerm: Term { entries.last?.term ?? snapshot.term }

    /// The term at `index`, or nil when it is compacted away (below the snapshot) or beyond the end.
    func term(at index: LogIndex) -> Term? {
        if index == snapshot.index { return snapshot.term }
        guard index > snapshot.index, index <= lastIndex else { return nil }
        return entries[index - firstIndex].term
    }

    func entry(at index: LogIndex) -> Entry {
        precondition(index >= firstIndex && index <= lastIndex, "entry \(index) not in memory")
        return entries[index - firstIndex]
    }

    /// Entries from `start` through `end`, inclusive.
    func slice(from start: LogIndex, through end: LogIndex) -> ArraySlice<Entry> {
        guard start <= end else { return [] }
        precondition(start >= firstIndex && end <= lastIndex, "slice outside the log")
        return entries[(start - firstIndex)...(end - firstIndex)]
    }

    /// Entries from `start` for an append message, bounded by count and bytes (at least one).
    func batch(from start: LogIndex, countMax: Int, bytesMax: Int) -> [Entry] {
        guard start <= lastIndex else { return [] }
        precondition(start >= firstIndex, "batch below the snapshot")
        var result: [Entry] = []
        var bytes = 0
        var index = start
        while index <= lastIndex && result.count < countMax {
            let entry = entries[index - firstIndex]
            if !result.isEmpty && bytes + entry.data.count > bytesMax { break }
            bytes += entry.data.count
            result.append(entry)
            index += 1
        }
        return result
    }

    /// Raft's election restriction: is a log ending at (`index`, `term`) at least as up to date?
    func isUpToDate(lastIndex index: LogIndex, lastTerm term: Term) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    mutating func append(_ entry: Entry) {
        precondition(entry.index == lastIndex + 1, "append out of order")
        precondition(entry.term >= lastTerm, "append with an older term")
        entries.append(entry)
    }

    /// Drops entries at `index` and above.
    mutating func truncate(from index: LogIndex) {
        precondition(index > snapshot.index, "truncating into the snapshot")
        guard index <= lastIndex else { return }
        entries.removeSubrange((index - firstIndex)...)
    }

    /// Replaces the prefix through `newSnapshot.index` by the snapshot. Entries after it are kept
    /// when the log holds the snapshot's last entry with the same term; otherwise all are dropped.
    /// Returns true when entries after the snapshot were dropped.
    @discardableResult
    mutating func install(_ newSnapshot: Snapshot) -> Bool {
        precondition(newSnapshot.index > snapshot.index, "snapshot older than the current one")
        let keep = term(at: newSnapshot.index) == newSnapshot.term
        if keep {
            entries.removeSubrange(0..<(newSnapshot.index - firstIndex + 1))
        } else {
            entries.removeAll()
        }
        snapshot = newSnapshot
        return !keep
    }

    /// The membership in force at `index` (the last membership entry at or below it, or the
    /// snapshot's).
    func membership(atOrBelow index: LogIndex) -> (membership: Membership, index: LogIndex) {
        var position = min(index, lastIndex)
        while position > snapshot.index {
            let entry = entries[position - firstIndex]
            if entry.kind == .membership, let membership = entry.membership {
                return (membership, position)
            }
            position -= 1
        }
        return (snapshot.membership, snapshot.index)
    }
}
