#!/bin/bash
# Restarts (issue #7): SIGKILL the daemon with 20 sandboxes running (some with tasks), let 5
# sandboxes and 3 tasks exit with distinct statuses while it is down, start it again: the
# survivors are re-adopted with the same pids, the exits reported with their exact statuses,
# Waits work, Shutdown of each leaves nothing.  A pid reused by an unrelated process is not
# adopted; a damaged state file is reported.  Then the daemon killed at each named step of
# Create, Start, Shutdown and Delete (SANDBOXD_CRASH_AT, supervisor/crashpoint-internal.h), and
# rounds of random kill points (during Start and Shutdown included): no sandbox lost or
# duplicated, no cgroup, mount or process leaked.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-daemon.sh

ROUNDS=${RESTART_ROUNDS:-20}
case "$BUILD" in *-san) ROUNDS=${RESTART_ROUNDS:-6} ;; esac

d_setup restart
d_start || exit 1
api GET /v1/version
WATCHER=$(jf .exit_watcher)
echo "  exit watcher: $WATCHER $(jf '.exit_watcher_reason // ""')"

# A process that waits for a flag file in the test directory (the sandbox root is the host's
# root, read-only, so the file is visible inside), then exits with CODE.
waiter() { args_json /bin/sh -c "while [ ! -e $T/go-$1 ]; do sleep 0.1; done; exit $2"; }

declare -A PID
for i in 1 2 3 4; do
        sb_create "s$i" "$(waiter "s$i" $((2 * i + 1)))"
        sb_start "s$i"
        PID[s$i]=$(jf .pid)
done
sb_create s5 "$(args_json /bin/sleep 100000)"
sb_start s5
PID[s5]=$(jf .pid)
for i in $(seq 6 20); do
        sb_create "s$i" null
        sb_start "s$i"
        PID[s$i]=$(jf .pid)
done
eq "20 sandboxes running" 20 "$(for i in $(seq 1 20); do sb_status "s$i"; jf .state; done | grep -c running)"
task_create s6 "$(waiter ta 21)" ta
PID[ta]=$(jf .pid)
task_create s6 "$(waiter tb 22)" tb
PID[tb]=$(jf .pid)
task_create s7 "$(waiter tc 23)" tc
PID[tc]=$(jf .pid)
task_create s7 "$(args_json /bin/sleep 100000)" td
PID[td]=$(jf .pid)
task_create s8 "$(args_json /bin/sleep 100000)" te
PID[te]=$(jf .pid)

d_kill9
ok "daemon killed with SIGKILL"
check "sandboxes keep running while the daemon is down" kill -0 "${PID[s10]}"
touch "$T/go-s1" "$T/go-s2" "$T/go-s3" "$T/go-s4" "$T/go-ta" "$T/go-tb" "$T/go-tc"
kill -KILL "${PID[s5]}"
for k in s1 s2 s3 s4 s5 ta tb tc; do
        wait_gone "${PID[$k]}" || fail "$k did not exit while the daemon was down"
done

d_start || exit 1
curl -sN --max-time 2 --unix-socket "$SOCK" http://x/v1/events >"$T/events-1" 2>/dev/null
DS=$(grep -m1 daemon.started "$T/events-1")
eq "daemon.started: 15 re-adopted" 15 "$(jq -r .readopted <<<"$DS")"
eq "daemon.started: 2 tasks re-adopted" 2 "$(jq -r .tasks_readopted <<<"$DS")"
if [ "$WATCHER" = bpf ]; then
        eq "daemon.started: 5 exited while down" 5 "$(jq -r .exited_while_down <<<"$DS")"
        eq "daemon.started: 3 tasks exited while down" 3 "$(jq -r .tasks_exited_while_down <<<"$DS")"
fi
same=0
for i in $(seq 6 20); do
        sb_status "s$i"
        [ "$(jf .state)" = running ] && [ "$(jf .pid)" = "${PID[s$i]}" ] && same=$((same + 1))
done
eq "every survivor running with the same pid" 15 "$same"
for i in 1 2 3 4 5; do
        sb_status "s$i"
        want=$((2 * i + 1))
        [ "$i" = 5 ] && want=137
        eq "s$i stopped" stopped "$(jf .state)"
        if [ "$WATCHER" = bpf ]; then
                eq "s$i exit status exact ($want)" "$want" "$(jf .exit_status)"
        else
                eq "s$i exit status unknown without the watcher" null "$(jf .exit_status)"
                check "s$i says why" test -n "$(jf '.exit_status_unknown // ""')"
        fi
        api GET "/v1/sandboxes/s$i/wait"
        eq "Wait on s$i after the restart" 200 "$STATUS"
