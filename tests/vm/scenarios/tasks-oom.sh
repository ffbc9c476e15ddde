#!/bin/sh
# Tasks under a pure cgroup v2 host (issue #7): the limits of a sandbox cover its tasks.  A
# task that allocates past the sandbox's memory.max is OOM-killed (exit 137) while the
# sandbox's own process survives, and the event stream reports the OOM kill and the task's
# exit.  sandboxd, sandboxctl exec and sandboxctl events in the guest.
# vm-files: $BUILD/sandboxd $BUILD/sandboxctl
# vm-timeout: 300
# vm-mem: 768
set -u

fail=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; fail=1; }

# The guest's root is the initramfs (rootfs), and pivot_root(2) refuses to leave rootfs
# (EINVAL): copy it to a tmpfs, move that over / and chroot into it, as an init would.
if [ "${SBX_VM_STAGE:-}" != 2 ]; then
        repo=$PWD
        mkdir -p /newroot
        mount -t tmpfs -o size=300m tmpfs /newroot || exit 1
        for d in /*; do
                case "$d" in /proc | /sys | /dev | /newroot) ;; *) cp -a "$d" /newroot/ ;; esac
        done
        mkdir -p /newroot/proc /newroot/sys /newroot/dev
        mount --rbind /dev /newroot/dev
        mount --rbind /sys /newroot/sys
        mount -t proc proc /newroot/proc
        cd /newroot || exit 1
        mount --move . / || exit 1
        SBX_VM_STAGE=2 exec chroot . /bin/sh -c "cd '$repo' && exec /bin/sh '$0'"
fi

CTL="$BUILD/sandboxctl --socket /tmp/sbx7.sock"
CG=/sys/fs/cgroup/sbx-vm7
mkdir -p /tmp/state /tmp/run
"$BUILD/sandboxd" --socket /tmp/sbx7.sock --state-dir /tmp/state --run-dir /tmp/run \
        --cgroup-root "$CG" --bpf-dir /sys/fs/bpf/sbx-vm7 --log-level info >/tmp/daemon.log 2>&1 &
dpid=$!
i=0
until $CTL version >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 $dpid 2>/dev/null; then
                echo "daemon did not start"
                cat /tmp/daemon.log
                exit 1
        fi
        sleep 0.1
done
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
