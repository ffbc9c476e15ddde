#!/bin/sh
# cgroups/ on a pure cgroup v2 hierarchy (issue #4): the host suites again (layout,
# kill, freeze, events, devices) plus the limits the hybrid host cannot enforce
# (memory.max OOM kill, pids.max, cpu.max throttling, cpu.weight, cpuset, hugetlb),
# all with real processes.  Every test must run here: a skip fails the scenario,
# except the two that only make sense on a hybrid host.
# vm-files: $BUILD/tests/unit/test-cgroups $BUILD/tests/unit/test-cgroups-devices $BUILD/tests/unit/test-cgroups-limits $BUILD/tests/unit/test-cgroups-resources
# vm-timeout: 300
set -u
rc=0
for t in test-cgroups-limits test-cgroups test-cgroups-devices test-cgroups-resources; do
        echo "-- $t"
        out=/tmp/$t.log
        timeout 240 "$BUILD/tests/unit/$t" --jobs 2 --verbose >"$out" 2>&1
        r=$?
        cat "$out"
        [ $r -eq 0 ] || { echo "FAIL: $t exited $r"; rc=1; }
        # Skips allowed only for tests that need a hybrid host.
        if grep '^\[SKIP\]' "$out" | grep -v -e missing_controller_is_failed_precondition \
                -e undelegated_controller_names_the_parent; then
                echo "FAIL: $t skipped tests in the VM"
                rc=1
        fi
done
exit $rc
