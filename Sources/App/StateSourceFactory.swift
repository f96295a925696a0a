import Config
import Store
import Web

// ---------------------------------------------------------------------------------------------
// WIRING: the one place where chassis-web meets the store. Called once per worker thread (SQLite
// connections belong to one thread), lazily on its first request and again after a failure.
// ---------------------------------------------------------------------------------------------
func makeStateSource(_ config: BladeConfig) throws -> StateSource {
    StoreReader(configDatabase: config.paths.configDatabase,
                metricsDatabase: config.paths.metricsDatabase,
                staleAfterSeconds: config.web.staleAfterSeconds,
                // Under load a worker asks SQLite for a new data version at most every 25 ms.
                versionCheckIntervalMs: 25)
}
