#!/bin/sh
# Runs criterion test binaries one after another, each under a timeout, and
# prints a summary.  Fails if any binary fails.
set -u
status=0
failed=""
for t in "$@"; do
        echo "== $t"
        # criterion forks each test; --jobs keeps two cores busy without
        # starving tests that create processes of their own.
        if ! timeout --kill-after=10 "${UNIT_TIMEOUT:-900}" "$t" --jobs 2 --timeout 300; then
                status=1
                failed="$failed $t"
        fi
done
[ -n "$failed" ] && echo "FAILED:$failed" >&2
exit $status
