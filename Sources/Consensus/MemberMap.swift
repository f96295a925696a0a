/// A tiny map keyed by member, kept as two parallel arrays. Memberships hold at most
/// `Limits.membersMax` members, where a linear scan beats hashing.
struct MemberMap<Value> {
    private(set) var keys: [MemberID] = []
    private(set) var values: [Value] = []

    init() {}

    var isEmpty: Bool { keys.isEmpty }

    func position(of key: MemberID) -> Int? {
        var index = 0
        while index < keys.count {
            if keys[index] == key { return index }
            index += 1
        }
        return nil
    }

    subscript(key: MemberID) -> Value? {
        get { position(of: key).map { values[$0] } }
        set {
            if let index = position(of: key) {
                if let newValue {
                    values[index] = newValue
                } else {
                    keys.remove(at: index)
                    values.remove(at: index)
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Keeps only the entries whose key satisfies `keep`.
    mutating func retain(_ keep: (MemberID) -> Bool) {
        var index = 0
        while index < keys.count {
            if keep(keys[index]) {
                index += 1
            } else {
                keys.remove(at: index)
                values.remove(at: index)
            }
        }
    }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }
}
