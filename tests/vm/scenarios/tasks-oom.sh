#!/bin/sh
# Tasks under a pure cgroup v2 host (issue #7): the limits of a sandbox cover its tasks.  A
# task that allocates past the sandbox's memory.max is OOM-killed (exit 137) while the
# sandbox's own process survives, and the event stream reports the OOM kill and the task's
# exit.  sandboxd, sandboxctl exec and sandboxctl events in the guest.
# vm-files: $BUILD/sandboxd $BUILD/sandboxctl $repo/tests/vm/lib-sandboxd.sh
# vm-timeout: 300
# vm-mem: 768
set -u

fail=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; fail=1; }

. tests/vm/lib-sandboxd.sh
vm_enter_tmpfs_root "$0"
vm_start_daemon sbx-vm7
$CTL version

$CTL spec | sed 's/^  "linux": {$/  "linux": {"resources": {"memory": {"limit": 33554432}},/' \
        >/tmp/limited.json
grep -q '"limit": 33554432' /tmp/limited.json || bad "spec edit"
$CTL create box --spec /tmp/limited.json -- /bin/sleep 100000 >/dev/null || bad "create"
$CTL start box >/dev/null || bad "start with a memory limit"
$CTL events >/tmp/events 2>&1 &
epid=$!
sleep 1
# A task keeps 64 MB in a variable: past the sandbox's 32 MiB.
$CTL exec --id hog box -- /bin/sh -c \
        'x=$(tr "\0" a </dev/zero | head -c 67108864); echo survived ${#x}'
st=$?
[ "$st" = 137 ] && ok "the task was OOM-killed: exit 137" || bad "task exit status $st, expected 137"
n=$(cat /sys/fs/cgroup/sbx-vm7/sandboxes/default/box/memory.events | sed -n 's/^oom_kill //p')
[ "${n:-0}" -ge 1 ] 2>/dev/null && ok "the sandbox's memory.events counts it ($n)" || bad "oom_kill '$n'"
st=$($CTL status box | sed -n 's/^STATE *//p')
[ "$st" = running ] && ok "the sandbox's own process survived" || bad "sandbox state '$st'"
$CTL exec box -- /bin/true && ok "a small task still runs" || bad "small task failed"
sleep 1
kill $epid 2>/dev/null
cat /tmp/events
grep '"type":"sandbox.oom"' /tmp/events | grep -q '"sandbox_id":"box"' &&
        ok "the event stream reports the OOM kill" || bad "no sandbox.oom event"
grep '"type":"task.exited"' /tmp/events | grep '"task_id":"hog"' | grep -q '"exit_status":137' &&
        ok "the event stream reports the task's exit (137)" || bad "no task.exited 137 event"
$CTL shutdown box >/dev/null && $CTL delete box >/dev/null
[ ! -e /sys/fs/cgroup/sbx-vm7/sandboxes/default/box ] && ok "shutdown removed the cgroup" ||
        bad "cgroup left"
kill $dpid 2>/dev/null
wait $dpid 2>/dev/null
[ $fail = 0 ] && echo "tasks-oom: all ok"
exit $fail
