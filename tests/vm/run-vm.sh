#!/bin/sh
# Boots Debian's kernel under qemu (TCG) with a pure cgroup v2 hierarchy, runs one
# command inside, and exits with the command's exit status.
#
#   tests/vm/run-vm.sh [--file PATH]... [--timeout SEC] [--mem MB] [--smp N] -- CMD [ARG]...
#
# --file PATH   copy PATH (file or directory) into the guest at the same absolute
#               path; for ELF files the shared libraries they need (ldd) come
#               along.  Repeatable.  CMD itself is copied the same way if it is a
#               path on the host.
# Environment:  BUILD (exported to the guest as an absolute path), VM_KERNEL (a
#               bzImage; default: the one of Debian's linux-image-amd64), VM_CACHE
#               (where vmlinux is cached; default $BUILD/vm), VM_VERBOSE=1 (kernel log),
#               VM_ACCEL (qemu's -accel; default tcg,thread=single: with one thread
#               per vCPU, QEMU 7.2's TCG was seen executing an int3 that the guest had
#               already patched away at an ftrace site — the entry of taskstats_exit,
#               re-patched whenever the exit watcher's fentry or kprobe is attached or
#               detached — and both vCPUs trapped on it forever: soft lockups).
#
# The guest: busybox, /proc, /sys, devtmpfs /dev, cgroup2 at /sys/fs/cgroup with
# every controller enabled in the root's cgroup.subtree_control, /tmp on tmpfs,
# cwd = this repository's path, PATH with busybox.  CMD's exit status goes out
# through isa-debug-exit (qemu exits with (status << 1) | 1).  If qemu cannot run
# or the guest does not report a status, this script fails loudly (exit 125).
set -eu

die() {
        echo "run-vm: $*" >&2
        exit 125
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$repo/$BUILD" ;; esac
cache=${VM_CACHE:-$BUILD/vm}
timeout=120
mem=512
smp=2
files=""

while [ $# -gt 0 ]; do
        case "$1" in
        --file) files="$files $2"; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --smp) smp=$2; shift 2 ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
        esac
