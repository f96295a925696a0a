#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call: the one setting the store changes.
   With memory statistics on (the default), every allocation of every connection takes one
   process-wide mutex. Must run before the first connection opens (SQLITE_MISUSE after). */
static inline int csqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
