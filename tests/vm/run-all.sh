#!/bin/sh
# Runs every VM scenario (tests/vm/scenarios/*.sh), one guest boot each, and fails
# if any fails.  `make test-vm` calls this; `tests/vm/run-all.sh NAME...` runs the
# named ones (NAME = file name without .sh).
#
# A scenario is a shell script run by the guest's busybox sh, with $BUILD (absolute)
# and $SBX_REPO set and the repository's path as cwd.  Header lines tell the host
# what to copy into the guest and how long to wait:
#   # vm-files: $BUILD/tests/unit/test-foo $BUILD/bar     (shared libraries follow)
#   # vm-timeout: 300                                     (seconds; default 300)
#   # vm-mem: 512                                         (MiB; default 512)
# See tests/vm/README.md.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$repo/$BUILD" ;; esac
export BUILD
cd "$repo" || exit 1

if [ $# -gt 0 ]; then
        scenarios=""
        for n in "$@"; do scenarios="$scenarios $here/scenarios/${n%.sh}.sh"; done
else
        scenarios=$(ls "$here"/scenarios/*.sh 2>/dev/null)
fi
[ -n "$scenarios" ] || { echo "test-vm: no scenarios in $here/scenarios"; exit 0; }

failed=""
for s in $scenarios; do
        name=$(basename "$s" .sh)
        [ -f "$s" ] || { echo "test-vm: no scenario $name" >&2; failed="$failed $name"; continue; }
        files=$(sed -n 's/^# vm-files:[[:space:]]*//p' "$s")
        files=$(eval "echo $files")
        tmo=$(sed -n 's/^# vm-timeout:[[:space:]]*//p' "$s" | head -n 1)
        mem=$(sed -n 's/^# vm-mem:[[:space:]]*//p' "$s" | head -n 1)
        args=""
        for f in $files; do args="$args --file $f"; done
        echo "== vm: $name"
        start=$(date +%s)
        # shellcheck disable=SC2086
        "$here/run-vm.sh" --timeout "${tmo:-300}" --mem "${mem:-512}" $args --file "$s" -- /bin/sh "$s"
        rc=$?
        echo "== vm: $name: exit $rc ($(( $(date +%s) - start )) s)"
        [ $rc -eq 0 ] || failed="$failed $name"
done
if [ -n "$failed" ]; then
        echo "test-vm: FAILED:$failed" >&2
        exit 1
fi
echo "test-vm: all scenarios passed"
