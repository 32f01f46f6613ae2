#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz preset (tests/fuzz/CMakeLists.txt): first each input
# saved under tests/fuzz/regressions/<name>/ once (a crash found before must stay fixed), then
# fuzzing for SECONDS from the seeds in tests/fuzz/corpus/<name>/ (random seed FUZZ_SEED, default
# 1: a run repeats the same inputs as far as it gets; the corpus grows in the build
# folder, never in the repository). A crash stops the run with exit 1 and names the input.
#   tests/fuzz/run.sh build/fuzz/tests/fuzz 60
set -euo pipefail
bin=$1 seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for exe in "$bin"/*_fuzz; do
    name=$(basename "$exe" _fuzz)
    work="$bin/work/$name"
    mkdir -p "$work/corpus" "$work/crashes"
    regressions=("$here/regressions/$name"/*)
    if [ -e "${regressions[0]}" ]; then
        "$exe" -runs=1 "${regressions[@]}" >"$work/regressions.log" 2>&1 || {
            echo "fuzz $name: a saved regression fails again (log: $work/regressions.log)"
            status=1
            continue
        }
    fi
    echo "fuzz $name: ${seconds} s from $(ls "$here/corpus/$name" | wc -l) seeds"
    if ! "$exe" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" "$work/corpus" "$here/corpus/$name" \
        >"$work/fuzz.log" 2>&1; then
        echo "fuzz $name: FOUND A CRASH: $(ls "$work/crashes" | head -1) (log: $work/fuzz.log);"
        echo "  fix it, then keep the input: cp $work/crashes/* $here/regressions/$name/"
        status=1
    else
        grep -E "stat::number_of_executed_units|cov: " "$work/fuzz.log" | tail -2 | sed "s/^/  /"
    fi
done
exit $status
