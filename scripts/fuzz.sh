#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, shipped with the Swift toolchain) of the parsers that read
# bytes from outside the process. One fuzz target per parser, each an entry in Fuzz/ built with
# plain swiftc from the exact Sources files it needs (no `swift build`; everything it writes is
# under .build/fuzz):
#
#   consensus  Sources/Consensus/WireCodec.swift: messages, entries, snapshots, hard states,
#              memberships; decoded messages stepped into a follower and a leader
#   metrics    Sources/Model/MetricsBatch+Wire.swift: a batch's binary and JSON forms
#   config     Sources/Config/TOML.swift and BladeConfig.parse: the configuration file
#   control    Sources/Control: ControlEnvelope/ControlRequest lines, ClusterCommand, ControlResponse
#   web        Sources/App/FastCGIRecords.swift (requestHead), Sources/Web/Request.swift, ETag.swift
#   transport  Sources/Transport/PeerFrame.swift, past the MAC check (Crypto: Fuzz/Support/Crypto.swift)
#   http       what the web app reads from a request: the target's path (Router.swift) and query
#              (Request.swift, Exchange+Query.swift), the Host, Cookie and Authorization headers and
#              return paths (WebApp+RequestFields.swift), cookie values, tickets and tokens
#              (Sources/Access/SessionToken.swift, Base64), form bodies and every JSON body the API
#              decodes (Inputs.swift); WebApp, Crypto and CryptoExtras are stand-ins (Fuzz/Support)
#   agentx     Sources/AgentX: what snmpd sends chassis-snmp (a header, then its payload, either
#              byte order), round trips, and the responder's answers over a small table
#   collectors the kernel and hardware parsers of Sources/Metrics: /proc/stat, meminfo, net/dev,
#              diskstats, loadavg, uptime, mounts (ByteParsing.swift under all of them), DMI and MAC
#              address files, hwmon samples (SensorsCollector+Mapping.swift), the chassis devices
#              command's output; each parser's result through its collector's `readings`
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET ...]
#   SECONDS per target (default: $FUZZ_SECONDS, else 60); TARGETs default to all of them.
#   FUZZ_BUILD_ONLY=1 builds and stops.
#
# Each target fuzzes its own working corpus, .build/fuzz/corpus-<target>, seeded from
# Fuzz/corpus/<target> (which is never written to). A crash, a broken invariant, a timeout or an
# out-of-memory stops that target, keeps the input in .build/fuzz/crashes-<target>/ and makes
# the script exit nonzero; replay it with
#   SWIFT_BACKTRACE=enable=no FUZZ_VERBOSE=1 .build/fuzz/<target> <input>
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-60}}
[[ $# -gt 0 ]] && shift
ALL_TARGETS=(consensus metrics config control web transport http collectors agentx)
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL_TARGETS[@]}")
if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || (( SECONDS_PER_TARGET < 1 )); then
    echo "fuzz.sh: seconds per target must be a positive integer (got '$SECONDS_PER_TARGET')" >&2
    exit 2
fi

SWIFTC=${SWIFTC:-swiftc}
OUT=.build/fuzz
# -O: ten times the executions per second of -Onone. Language mode 5, as Package.swift says.
FLAGS=(-swift-version 5 -parse-as-library -O -sanitize=fuzzer,address)

# What each module is made of (the whole target where it needs nothing outside itself, else the
# exact files), the modules it imports, and flags of its own.
module_files() {
    case $1 in
        Plumbing) echo Sources/Plumbing/*.swift ;;
        Consensus) echo Sources/Consensus/*.swift ;;
        AgentX) echo Sources/AgentX/*.swift ;;
        Model) echo Sources/Model/*.swift ;;
        Config) echo Sources/Config/*.swift ;;
        Control) echo Sources/Control/*.swift ;;
        # FastCGI framing lives in App (its only user), an executable: its file is built into this
        # fuzzing module beside Web's.
        Web) echo Sources/Web/{Request,ETag,WebLimits,Inputs,Router,Exchange+Query,WebApp+RequestFields}.swift \
                  Sources/App/FastCGIRecords.swift Fuzz/Support/WebApp.swift ;;
        Access) echo Sources/Access/{Authorization,PasswordHash,SessionToken}.swift ;;
        ChassisKeys) echo Sources/ChassisKeys/{ChassisSecret,KeyDerivation}.swift ;;
        Crypto) echo Fuzz/Support/Crypto.swift ;;
        CryptoExtras) echo Fuzz/Support/CryptoExtras.swift ;;
        Transport) echo Sources/Transport/PeerFrame.swift ;;
        # The parsers and their collectors; SensorsLibrary.swift (libsensors, for its lock) and
        # SimulatedHardware.swift come with ChassisDevicesCollector.swift.
        Metrics) echo Sources/Metrics/{ByteParsing,BoundedFileReader,Collector,DescriptorCache}.swift \
                      Sources/Metrics/{CPU,Memory,Network,DiskIO,LoadAverage,Uptime,Filesystem,Identification}Collector.swift \
                      Sources/Metrics/{SensorsCollector+Mapping,ChassisDevicesCollector,SimulatedHardware,SensorsLibrary}.swift ;;
        *) echo "fuzz.sh: unknown module $1" >&2; return 1 ;;
    esac
}
module_deps() {
    case $1 in
        Consensus | Model) echo Plumbing ;;
        Config | Control) echo Model ;;
        Metrics) echo Model Plumbing ;;
        ChassisKeys | CryptoExtras) echo Crypto ;;
        Transport) echo ChassisKeys Crypto ;;
        Access) echo Model ChassisKeys Crypto CryptoExtras ;;
        Web) echo Model Control Access ;;
        *) echo ;;
    esac
}
# Flags for building the module and for everything that imports it.
module_import_flags() {
    case $1 in
        Metrics) echo -I Sources/CSensors ;; # libsensors' headers (Debian's libsensors-dev)
        *) echo ;;
    esac
}
# Flags for building the module only: the http entry reaches Web's internal decoders.
module_flags() {
    case $1 in
        Web) echo -enable-testing ;;
        *) echo ;;
    esac
}
# Per target: entry file, the modules its entry imports, -max_len.
target_entry() {
    case $1 in
        consensus) echo Fuzz/ConsensusWire.swift ;;
        metrics) echo Fuzz/MetricsBatchWire.swift ;;
        config) echo Fuzz/ConfigText.swift ;;
        control) echo Fuzz/ControlJSON.swift ;;
        web) echo Fuzz/FastCGIHead.swift ;;
        transport) echo Fuzz/TransportFrame.swift ;;
        http) echo Fuzz/HTTPInputs.swift ;;
        collectors) echo Fuzz/Collectors.swift ;;
        agentx) echo Fuzz/AgentXWire.swift ;;
        *) echo "fuzz.sh: unknown target '$1' (targets: ${ALL_TARGETS[*]})" >&2; return 1 ;;
    esac
}
target_modules() {
    case $1 in
        consensus) echo Plumbing Consensus ;;
        metrics) echo Model ;;
        config) echo Model Config ;;
        control) echo Model Control ;;
        web) echo Web ;;
        transport) echo Consensus Model ChassisKeys Crypto Transport ;;
        http) echo Model Control Crypto ChassisKeys Access Web ;;
        collectors) echo Model Metrics ;;
        agentx) echo AgentX ;;
    esac
}
target_max_len() {
    case $1 in
        web) echo 1024 ;;
        *) echo 4096 ;;
    esac
}
# The modules `$@` need, each after the modules it imports.
with_deps() {
    local module dep
    for module in "$@"; do
        [[ " $ordered " == *" $module "* ]] && continue
        # shellcheck disable=SC2046
        with_deps $(module_deps "$module")
        ordered+="$module "
    done
}
modules_of() {
    ordered=""
    # shellcheck disable=SC2046
    with_deps $(target_modules "$1")
    echo $ordered
}

for target in "${TARGETS[@]}"; do target_entry "$target" >/dev/null; done
mkdir -p "$OUT/modules" "$OUT/objects" "$OUT/logs"

compiler_version=$("$SWIFTC" --version 2>&1 | head -n 1)
# A module or a target is rebuilt only when this key changes: the compiler, the flags, the files
# (names and contents) and the keys of what it imports.
build_key() {
    { echo "$compiler_version"; echo "${FLAGS[*]}"; for file in "$@"; do echo "$file"; cat "$file"; done; } \
        | sha256sum | cut -d' ' -f1
}

# Builds one module into $OUT/modules/<name>.swiftmodule and $OUT/objects/<name>.o.
build_module() {
    local name=$1 files deps key dep flags
    files=$(module_files "$name")
    deps=$(module_deps "$name")
    flags="$(module_import_flags "$name") $(module_flags "$name")"
    # shellcheck disable=SC2086
    key=$( (echo "$flags"; build_key $files $(for dep in $deps; do echo "$OUT/modules/$dep.key"; done)) | sha256sum | cut -d' ' -f1)
    if [[ -f $OUT/modules/$name.key && $(cat "$OUT/modules/$name.key") == "$key" && -f $OUT/objects/$name.o ]]; then
        return 0
    fi
    rm -f "$OUT/modules/$name.key"
    # shellcheck disable=SC2086
    if ! "$SWIFTC" "${FLAGS[@]}" $flags -module-name "$name" -I "$OUT/modules" -wmo -c $files \
        -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" -o "$OUT/objects/$name.o" \
        >"$OUT/logs/build-$name.log" 2>&1; then
        echo "fuzz.sh: building module $name failed:" >&2
        grep -v "^/usr/bin/ld.gold: warning" "$OUT/logs/build-$name.log" | tail -n 40 >&2
        return 1
    fi
    echo "$key" >"$OUT/modules/$name.key"
    echo "  built module $name"
}

# Links one fuzz target: its entry and Fuzz/Support/Harness.swift with its modules' objects.
build_target() {
    local target=$1 entry modules key module objects=() flags=()
    entry=$(target_entry "$target")
    modules=$(modules_of "$target")
    for module in $modules; do
        objects+=("$OUT/objects/$module.o")
        # shellcheck disable=SC2207
        flags+=($(module_import_flags "$module"))
    done
    # shellcheck disable=SC2086
    key=$(build_key Fuzz/Support/Harness.swift "$entry" $(for module in $modules; do echo "$OUT/modules/$module.key"; done))
    if [[ -f $OUT/$target.key && $(cat "$OUT/$target.key") == "$key" && -x $OUT/$target ]]; then
        return 0
    fi
    rm -f "$OUT/$target.key"
    # The ld.gold warnings about ASan's local symbols are harmless and many.
    if ! "$SWIFTC" "${FLAGS[@]}" "${flags[@]}" -module-name "Fuzz_$target" -I "$OUT/modules" Fuzz/Support/Harness.swift "$entry" \
        "${objects[@]}" -o "$OUT/$target" >"$OUT/logs/build-$target.log" 2>&1; then
        echo "fuzz.sh: building fuzz target $target failed:" >&2
        grep -v "^/usr/bin/ld.gold: warning" "$OUT/logs/build-$target.log" | tail -n 40 >&2
        return 1
    fi
    echo "$key" >"$OUT/$target.key"
    echo "  built fuzz target $target"
}

# Runs builds side by side; fails if any of them failed.
in_parallel() {
    local builder=$1 pids=() failed=0 pid
    shift
    for item in "$@"; do
        "$builder" "$item" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    return $failed
}

# The modules the chosen targets need, built in rounds: each round the modules whose imports
# are built, side by side.
needed=" "
for target in "${TARGETS[@]}"; do
    for module in $(modules_of "$target"); do
        [[ $needed == *" $module "* ]] || needed+="$module "
    done
done

build_started=$(date +%s)
echo "fuzz.sh: building ${TARGETS[*]} into $OUT"
built=" "
while [[ -n ${needed// /} ]]; do
    round=()
    for module in $needed; do
        ready=1
        for dep in $(module_deps "$module"); do [[ $built == *" $dep "* ]] || ready=0; done
        (( ready )) && round+=("$module")
    done
    if [[ ${#round[@]} -eq 0 ]]; then echo "fuzz.sh: modules that import each other:$needed" >&2; exit 1; fi
    in_parallel build_module "${round[@]}"
    for module in "${round[@]}"; do
        built+="$module "
        needed=${needed/ $module / }
    done
done
in_parallel build_target "${TARGETS[@]}"
echo "fuzz.sh: build done in $(( $(date +%s) - build_started )) s"
[[ ${FUZZ_BUILD_ONLY:-} == 1 ]] && exit 0

# Swift's backtracer would hang for minutes after a crash instead of letting libFuzzer report it.
export SWIFT_BACKTRACE=enable=no
failures=()
printf '\n%-10s %10s %12s %9s %7s %7s  %s\n' target seconds executions "exec/s" cov ft result
for target in "${TARGETS[@]}"; do
    corpus="$PWD/$OUT/corpus-$target"
    crashes="$PWD/$OUT/crashes-$target"
    work="$PWD/$OUT/work-$target" # libFuzzer's -jobs writes fuzz-0.log into the current directory
    mkdir -p "$corpus" "$crashes" "$work"
    if [[ -d Fuzz/corpus/$target ]]; then cp -n Fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true; fi
    options=(-max_total_time="$SECONDS_PER_TARGET" -max_len="$(target_max_len "$target")" -jobs=1 -timeout=10
             -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/")
    [[ -f Fuzz/dict/$target.dict ]] && options+=(-dict="$PWD/Fuzz/dict/$target.dict")
    log="$PWD/$OUT/logs/fuzz-$target.log"
    status=0
    (cd "$work" && "$OLDPWD/$OUT/$target" "${options[@]}" "$corpus") >"$log" 2>&1 || status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    if [[ -z $executions ]]; then executions=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1); fi
    result=ok
    if (( status != 0 )); then
        result="FAILED (exit $status)"
        failures+=("$target")
    fi
    printf '%-10s %10s %12s %9s %7s %7s  %s\n' "$target" "$SECONDS_PER_TARGET" "${executions:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$result"
    if (( status != 0 )); then
        {
            echo "---- $target: the end of its log ($log)"
            grep -E 'FUZZ INVARIANT FAILED|ERROR: |Fatal error|SUMMARY|^    #[0-9] ' "$log" | head -n 20 || true
            input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
            if [[ -n $input ]]; then
                echo "input: $input"
                echo "replay: SWIFT_BACKTRACE=enable=no FUZZ_VERBOSE=1 $OUT/$target $input"
            else
                tail -n 20 "$log"
            fi
            echo "----"
        } >&2
    fi
done

if (( ${#failures[@]} > 0 )); then
    echo "fuzz.sh: ${failures[*]} failed" >&2
    exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET} s each, no crash"
