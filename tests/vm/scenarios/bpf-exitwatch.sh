#!/bin/sh
# bpf/exitwatch on Debian's 6.1 kernel with pure cgroup v2 (issue #5): the host
# suite again — CO-RE relocation against 6.1's BTF, the one-argument
# sched_process_exit, the raw_tp fallback — plus the OOM victim event from a
# cgroup v2 memory.max kill.  Every test must run here: a skip fails the scenario.
# vm-files: $BUILD/tests/unit/test-bpf-exitwatch
# vm-timeout: 400
# vm-mem: 768
set -u
t=test-bpf-exitwatch
out=/tmp/$t.log
# One test at a time: once (session 3, 1 run in 6) the guest's two CPUs locked up for
# minutes in two test processes running side by side (soft lockup, Debian 6.1 under qemu);
# not diagnosed, never seen on the host; whether running them one by one avoids it is not
# proven yet.
timeout 360 "$BUILD/tests/unit/$t" --jobs 1 --verbose >"$out" 2>&1
rc=$?
cat "$out"
[ $rc -eq 0 ] || echo "FAIL: $t exited $rc"
if grep '^\[SKIP\]' "$out"; then
        echo "FAIL: $t skipped tests in the VM"
        rc=1
fi
exit $rc
