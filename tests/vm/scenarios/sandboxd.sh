#!/bin/sh
# sandboxd end to end on a pure cgroup v2 host (issue #6): the daemon and sandboxctl in the
# guest; a sandbox whose spec sets linux.resources.memory.limit (refused on the hybrid
# host) starts, allocates past the limit, is OOM-killed (exit 137), and the kill is visible
# in Status (oom_killed) and Metrics (memory.events oom_kill); a pids limit is enforced;
# Shutdown leaves no cgroup behind.
# vm-files: $BUILD/sandboxd $BUILD/sandboxctl $repo/tests/vm/lib-sandboxd.sh
# vm-timeout: 300
# vm-mem: 768
set -u

fail=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; fail=1; }

. tests/vm/lib-sandboxd.sh
vm_enter_tmpfs_root "$0"
vm_start_daemon sbx-vm
$CTL version

# The default spec plus a 32 MiB memory limit and a pids limit of 16.
$CTL spec | sed 's/^  "linux": {$/  "linux": {"resources": {"memory": {"limit": 33554432}, "pids": {"limit": 16}},/' \
        >/tmp/limited.json
grep -q '"limit": 33554432' /tmp/limited.json || bad "spec edit"

# 1. OOM: a shell keeps 64 MB in a variable.
$CTL create oom --spec /tmp/limited.json -- /bin/sh -c \
        'x=$(tr "\0" a </dev/zero | head -c 67108864); echo survived ${#x}' >/dev/null
$CTL start oom >/dev/null || bad "start with a memory limit"
st=$($CTL wait oom)
[ "$st" = 137 ] && ok "OOM-killed: exit 137" || bad "exit status $st, expected 137"
$CTL status oom
$CTL status oom | grep -q '^OOM KILLED *yes' && ok "status: oom_killed" || bad "status: oom_killed"
$CTL metrics oom
n=$($CTL metrics oom | sed -n 's/^memory.events.oom_kill *//p')
[ "${n:-0}" -ge 1 ] 2>/dev/null && ok "metrics: memory.events oom_kill $n" || bad "metrics: oom_kill '$n'"
max=$(cat "$CG/sandboxes/default/oom/memory.max" 2>/dev/null)
[ "$max" = 33554432 ] && ok "memory.max 33554432" || bad "memory.max '$max'"
$CTL shutdown oom && $CTL delete oom
[ ! -e "$CG/sandboxes/default/oom" ] && ok "shutdown removed the cgroup" || bad "cgroup left"

# 2. pids.max: the 17th concurrent process cannot be forked.
out=$($CTL run --rm --spec /tmp/limited.json pids -- /bin/sh -c \
        'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done 2>&1 | head -n 1; echo done' 2>&1)
echo "$out"
echo "$out" | grep -qi "resource temporarily unavailable\|can't fork\|cannot fork" &&
        ok "pids.max enforced" || bad "pids.max not enforced"

# 3. The plain quick start works here too.
out=$($CTL run --rm demo -- /bin/echo hello)
[ "$out" = hello ] && ok "run --rm demo -- /bin/echo hello" || bad "run: '$out'"

kill -TERM $dpid
wait $dpid
grep -E '^<[0-3]>' /tmp/daemon.log && bad "errors in the daemon's log"
[ $fail = 0 ] && echo "sandboxd VM scenario: PASS" || { echo "sandboxd VM scenario: FAIL"; cat /tmp/daemon.log; }
exit $fail
