#!/bin/sh
# Installs the Debian packages sandboxd needs to build, test and benchmark.
# Idempotent: asks apt only for what is missing, and runs `apt-get update`
# only when something is.  Usage: scripts/deps.sh [--bench]
set -eu

PKGS="gcc make pkg-config clang llvm libclang-rt-14-dev clang-format
libseccomp-dev libmnl-dev libbpf-dev bpftool libjansson-dev libmicrohttpd-dev
libcap-dev libcriterion-dev curl jq iproute2 util-linux
qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils"

# Anchors the benchmarks compare against (make bench).
BENCH_PKGS="libsqlite3-dev liblmdb-dev crun runc bubblewrap"

[ "${1:-}" = "--bench" ] && PKGS="$PKGS $BENCH_PKGS"

missing=""
for p in $PKGS; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                missing="$missing $p"
        fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
        exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
