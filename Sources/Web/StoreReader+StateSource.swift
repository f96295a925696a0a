import Store

/// The store's reader is the production `StateSource`. Declared here because `Store` cannot see
/// `Web` (Web depends on Store); the methods are StoreReader's own.
extension StoreReader: StateSource {}
