# shellcheck shell=bash
# Helpers for the integration tests of tasks, events and restarts (issue #7):
# a real sandboxd on a temporary socket, state dir, run dir, cgroup root and bpffs
# pin directory, all removed on exit (processes, cgroups and mounts included).
#
#   . tests/integration/lib-daemon.sh
#   d_setup NAME            temporary dirs + trap
#   d_start [ARGS...]       start the daemon, wait for its socket
#   d_kill9 / d_stop        SIGKILL / SIGTERM it (sandboxes keep running)
#   api METHOD PATH [BODY]  one request; body in $BODY_OUT, status in $STATUS
#   mkspec JSON_PROCESS|-   an OCI spec (host root read-only) as the base64 for a record
#   sb_create ID [PROCESS_JSON] [HOSTNAME]; sb_start ID; sb_shutdown ID; ...
#   ok / fail / check       assertions that count
set -u

BUILD=${BUILD:-build}
SANDBOXD=${SANDBOXD:-$BUILD/sandboxd}
SANDBOXCTL=${SANDBOXCTL:-$BUILD/sandboxctl}
CG2=${CG2:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)}

T_PASS=0
T_FAIL=0
T_NAME=${T_NAME:-test}
D_PID=
D_LOG=

ok() {
        T_PASS=$((T_PASS + 1))
        echo "  ok   $*"
}
fail() {
        T_FAIL=$((T_FAIL + 1))
        echo "  FAIL $*"
        [ -n "${D_LOG:-}" ] && [ -f "$D_LOG" ] && tail -n 20 "$D_LOG" | sed 's/^/       | /'
        return 0
}
# check DESCRIPTION COMMAND...
check() {
        local what=$1
        shift
        if "$@"; then ok "$what"; else fail "$what"; fi
}
# eq DESCRIPTION EXPECTED ACTUAL
eq() {
        if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
skip_all() {
        echo "SKIP $T_NAME: $*"
        exit 77
}

d_setup() {
        T_NAME=$1
        [ "$(id -u)" = 0 ] || skip_all "needs root"
        [ -n "$CG2" ] || skip_all "no cgroup2 mount"
        [ -x "$SANDBOXD" ] || skip_all "no $SANDBOXD (build first)"
        command -v jq >/dev/null || skip_all "jq is not installed"
        T=$(mktemp -d "/var/tmp/sbx-$T_NAME.XXXXXX")
        chmod 755 "$T"
        SOCK=$T/run/sandboxd.sock
        RUN=$T/run
        STATE=$T/state
        CGROOT=$CG2/sbx-$T_NAME-$$
        if mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null; then
                BPFDIR=/sys/fs/bpf/sbx-$T_NAME-$$
        else
                BPFDIR=$T/no-bpffs
        fi
        D_LOG=$T/daemon.log
        mkdir -p "$RUN" "$STATE"
        trap d_cleanup EXIT
        trap 'exit 130' INT TERM
}

d_start() {
        : >>"$D_LOG"
        echo "---- start $(date +%T.%N)" >>"$D_LOG"
        "$SANDBOXD" --socket "$SOCK" --state-dir "$STATE" --run-dir "$RUN" \
                --cgroup-root "$CGROOT" --bpf-dir "$BPFDIR" --allow-missing-controllers \
                --log-level debug "$@" >>"$D_LOG" 2>&1 &
        D_PID=$!
        local i
        for i in $(seq 1 400); do
                if [ -S "$SOCK" ] && curl -s --max-time 2 --unix-socket "$SOCK" \
                        http://x/v1/health >/dev/null 2>&1; then
                        return 0
                fi
                kill -0 "$D_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "daemon did not start:" >&2
        tail -n 30 "$D_LOG" >&2
        return 1
}

d_kill9() {
        [ -n "$D_PID" ] || return 0
        kill -KILL "$D_PID" 2>/dev/null
        wait "$D_PID" 2>/dev/null
        D_PID=
}

d_stop() {
        [ -n "$D_PID" ] || return 0
        kill -TERM "$D_PID" 2>/dev/null
        wait "$D_PID" 2>/dev/null
        D_PID=
}

# Kills every process below the test cgroup root, removes the cgroups (deepest first),
# unmounts what is under the run dir, removes the pins and the directories.
d_cleanup() {
        local rc=$?
        d_kill9
        if [ -d "$CGROOT" ]; then
                find "$CGROOT" -name cgroup.kill 2>/dev/null | while read -r f; do
                        echo 1 >"$f" 2>/dev/null
                done
                sleep 0.2
                find "$CGROOT" -depth -type d -exec rmdir {} \; 2>/dev/null
        fi
        if [ -n "${T:-}" ]; then
                awk -v r="$T" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
                        while read -r m; do umount -l "$m" 2>/dev/null; done
        fi
        case "${BPFDIR:-}" in /sys/fs/bpf/sbx-*) rm -rf "$BPFDIR" ;; esac
        if [ "${KEEP:-0}" = 1 ]; then
                echo "kept $T"
        else
                rm -rf "${T:?}"
        fi
        exit $rc
}