done
for t in ta:s6:21 tb:s6:22 tc:s7:23; do
        IFS=: read -r tid sb want <<<"$t"
        api GET "/v1/sandboxes/$sb/tasks/$tid"
        eq "task $tid exited" exited "$(jf .state)"
        [ "$WATCHER" = bpf ] && eq "task $tid exit status exact ($want)" "$want" "$(jf .exit_status)"
done
api GET /v1/sandboxes/s7/tasks/td
eq "task td re-adopted, running" running "$(jf .state)"
eq "task td same pid" "${PID[td]}" "$(jf .pid)"
api POST "/v1/sandboxes/s7/tasks/td/kill?signal=KILL"
eq "kill a re-adopted task" 200 "$STATUS"
api GET /v1/sandboxes/s7/tasks/td/wait
eq "Wait on a re-adopted task" 200 "$STATUS"
[ "$WATCHER" = bpf ] && eq "its status is exact (137)" 137 "$(jf .exit_status)"
curl -s --max-time 30 --unix-socket "$SOCK" http://x/v1/sandboxes/s9/wait >"$T/wait-s9" &
WP=$!
sleep 0.2
kill -KILL "${PID[s9]}"
wait "$WP"
check "Wait on a re-adopted sandbox answers when it exits" jq -e .exited_at "$T/wait-s9"
[ "$WATCHER" = bpf ] && eq "its status is exact (137)" 137 "$(jq -r .exit_status "$T/wait-s9")"
api POST "/v1/sandboxes/s10/stop?timeout=0"
eq "Stop a re-adopted sandbox" 200 "$STATUS"
for i in $(seq 1 20); do
        sb_shutdown "s$i"
        [ "$STATUS" = 200 ] || fail "shutdown s$i: $STATUS $BODY_OUT"
done
check "task te died with its sandbox" wait_gone "${PID[te]}"
eq "no process left" 0 "$(cg_procs)"
eq "no sandbox cgroup left" 0 "$(find "$CGROOT/sandboxes" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)"
eq "no run directory left" 0 "$(find "$RUN" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)"
eq "no mount left" 0 "$(awk -v r="$RUN" 'index($5, r) == 1' /proc/self/mountinfo | wc -l)"
for i in $(seq 1 20); do sb_delete "s$i"; done

# ---- a pid reused by an unrelated process; a damaged state file ----
sleep 100000 &
STRANGER=$!
ST=$(awk '{ print $22 }' "/proc/$STRANGER/stat")
sb_create ghost null
sb_create ghost2 null
sb_create broken null
d_kill9
mkdir -p "$RUN/default/ghost" "$RUN/default/ghost2" "$RUN/default/broken"
state() {
        printf 'ID=%s\nNAMESPACE=default\nSTATE=running\nPID=%s\nSTART_TIME=%s\nCGROUP=%s\nCGROUP_ID=1\n' \
                "$1" "$2" "$3" "$CGROOT/sandboxes/default/$1"
}
state ghost "$STRANGER" $((ST + 1)) >"$RUN/default/ghost/state"       # other start time
state ghost2 "$STRANGER" "$ST" >"$RUN/default/ghost2/state"           # other cgroup
printf 'ID=broken\nthis is not a state file\n' >"$RUN/default/broken/state"
d_start || exit 1
for g in ghost ghost2; do
        sb_status "$g"
        check "$g (a reused pid) is not adopted" test "$(jf .state)" != running
done
check "the unrelated process was left alone" kill -0 "$STRANGER"
check "the unrelated process is not in a sandbox cgroup" \
        sh -c "! grep -q sandboxes /proc/$STRANGER/cgroup"
curl -sN --max-time 2 --unix-socket "$SOCK" http://x/v1/events >"$T/events-2" 2>/dev/null
eq "the damaged state file is reported" broken \
        "$(grep -m1 daemon.started "$T/events-2" | jq -r '.damaged[].sandbox_id')"
check "the damage is logged" grep -q "broken: state file damaged" "$D_LOG"
check "the damaged state file is left for inspection" test -e "$RUN/default/broken/state"
kill "$STRANGER"
wait "$STRANGER" 2>/dev/null
rm -rf "$RUN/default/broken"
for g in ghost ghost2 broken; do sb_shutdown "$g"; sb_delete "$g"; done