done
[ $# -gt 0 ] || die "usage: run-vm.sh [--file PATH]... [--timeout S] -- CMD [ARG]..."

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (scripts/deps.sh installs qemu-system-x86)"
command -v cpio >/dev/null || die "cpio not found"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox not found (busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (install busybox-static)"

# --- the kernel: Debian's linux-image-amd64, not necessarily the running one ---
find_kernel() {
        if [ -n "${VM_KERNEL:-}" ]; then
                echo "$VM_KERNEL"
                return
        fi
        dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | sed -n 's/^\(linux-image-[^ ,]*\).*/\1/p')
        if [ -n "$dep" ] && [ -f "/boot/vmlinuz-${dep#linux-image-}" ]; then
                echo "/boot/vmlinuz-${dep#linux-image-}"
                return
        fi
        ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1
}
bz=$(find_kernel)
[ -n "$bz" ] && [ -r "$bz" ] || die "no Debian kernel in /boot (install linux-image-amd64)"

# An uncompressed vmlinux boots ~2 s faster than the bzImage under TCG: cut it out
# of the bzImage at the compressed payload's magic, as scripts/extract-vmlinux does.
mkdir -p "$cache"
kernel="$cache/vmlinux-$(basename "$bz" | sed 's/^vmlinuz-//')"
if [ ! -s "$kernel" ]; then
        tmpk="$kernel.tmp.$$"
        for magic in 'xz:\xfd7zXZ\x00' 'gzip:\x1f\x8b\x08' 'zstd:\x28\xb5\x2f\xfd'; do
                tool=${magic%%:*}
                pat=${magic#*:}
                command -v "$tool" >/dev/null || continue
                for off in $(LC_ALL=C grep -obUaP "$pat" "$bz" 2>/dev/null | cut -d: -f1 | head -n 5); do
                        tail -c +$((off + 1)) "$bz" | "$tool" -dc 2>/dev/null >"$tmpk" || true
                        if [ "$(head -c 4 "$tmpk" | od -An -c | tr -d ' ')" = '177ELF' ]; then
                                mv "$tmpk" "$kernel"
                                break 2
                        fi
                done
        done
        rm -f "$tmpk"
        if [ ! -s "$kernel" ]; then
                echo "run-vm: could not extract vmlinux from $bz; booting the bzImage" >&2
                kernel=$bz
        fi
fi

# --- the initramfs ---
work=$(mktemp -d "${TMPDIR:-/tmp}/sbx-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root="$work/root"
mkdir -p "$root/bin" "$root/sbin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/etc" \
        "$root/usr/bin" "$root/usr/lib" "$root/usr/lib64" "$root/run"
# Mirror a merged-/usr host (/lib -> usr/lib), so library symlinks resolve alike.
for d in lib lib64 lib32; do
        if [ -L "/$d" ]; then
                ln -s "$(readlink "/$d")" "$root/$d"
        else
                mkdir -p "$root/$d"
        fi
done
cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list); do
        [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done
# /dev/console must exist before devtmpfs is mounted, or the init has no stdio.
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

copy_one() { # copies a host path to the same path in the guest
        src=$1
        [ -e "$src" ] || die "--file $src: no such file"
        mkdir -p "$root$(dirname "$src")"
        cp -a "$src" "$root$(dirname "$src")/" 2>/dev/null || cp -L "$src" "$root$src"
        # Keep symlinks working: also copy what they point to.
        if [ -L "$src" ]; then
                copy_one "$(readlink -f "$src")"
        fi
}

copy_libs() { # the shared libraries an ELF file needs
        ldd "$1" 2>/dev/null | while read -r a b c _; do
                case "$a" in /*) lib=$a ;; *) lib=${c:-} ;; esac
                [ "$b" = "=>" ] || lib=$a
                case "$lib" in /*) ;; *) continue ;; esac
                [ -e "$root$lib" ] && continue
                copy_one "$lib"
        done
}

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

add_path() {
        p=$(readlink -f "$1" 2>/dev/null || echo "$1")
        case "$1" in /*) ;; *) p=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") ;; esac
        copy_one "$p"
        if [ -d "$p" ]; then
                find "$p" -type f | while read -r f; do is_elf "$f" && copy_libs "$f"; done
        elif is_elf "$p"; then
                copy_libs "$p"
        fi
        return 0
}

for f in $files; do add_path "$f"; done
case "$1" in
/* | ./* | */*) [ -e "$1" ] && add_path "$1" ;;
esac

# The command, quoted for the guest's sh.
cmd=""
for a in "$@"; do
        case "$a" in
        */*) [ -e "$a" ] && case "$a" in /*) ;; *) a=$(cd "$(dirname "$a")" && pwd)/$(basename "$a") ;; esac ;;
        esac
        cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
done

cat >"$root/init" <<EOF
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# /tmp stays on the initramfs (already RAM): a tmpfs there would hide files copied
# in from a host path under /tmp (a checkout in /tmp, mktemp build dirs).
chmod 1777 /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || echo "run-vm: cannot mount cgroup2"
# Every controller for the children of the root cgroup (this is the guest's own host).
for c in \$(cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+\$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || echo "run-vm: cannot enable \$c"
done
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ip link set lo up 2>/dev/null
export BUILD='$BUILD' SBX_REPO='$repo' SBX_IN_VM=1 HOME=/tmp
cd '$repo' 2>/dev/null || cd /
echo "run-vm: guest up: \$(uname -r), cgroup controllers: \$(cat /sys/fs/cgroup/cgroup.subtree_control)"
$cmd
rc=\$?
echo "run-vm: exit status \$rc"
# isa-debug-exit at port 0xf4: qemu exits with (rc << 1) | 1.
printf "\\\\\$(printf '%03o' \$((rc & 255)))" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
sync
poweroff -f
EOF
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio" || die "cpio failed"

append="console=ttyS0 rdinit=/init panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 mitigations=off nokaslr tsc=reliable"
[ "${VM_VERBOSE:-0}" = 1 ] || append="$append quiet loglevel=3"

set +e
{
        timeout --kill-after=5 "$timeout" qemu-system-x86_64 -accel "${VM_ACCEL:-tcg,thread=single}" \
                -m "$mem" -smp "$smp" \
                -kernel "$kernel" -initrd "$work/initramfs.cpio" -append "$append" \
                -nographic -no-reboot -monitor none -serial stdio -nodefaults -vga none \
                -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>"$work/qemu.err"
        echo $? >"$work/qemu.rc"
} | tr -d '\r' | tee "$work/console"
set -e
qrc=$(cat "$work/qemu.rc")
# qemu's own failures exit 1, the same as isa-debug-exit with status 0, so the
# status is trusted only together with the guest's marker line.
marker=$(sed -n 's/^run-vm: exit status \([0-9]*\)$/\1/p' "$work/console" | tail -n 1)
if [ -z "$marker" ]; then
        cat "$work/qemu.err" >&2
        [ "$qrc" = 124 ] || [ "$qrc" = 137 ] && die "the guest did not finish within ${timeout}s"
        die "qemu exited with $qrc and the guest reported no status (did qemu start at all?)"
fi
if [ "$qrc" -ne $((((marker << 1) | 1) & 255)) ]; then
        cat "$work/qemu.err" >&2
        die "guest reported $marker but qemu exited with $qrc (isa-debug-exit not reached?)"
fi
exit "$marker"
