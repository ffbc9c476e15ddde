#!/bin/bash
# The integration suites: every tests/integration/test-*.sh, each against its own real daemon
# (temporary socket, state dir, run dir, cgroup root, bpffs dir; see lib-daemon.sh).
# Called by `make test-integration` with BUILD in the environment (build/ or build-san/).
#   tests/integration/run.sh [SUITE...]     e.g. run.sh api
# Prints one PASS/FAIL/SKIP line per suite (and per case inside it), a summary, and exits
# non-zero when any suite failed.  A suite exits 77 to skip (missing root, cgroup2, jq...).
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
# Keep the runtime bounded even if a daemon hangs: each suite gets at most this long.
SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}

suites=()
if [ $# -gt 0 ]; then
        for s in "$@"; do suites+=("tests/integration/test-$s.sh"); done
else
        suites=(tests/integration/test-*.sh)
fi

pass=() failed=() skipped=()
for s in "${suites[@]}"; do
        name=$(basename "$s" .sh)
        name=${name#test-}
        echo "==== $name"
        start=$(date +%s)
        timeout --kill-after=10 "$SUITE_TIMEOUT" bash "$s"
        rc=$?
        took=$(($(date +%s) - start))
        case $rc in
        0) echo "PASS suite $name (${took}s)"; pass+=("$name") ;;
        77) echo "SKIP suite $name"; skipped+=("$name") ;;
        *) echo "FAIL suite $name (exit $rc, ${took}s)"; failed+=("$name") ;;
        esac
done
echo "integration: ${#pass[@]} passed, ${#failed[@]} failed${failed[*]:+ (${failed[*]})}," \
        "${#skipped[@]} skipped${skipped[*]:+ (${skipped[*]})}"
[ ${#failed[@]} -eq 0 ]