# ---- output written while the daemon is down ----
# The sandbox writes 2,000 lines while no daemon runs: it must neither die of SIGPIPE nor
# lose them; the restarted daemon drains its output FIFO into the log.
sb_create talker "$(args_json /bin/sh -c "echo before; while [ ! -e $T/go-talk ]; do sleep 0.1; done; i=0; while [ \$i -lt 2000 ]; do echo down \$i; i=\$((i + 1)); done; echo after; exec sleep 100000")"
sb_start talker
TALKER=$(jf .pid)
d_kill9
touch "$T/go-talk"
# Done writing once its shell has exec'd the final sleep (a SIGPIPE would have killed it).
for _ in $(seq 1 100); do
        pgrep -P "$TALKER" -x sleep >/dev/null && break
        sleep 0.1
done
check "a sandbox writing while the daemon is down keeps running" \
        sh -c "pgrep -P $TALKER -x sleep >/dev/null"
d_start || exit 1
sb_status talker
eq "the writer is re-adopted, running" running "$(jf .state)"
for _ in $(seq 1 50); do
        grep -q '^after$' "$RUN/default/talker/log" 2>/dev/null && break
        sleep 0.1
done
api GET /v1/sandboxes/talker/logs
check "its output from before the restart is in the log" grep -qx before <<<"$BODY_OUT"
eq "every line written while the daemon was down is in the log" 2000 \
        "$(grep -c '^down [0-9]*$' <<<"$BODY_OUT")"
check "and what followed" grep -qx after <<<"$BODY_OUT"
sb_shutdown talker
sb_delete talker

# ---- kill points at chosen steps of Create, Start, Shutdown and Delete ----
# The daemon runs with SANDBOXD_CRASH_AT=POINT[:N] (supervisor/crashpoint-internal.h) and
# SIGKILLs itself at that step; it is started again without the variable.  Checked after each:
# the sandbox is listed exactly once (or, after delete-durable, not at all), a half-started
# sandbox is running (re-adopted) or startable again, a half-shut-down one can be shut down
# again, and in the end nothing of it is left: cgroup, /run entry, mount, process.  A bystander
# sandbox with a task runs through all of it untouched.
CRASH_POINTS=$(sed -n 's/^ \*   \([a-z][a-z-]*\)  .*/\1/p' supervisor/crashpoint-internal.h)
# crash_arm POINT: the daemon again, armed at POINT.
crash_arm() {
        d_stop
        SANDBOXD_CRASH_AT=$1 d_start || { fail "daemon did not start armed at $1"; return 1; }
        # bash reports the daemon's death ("Killed") at some later command: not on the output.
        exec 4>&2 2>/dev/null
}
# crash_check POINT: the daemon died at POINT (at most ~10 s), then it is started again.
crash_check() {
        local i
        for i in $(seq 1 200); do
                kill -0 "$D_PID" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$D_PID" 2>/dev/null; then
                exec 2>&4 4>&-
                fail "crash point $1 not reached"
                d_kill9
        else
                wait "$D_PID" 2>/dev/null
                D_PID=
                exec 2>&4 4>&-
                check "the daemon killed itself at $1" grep -q "crash point \"${1%%:*}\" reached" "$D_LOG"
        fi
        d_start || { fail "daemon did not restart after $1"; return 1; }
}
# listed ID: how many times List shows ID.
listed() {
        api GET /v1/sandboxes
        jf '.sandboxes[].id' | grep -cx "$1"
}
# leftovers ID PID|TAG...: what is left of a sandbox that was shut down (empty when nothing).
leftovers() {
        local id=$1 p left=""
        shift
        [ -e "$CGROOT/sandboxes/default/$id" ] && left="$left cgroup"
        [ -e "$RUN/default/$id" ] && left="$left run-entry"
        awk -v r="$RUN/default/$id/" 'index($5, r) == 1' /proc/self/mountinfo | grep -q . &&
                left="$left mount"
        for p in "$@"; do
                [ -n "$p" ] && ! wait_gone "$p" 20 && left="$left process-$p"
        done
        echo "${left# }"
}
# init_pid ID: the pid in the sandbox's init cgroup (empty when none).
init_pid() {
        head -n 1 "$CGROOT/sandboxes/default/$1/init/cgroup.procs" 2>/dev/null
}

