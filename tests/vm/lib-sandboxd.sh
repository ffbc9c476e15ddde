# Shared by the VM scenarios that run sandboxd in the guest (sourced by busybox sh; list
# this file in the scenario's `# vm-files:` line).

# vm_enter_tmpfs_root SCRIPT: the guest's root is the initramfs (rootfs), and pivot_root(2)
# refuses to leave rootfs (EINVAL): copy it to a tmpfs, move that over / and chroot into it,
# as an init would, then run SCRIPT again from there.  Returns only in the second stage.
vm_enter_tmpfs_root() {
        [ "${SBX_VM_STAGE:-}" = 2 ] && return 0
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
        SBX_VM_STAGE=2 exec chroot . /bin/sh -c "cd '$repo' && exec /bin/sh '$1'"
}

# vm_start_daemon NAME: starts sandboxd with its socket, cgroup root and bpf dir named after
# NAME and waits until it answers; sets CTL (the sandboxctl command), CG and dpid.
vm_start_daemon() {
        CTL="$BUILD/sandboxctl --socket /tmp/$1.sock"
        CG=/sys/fs/cgroup/$1
        mkdir -p /tmp/state /tmp/run
        "$BUILD/sandboxd" --socket "/tmp/$1.sock" --state-dir /tmp/state --run-dir /tmp/run \
                --cgroup-root "$CG" --bpf-dir "/sys/fs/bpf/$1" --log-level info \
                >/tmp/daemon.log 2>&1 &
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
}