d_finish() {
        echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
        [ "$T_FAIL" -eq 0 ]
}

# api METHOD PATH [BODY]: the response body in $BODY_OUT, the HTTP status in $STATUS.
api() {
        local method=$1 path=$2 body=${3:-}
        local out
        if [ -n "$body" ]; then
                out=$(curl -s --max-time "${API_TIMEOUT:-30}" --unix-socket "$SOCK" -X "$method" \
                        -H 'Content-Type: application/json' --data-binary "$body" \
                        -w '\n%{http_code}' "http://x$path")
        else
                out=$(curl -s --max-time "${API_TIMEOUT:-30}" --unix-socket "$SOCK" -X "$method" \
                        -w '\n%{http_code}' "http://x$path")
        fi
        STATUS=${out##*$'\n'}
        BODY_OUT=${out%$'\n'*}
        [ "$STATUS" = "$out" ] && BODY_OUT=
        return 0
}

# jf FILTER: jq on the last body.
jf() {
        printf '%s' "$BODY_OUT" | jq -r "$@"
}

# mkspec PROCESS_JSON HOSTNAME: base64 of an OCI config.json that needs no image: the host's
# root read-only, fresh /proc, tmpfs /tmp, new pid/mount/uts/ipc/net/cgroup namespaces.
# PROCESS_JSON "null": no process (the sandbox init pauses until stopped).
mkspec() {
        local proc=${1:-null} host=${2:-sbx}
        jq -cn --argjson p "$proc" --arg h "$host" '{
                ociVersion: "1.0.2",
                root: {path: "/", readonly: true},
                hostname: $h,
                mounts: [
                        {destination: "/proc", type: "proc", source: "proc"},
                        {destination: "/tmp", type: "tmpfs", source: "tmpfs",
                         options: ["nosuid", "nodev", "mode=1777"]}
                ],
                linux: {namespaces: [{type: "pid"}, {type: "mount"}, {type: "uts"},
                                     {type: "ipc"}, {type: "network"}, {type: "cgroup"}]}
        } + (if $p == null then {} else {process: ({cwd: "/",
                env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]} + $p)} end)' | base64 -w0
}

# sb_create ID [PROCESS_JSON] [HOSTNAME] [LABELS_JSON]
sb_create() {
        local id=$1 proc=${2:-null} host=${3:-$1} labels=${4:-"{}"}
        api POST "/v1/sandboxes${NSQ:-}" "$(jq -cn --arg id "$id" --arg spec "$(mkspec "$proc" "$host")" \
                --argjson l "$labels" '{id: $id, labels: $l, runtime: {name: "io.sandboxd.linux.v1"},
                spec: {type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
                       value: $spec}}')"
}
sb_start() { api POST "/v1/sandboxes/$1/start${NSQ:-}"; }
sb_shutdown() { api POST "/v1/sandboxes/$1/shutdown${NSQ:-}"; }
sb_delete() { api DELETE "/v1/sandboxes/$1${NSQ:-}"; }
sb_status() { api GET "/v1/sandboxes/$1/status${NSQ:-}"; }

# task_create SANDBOX PROCESS_JSON [TID]
task_create() {
        local body
        if [ -n "${3:-}" ]; then
                body=$(jq -cn --argjson p "$2" --arg id "$3" '{id: $id, process: $p}')
        else
                body=$(jq -cn --argjson p "$2" '{process: $p}')
        fi
        api POST "/v1/sandboxes/$1/tasks${NSQ:-}" "$body"
}

# args_json WORD...: {"args": [...]}
args_json() {
        jq -cn '{args: $ARGS.positional}' --args -- "$@"
}

# wait_gone PID [TRIES]: until the process is gone (or a zombie).
# wait_gone PID|TAG [TRIES]: waits until the process is gone (a zombie counts as gone).  With
# a TAG from pid_tag, a pid that now belongs to another process counts as gone too: this
# machine's pid_max is 32768, and busy neighbours wrap it within seconds.
wait_gone() {
        local pid=${1%%:*} start="" i st
        [ "$pid" != "$1" ] && start=${1#*:}
        for i in $(seq 1 "${2:-200}"); do
                if ! kill -0 "$pid" 2>/dev/null; then return 0; fi
                st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)
                case "${st%% *}" in Z | X | "") return 0 ;; esac
                [ -n "$start" ] && [ "$(echo "$st" | awk '{print $20}')" != "$start" ] && return 0
                sleep 0.05
        done
        return 1
}

# pid_tag PID: "PID:START" (START: field 22 of /proc/PID/stat, the start time), for wait_gone.
pid_tag() {
        echo "$1:$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}')"
}

# Processes left in the test cgroup tree (count).
cg_procs() {
        [ -d "$CGROOT" ] || { echo 0; return; }
        find "$CGROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l
}