sb_create bystander null
sb_start bystander
BY_PID=$(jf .pid)
BY_TAGS=$(pid_tag "$BY_PID")
task_create bystander "$(args_json /bin/sleep 100000)" bytask
BY_TASK=$(jf .pid)
BY_TAGS="$BY_TAGS $(pid_tag "$BY_TASK")"
covered=""
for point in create-durable start-cgroup start-spawned start-statefile start-statefile:2 \
        shutdown-killed shutdown-cgroup-gone shutdown-run-gone delete-durable; do
        name=${point%%:*}
        id=cp-${point/:/-}
        covered="$covered $name"
        echo "  -- crash at $point"
        case $name in
        create-*)
                crash_arm "$point" || break
                API_TIMEOUT=10 sb_create "$id" null
                crash_check "$point" || break
                eq "$point: the record is there exactly once" 1 "$(listed "$id")"
                sb_status "$id"
                eq "$point: state created" created "$(jf .state)"
                ;;
        start-*)
                sb_create "$id" null
                first=
                if [ "$point" = start-statefile:2 ]; then
                        # The first Start passes the point, the second dies there.
                        sb_create "$id-first" null
                fi
                crash_arm "$point" || break
                if [ "$point" = start-statefile:2 ]; then
                        sb_start "$id-first"
                        eq "$point: the first Start passes" 200 "$STATUS"
                        first=$(jf .pid)
                fi
                API_TIMEOUT=10 sb_start "$id"
                half=$(init_pid "$id")
                crash_check "$point" || break
                eq "$point: listed exactly once" 1 "$(listed "$id")"
                sb_status "$id"
                st=$(jf .state)
                if [ "$st" = running ]; then
                        check "$point: re-adopted, its pid is its init ($(jf .pid))" \
                                grep -q "/sandboxes/default/$id/init$" "/proc/$(jf .pid)/cgroup"
                else
                        eq "$point: not running, no process left in its cgroup (state $st)" "" \
                                "$(leftovers "$id" "$half" | grep -o 'process-[0-9]*')"
                        sb_start "$id"
                        eq "$point: startable again" 200 "$STATUS"
                fi
                if [ "$name" = start-statefile ]; then
                        eq "$point: a state file was written, so it is re-adopted" running "$st"
                fi
                sb_status "$id"
                eq "$point: running now" running "$(jf .state)"
                if [ -n "$first" ]; then
                        sb_status "$id-first"
                        eq "$point: the sandbox started before the crash is re-adopted" \
                                "running $first" "$(jf .state) $(jf .pid)"
                        sb_shutdown "$id-first"
                        sb_delete "$id-first"
                fi
                ;;
        shutdown-*)
                sb_create "$id" null
                sb_start "$id"
                pid=$(jf .pid)
                task_create "$id" "$(args_json /bin/sleep 100000)" t
                tpid=$(jf .pid)
                crash_arm "$point" || break
                API_TIMEOUT=10 sb_shutdown "$id"
                crash_check "$point" || break
                eq "$point: listed exactly once" 1 "$(listed "$id")"
                sb_shutdown "$id"
                eq "$point: shut down again" 200 "$STATUS"
                eq "$point: nothing left (cgroup, /run entry, mount, init, task)" "" \
                        "$(leftovers "$id" "$pid" "$tpid")"
                ;;
        delete-*)
                sb_create "$id" null
                sb_start "$id"
                pid=$(jf .pid)
                sb_shutdown "$id"
                crash_arm "$point" || break
                API_TIMEOUT=10 sb_delete "$id"
                crash_check "$point" || break
                eq "$point: deleted for good (not listed)" 0 "$(listed "$id")"
                sb_status "$id"
                eq "$point: Status 404" 404 "$STATUS"
                eq "$point: nothing left" "" "$(leftovers "$id" "$pid")"
                ;;
        esac
        if [ "$name" != delete-durable ]; then
                sb_shutdown "$id"
                eq "$point: Shutdown" 200 "$STATUS"
                eq "$point: nothing left after Shutdown" "" "$(leftovers "$id")"
                sb_delete "$id"
                eq "$point: Delete" 204 "$STATUS"
        fi
        sb_status bystander
        eq "$point: the bystander is untouched (same pid)" "running $BY_PID" "$(jf .state) $(jf .pid)"
        api GET /v1/sandboxes/bystander/tasks/bytask
        eq "$point: its task too" "running $BY_TASK" "$(jf .state) $(jf .pid)"
done
for p in $CRASH_POINTS; do
        check "crash point $p is exercised" grep -qw -- "$p" <<<"$covered"
done
check "the crash points were found in crashpoint-internal.h" test -n "$CRASH_POINTS"
sb_shutdown bystander
sb_delete bystander
# shellcheck disable=SC2086 # two tags
eq "crash points: nothing left of the bystander" "" "$(leftovers bystander $BY_TAGS)"

