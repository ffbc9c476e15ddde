#!/bin/sh
# Runs each libFuzzer target for a bounded time from its seed corpus
# (tests/fuzz/corpus/NAME/); new inputs go to build-fuzz/corpus/NAME/ so the
# committed seeds stay small.  Crashes are written to build-fuzz/crashes/.
set -eu
secs=${FUZZ_SECONDS:-60}
status=0
for bin in "$@"; do
        name=$(basename "$bin")
        work="build-fuzz/corpus/$name"
        mkdir -p "$work" build-fuzz/crashes
        seeds="tests/fuzz/corpus/$name"
        [ -d "$seeds" ] || seeds=""
        echo "== $name (${secs}s)"
        if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
                -artifact_prefix="build-fuzz/crashes/$name-" -print_final_stats=1 \
                "$work" $seeds 2>"build-fuzz/$name.log"; then
                status=1
                echo "$name: FAILED, see build-fuzz/$name.log and build-fuzz/crashes/" >&2
        fi
        grep -E '^stat::(number_of_executed_units|new_units_added)' "build-fuzz/$name.log" || true
done
exit $status
