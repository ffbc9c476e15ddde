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
# Two test processes side by side, as on the host.  The soft lockups seen here once
# (session 3) were QEMU's multi-threaded TCG running a stale int3 at the entry of
# taskstats_exit, which the guest kernel re-patches whenever a test attaches or detaches
# the exit watcher's fentry/kprobe there; run-vm.sh now runs TCG single-threaded
# (reproduced 3 times in ~50 iterations before, none in 74 after).
timeout 360 "$BUILD/tests/unit/$t" --jobs 2 --verbose >"$out" 2>&1
rc=$?
cat "$out"
[ $rc -eq 0 ] || echo "FAIL: $t exited $rc"
if grep '^\[SKIP\]' "$out"; then
        echo "FAIL: $t skipped tests in the VM"
        rc=1
fi
exit $rc