# ---- random kill points ----
# A client keeps creating, starting (some with a task), shutting down and deleting sandboxes;
# the daemon is SIGKILLed at a random moment, then started again.
churn() {
        local r=$1 i=0 id
        while :; do
                i=$((i + 1))
                id=r$r-$i
                sb_create "$id" null
                [ "$STATUS" = 201 ] && echo "$id" >>"$T/acked"
                sb_start "$id"
                [ $((i % 2)) = 0 ] && task_create "$id" "$(args_json /bin/sleep 100000)" >/dev/null
                [ $((i % 3)) = 0 ] && sb_shutdown "$id"
                if [ $((i % 6)) = 0 ]; then
                        echo "$id" >>"$T/deleting"
                        sb_delete "$id"
                        [ "$STATUS" = 204 ] && echo "$id" >>"$T/deleted"
                fi
        done
}
leaks=0
dups=0
lost=0
: >"$T/acked"
: >"$T/deleting"
: >"$T/deleted"
for r in $(seq 1 "$ROUNDS"); do
        API_TIMEOUT=3 churn "$r" >/dev/null 2>&1 &
        CH=$!
        sleep "0.$((RANDOM % 9 + 1))"
        d_kill9
        kill "$CH" 2>/dev/null
        wait "$CH" 2>/dev/null
        d_start || { fail "round $r: daemon did not restart"; break; }
        api GET /v1/sandboxes
        ids=$(jf '.sandboxes[].id')
        n=$(printf '%s\n' "$ids" | grep -c . )
        u=$(printf '%s\n' "$ids" | grep . | sort -u | wc -l)
        [ "$n" = "$u" ] || dups=$((dups + 1))
        # Every acknowledged Create is there, unless a Delete of it was sent.
        for id in $(sort -u "$T/acked"); do
                grep -qx "$id" "$T/deleting" && continue
                printf '%s\n' "$ids" | grep -qx "$id" || { lost=$((lost + 1)); echo "  round $r: lost $id"; }
        done
        for id in $(sort -u "$T/deleted"); do
                printf '%s\n' "$ids" | grep -qx "$id" && { dups=$((dups + 1)); echo "  round $r: $id came back"; }
        done
        # Every sandbox cgroup and run directory belongs to a sandbox that is running or
        # stopped, and every running sandbox's pid is its init (in its init cgroup).
        for id in $( (printf '%s\n' $ids; ls "$CGROOT/sandboxes/default" "$RUN/default" 2>/dev/null) |
                grep -v -e '^$' -e ':$' | sort -u); do
                sb_status "$id"
                st=$(jf .state)
                if [ "$st" = running ]; then
                        grep -q "/sandboxes/default/$id/init$" "/proc/$(jf .pid)/cgroup" 2>/dev/null ||
                                { leaks=$((leaks + 1)); echo "  round $r: $id pid $(jf .pid) not its init"; }
                elif [ -d "$CGROOT/sandboxes/default/$id" ] || [ -d "$RUN/default/$id" ]; then
                        case "$st" in
                        stopped | stopping) ;;
                        *) leaks=$((leaks + 1)); echo "  round $r: leftover $id ($STATUS $st)" ;;
                        esac
                fi
        done
        # Start the next round from a clean slate (Shutdown and Delete after a restart are
        # exercised too); what was acknowledged and not deleted is re-checked next round.
        for id in $ids; do
                sb_shutdown "$id"
                [ "$STATUS" = 200 ] || { leaks=$((leaks + 1)); echo "  round $r: shutdown $id: $STATUS"; }
                sb_delete "$id"
                [ "$STATUS" = 204 ] && echo "$id" >>"$T/deleting" && echo "$id" >>"$T/deleted"
        done
done
eq "$ROUNDS rounds: no sandbox duplicated or resurrected" 0 "$dups"
eq "$ROUNDS rounds: no acknowledged sandbox lost" 0 "$lost"
eq "$ROUNDS rounds: no orphan cgroup or run directory" 0 "$leaks"
api GET /v1/sandboxes
for id in $(jf '.sandboxes[].id'); do
        sb_shutdown "$id"
        [ "$STATUS" = 200 ] || fail "shutdown $id: $STATUS $BODY_OUT"
        sb_delete "$id"
done
eq "after the rounds: no process left" 0 "$(cg_procs)"
eq "after the rounds: no sandbox cgroup left" 0 \
        "$(find "$CGROOT/sandboxes" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)"
eq "after the rounds: no run directory left" 0 \
        "$(find "$RUN" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)"
eq "after the rounds: no mount left" 0 "$(awk -v r="$RUN" 'index($5, r) == 1' /proc/self/mountinfo | wc -l)"

d_stop
check "no sanitizer report in the daemon's log" sh -c "! grep -q 'Sanitizer' '$D_LOG'"
d_finish
