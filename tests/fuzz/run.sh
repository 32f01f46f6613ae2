#!/usr/bin/env bash
# Runs every libFuzzer target of the asan preset (tests/fuzz/CMakeLists.txt): first each input
# saved under tests/fuzz/regressions/<name>/ once (a crash found before must stay fixed), then
# fuzzing for SECONDS from the seeds in tests/fuzz/corpus/<name>/ (random seed FUZZ_SEED, default
# 1: a run repeats the same inputs as far as it gets; the corpus grows in the build folder, never
# in the repository). FUZZ_JOBS targets at a time (default: the machine's cores), each on a core
# of its own for the whole SECONDS. A crash makes the run exit 1 and names the input.
#   tests/fuzz/run.sh build/asan/tests/fuzz 60
set -euo pipefail
bin=$1 seconds=${2:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
here=$(cd "$(dirname "$0")" && pwd)

# One target: its regressions, then SECONDS of fuzzing; the outcome in $work/outcome.
fuzz_one() {
    local exe=$1 name work
    name=$(basename "$exe" _fuzz)
    work="$bin/work/$name"
    mkdir -p "$work/corpus" "$work/crashes"
    local regressions=("$here/regressions/$name"/*)
    if [ -e "${regressions[0]}" ] &&
        ! "$exe" -runs=1 "${regressions[@]}" >"$work/regressions.log" 2>&1; then
        echo "fuzz $name: a saved regression fails again (log: $work/regressions.log)" >"$work/outcome"
        return 1
    fi
    if ! "$exe" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/crashes/" \
        "$work/corpus" "$here/corpus/$name" >"$work/fuzz.log" 2>&1; then
        {
            echo "fuzz $name: FOUND A CRASH: $(ls "$work/crashes" | head -1) (log: $work/fuzz.log);"
            echo "  fix it, then keep the input: cp $work/crashes/* $here/regressions/$name/"
        } >"$work/outcome"
        return 1
    fi
    {
        echo "fuzz $name: ${seconds} s from $(ls "$here/corpus/$name" | wc -l) seeds, no finding"
        grep -E "stat::number_of_executed_units|cov: " "$work/fuzz.log" | tail -2 | sed "s/^/  /"
    } >"$work/outcome"
}

targets=("$bin"/*_fuzz)
status=0
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
    pids=()
    for exe in "${targets[@]:i:jobs}"; do
        fuzz_one "$exe" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
done
for exe in "${targets[@]}"; do
    cat "$bin/work/$(basename "$exe" _fuzz)/outcome"
done
exit $status
