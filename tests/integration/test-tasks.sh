#!/bin/bash
# Tasks inside running sandboxes (issue #7): namespaces, root and cgroup of an exec, exit codes
# and signals, 50 concurrent tasks, kill, logs, spec errors, a task's own seccomp profile
# stacked on the sandbox's, delete, tasks dying with their sandbox (exit, Shutdown), and
# sandboxctl exec/tasks/kill/logs.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-daemon.sh

d_setup tasks
d_start || exit 1

# A sandbox without a process: its init pauses until stopped.
sb_create box null box-host
eq "create sandbox" 201 "$STATUS"
sb_start box
eq "start sandbox" 200 "$STATUS"
INIT_PID=$(jf .pid)
CG_BOX=$CGROOT/sandboxes/default/box

# ---- a long task: its namespaces, root and cgroup, seen from the host ----
task_create box "$(args_json /bin/sleep 1000)" long
eq "create task 'long'" 201 "$STATUS"
LONG_PID=$(jf .pid)
eq "task state running" running "$(jf .state)"
for ns in pid mnt uts ipc net cgroup; do
        eq "task joined the sandbox's $ns namespace" "$(readlink /proc/"$INIT_PID"/ns/$ns)" \
                "$(readlink /proc/"$LONG_PID"/ns/$ns)"
done
eq "task sees the sandbox's root" "$(stat -L -c %d:%i /proc/"$INIT_PID"/root)" \
        "$(stat -L -c %d:%i /proc/"$LONG_PID"/root)"
eq "task is in CGROUP/tasks/TID" "0::${CGROOT#"$CG2"}/sandboxes/default/box/tasks/long" \
        "$(grep '^0::' /proc/"$LONG_PID"/cgroup)"
check "task cgroup directory exists" test -d "$CG_BOX/tasks/long"
eq "task pid 1 of its pid namespace is the sandbox init" "$INIT_PID" \
        "$(awk '/^NSpid/ { print $2 }' /proc/"$INIT_PID"/status)"
check "task pid inside the sandbox is not 1" \
        test "$(awk '/^NSpid/ { print $NF }' /proc/"$LONG_PID"/status)" != 1
eq "task seccomp mode as the init's" "$(awk '/^Seccomp:/ { print $2 }' /proc/"$INIT_PID"/status)" \
        "$(awk '/^Seccomp:/ { print $2 }' /proc/"$LONG_PID"/status)"
eq "task no_new_privs as the init's" "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/"$INIT_PID"/status)" \
        "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/"$LONG_PID"/status)"
check "task state file" grep -q '^STATE=running$' "$RUN/default/box/tasks/long.state"

# ---- what a task sees from inside ----
task_create box "$(args_json /bin/sh -c 'hostname; grep ^0:: /proc/self/cgroup; echo pid=$$; echo err >&2; exit 3')" look
eq "create task 'look'" 201 "$STATUS"
api GET /v1/sandboxes/box/tasks/look/wait
eq "wait answers 200" 200 "$STATUS"
eq "exit code 3" 3 "$(jf .exit_status)"
api GET /v1/sandboxes/box/tasks/look/logs
eq "logs answer 200" 200 "$STATUS"
eq "hostname inside is the sandbox's" box-host "$(printf '%s\n' "$BODY_OUT" | sed -n 1p)"
# The sandbox's cgroup namespace is rooted at its init's leaf (CGROUP/init), so a task in
# CGROUP/tasks/TID shows as /../tasks/TID inside.
check "cgroup inside (cgroup namespace): $(printf '%s\n' "$BODY_OUT" | sed -n 2p)" \
        grep -Eqx '0::(/\.\.)?/tasks/look' <<<"$(printf '%s\n' "$BODY_OUT" | sed -n 2p)"
check "pid inside is small (own pid namespace)" \
        test "$(printf '%s\n' "$BODY_OUT" | sed -n 's/^pid=//p')" -lt 100
check "stderr in the log" grep -qx err <<<"$BODY_OUT"
task_create box "$(args_json /bin/sh -c 'touch /etc/sbx-test-ro 2>/dev/null && exit 0; exit 9')" ro
api GET "/v1/sandboxes/box/tasks/ro/wait"
eq "write to the read-only root fails inside" 9 "$(jf .exit_status)"

# ---- exit codes and signals ----
task_create box "$(args_json /bin/sh -c 'kill -TERM $$')" sig
api GET /v1/sandboxes/box/tasks/sig/wait
eq "killed by SIGTERM: 143" 143 "$(jf .exit_status)"
task_create box "$(args_json /bin/true)" t0
api GET /v1/sandboxes/box/tasks/t0/wait
eq "/bin/true: 0" 0 "$(jf .exit_status)"
task_create box "$(args_json /bin/sh -c 'exit 255')" t255
api GET /v1/sandboxes/box/tasks/t255/wait
eq "exit 255" 255 "$(jf .exit_status)"
api GET /v1/sandboxes/box/tasks/t255
eq "status of an exited task" exited "$(jf .state)"

# ---- kill ----
api POST "/v1/sandboxes/box/tasks/long/kill?signal=KILL"
eq "kill SIGKILL" 200 "$STATUS"
api GET /v1/sandboxes/box/tasks/long/wait
eq "killed task: 137" 137 "$(jf .exit_status)"
api POST "/v1/sandboxes/box/tasks/long/kill?signal=TERM"
eq "kill of an exited task: 412" 412 "$STATUS"
task_create box "$(args_json /bin/sleep 1000)" k2
api POST "/v1/sandboxes/box/tasks/k2/kill?signal=NOPE"
eq "kill with an unknown signal: 400" 400 "$STATUS"
api POST "/v1/sandboxes/box/tasks/k2/kill?signal=15"
eq "kill by number" 200 "$STATUS"
api GET /v1/sandboxes/box/tasks/k2/wait
eq "SIGTERM by number: 143" 143 "$(jf .exit_status)"

# ---- 50 concurrent tasks, each with its own exit code ----
jobs_=()
for i in $(seq 1 50); do
        api POST /v1/sandboxes/box/tasks "$(jq -cn --arg i "$i" \
                '{id: ("c" + $i), process: {args: ["/bin/sh", "-c", ("sleep 0.3; exit " + $i)]}}')" &
        jobs_+=($!)
done
wait "${jobs_[@]}"
api GET /v1/sandboxes/box/tasks
eq "50 concurrent tasks listed" 50 "$(jf '[.tasks[] | select(.task_id | startswith("c"))] | length')"
bad=0
for i in $(seq 1 50); do
        api GET "/v1/sandboxes/box/tasks/c$i/wait"
        [ "$(jf .exit_status)" = "$i" ] || bad=$((bad + 1))
done
eq "50 concurrent tasks: every exit code exact" 0 "$bad"

# ---- task spec errors ----
task_create box "$(args_json /nonexistent/binary)" nobin
eq "missing executable: 400" 400 "$STATUS"
check "missing executable: message names it" grep -q "/nonexistent/binary" <<<"$BODY_OUT"
task_create box '{"args": ["/bin/true"], "user": {"uid": "root"}}' baduser
eq "user.uid of the wrong type: 400" 400 "$STATUS"
check "bad user: message names the field" grep -q "uid" <<<"$BODY_OUT"
task_create box '{"args": ["/bin/true"], "user": {"uid": 0, "gid": 0, "additionalGids": [-5]}}' badgids
eq "negative additional gid: 400" 400 "$STATUS"
api POST /v1/sandboxes/box/tasks '{"id": "x"}'
eq "no process: 400" 400 "$STATUS"
api POST /v1/sandboxes/box/tasks '{"process": {"args": []}}'
eq "empty args: 400" 400 "$STATUS"
api POST /v1/sandboxes/box/tasks '{"process": {"args": ["/bin/true"]}, "bogus": 1}'
eq "unknown field: 400" 400 "$STATUS"
api POST /v1/sandboxes/box/tasks '{"id": "bad id", "process": {"args": ["/bin/true"]}}'
eq "invalid task id: 400" 400 "$STATUS"
task_create box "$(args_json /bin/true)" t0
eq "duplicate task id: 409" 409 "$STATUS"
api GET /v1/sandboxes/box/tasks/nosuch
eq "unknown task: 404" 404 "$STATUS"
api GET /v1/sandboxes/nosuch/tasks
eq "tasks of an unknown sandbox: 404" 404 "$STATUS"
sb_create idle null
task_create idle "$(args_json /bin/true)"
eq "task in a sandbox that is not running: 412" 412 "$STATUS"

# ---- following a task's output (logs?follow=1, sandboxctl logs -f --task, sandboxctl exec) ----
# The task prints "first", then waits for a file the test creates through the sandbox's root
# (/proc/INIT/root/tmp/...), then prints "second" and exits: what a follower got while the
# task was blocked shows the output arrives live, with no timing assumption.
GATE_ROOT=/proc/$INIT_PID/root/tmp
# wait_for_line FILE LINE: until FILE has the line (at most ~20 s).
wait_for_line() {
        local i
        for i in $(seq 1 400); do
                grep -qx "$2" "$1" 2>/dev/null && return 0
                sleep 0.05
        done
        return 1
}
gated() { echo "echo first; while [ ! -e /tmp/$1 ]; do sleep 0.02; done; echo second; exit 7"; }
task_create box "$(args_json /bin/sh -c "$(gated gate1)")" follow1
eq "create a gated task" 201 "$STATUS"
curl -sN --max-time 60 --unix-socket "$SOCK" -o "$T/follow1" -w '%{http_code}' \
        "http://x/v1/sandboxes/box/tasks/follow1/logs?follow=1" >"$T/follow1.code" &
FPID=$!
check "logs?follow=1: the first line arrives while the task runs" wait_for_line "$T/follow1" first
api GET /v1/sandboxes/box/tasks/follow1
eq "  (the task is still running then)" running "$(jf .state)"
check "  the stream is still open" kill -0 "$FPID"
touch "$GATE_ROOT/gate1"
wait "$FPID"
eq "  the stream ends by itself when the task exits (curl ok)" 0 "$?"
eq "  200" 200 "$(cat "$T/follow1.code")"
eq "  everything the task wrote" "first second" "$(tr '\n' ' ' <"$T/follow1" | sed 's/ $//')"
api GET "/v1/sandboxes/box/tasks/follow1/logs?follow=1"
eq "follow of an exited task: the whole log, then the end" "first second" \
        "$(printf '%s' "$BODY_OUT" | tr '\n' ' ' | sed 's/ $//')"
api GET "/v1/sandboxes/box/tasks/follow1/logs?follow=maybe"
eq "follow=maybe: 400" 400 "$STATUS"
task_create box "$(args_json /bin/sleep 1000)" follow2
curl -sN --max-time 60 --unix-socket "$SOCK" -o "$T/follow2" \
        "http://x/v1/sandboxes/box/tasks/follow2/logs?follow=1" &
FPID=$!
sleep 0.2
api POST "/v1/sandboxes/box/tasks/follow2/kill?signal=KILL"
wait "$FPID"
eq "a follow of a killed silent task ends (curl ok)" 0 "$?"
if [ -x "$SANDBOXCTL" ]; then
        task_create box "$(args_json /bin/sh -c "$(gated gate2)")" follow3
        "$SANDBOXCTL" --socket "$SOCK" logs -f box --task follow3 >"$T/follow3" &
        FPID=$!
        check "sandboxctl logs -f --task: the first line arrives while the task runs" \
                wait_for_line "$T/follow3" first
        check "  still following" kill -0 "$FPID"
        touch "$GATE_ROOT/gate2"
        wait "$FPID"
        eq "  exits 0 when the task exits" 0 "$?"
        eq "  everything" "first second" "$(tr '\n' ' ' <"$T/follow3" | sed 's/ $//')"
        "$SANDBOXCTL" --socket "$SOCK" exec --id follow4 box -- /bin/sh -c "$(gated gate3)" \
                >"$T/follow4" &
        FPID=$!
        check "sandboxctl exec prints the output live: the first line before the task exits" \
                wait_for_line "$T/follow4" first
        api GET /v1/sandboxes/box/tasks/follow4
        eq "  (the task is still running then)" running "$(jf .state)"
        touch "$GATE_ROOT/gate3"
        wait "$FPID"
        eq "  then exits with the task's status" 7 "$?"
        eq "  everything" "first second" "$(tr '\n' ' ' <"$T/follow4" | sed 's/ $//')"
fi

# ---- a task's own seccomp profile (linux.seccomp), stacked on the sandbox's ----
# task_sc SANDBOX TID SECCOMP_JSON ARGS...: create a task with its own profile.
task_sc() {
        local sb=$1 tid=$2 sc=$3
        shift 3
        api POST "/v1/sandboxes/$sb/tasks" "$(jq -cn --arg id "$tid" --argjson sc "$sc" \
                '{id: $id, process: {args: $ARGS.positional}, linux: {seccomp: $sc}}' --args -- "$@")"
}
# task_out SANDBOX TID: wait for it, then its log in $BODY_OUT and the status in $TASK_RC.
task_out() {
        api GET "/v1/sandboxes/$1/tasks/$2/wait"
        TASK_RC=$(jf .exit_status)
        api GET "/v1/sandboxes/$1/tasks/$2/logs"
}
NOMKDIR='{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
task_sc box scmk "$NOMKDIR" /bin/sh -c 'mkdir /tmp/sc-denied && echo made; exit 0'
eq "task with its own profile: 201" 201 "$STATUS"
task_out box scmk
check "a task whose profile denies mkdir gets EPERM: $BODY_OUT" \
        grep -q "Operation not permitted" <<<"$BODY_OUT"
task_create box "$(args_json /bin/sh -c 'mkdir /tmp/sc-plain && echo made')" scplain
task_out box scplain
check "a plain task in the same sandbox can mkdir: $BODY_OUT" grep -qx made <<<"$BODY_OUT"
task_sc box sckill '{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}' \
        /bin/mkdir /tmp/sc-kill
task_out box sckill
eq "SCMP_ACT_KILL_PROCESS in the task's profile beats the sandbox's allow: SIGSYS (159)" \
        159 "$TASK_RC"
task_sc box scexec '{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_ERRNO"}]}' /bin/true
eq "a profile that denies execve: 400" 400 "$STATUS"
check "  and says exec was not permitted: $(jf .error.message)" \
        grep -q "Operation not permitted" <<<"$(jf .error.message)"
# A sandbox whose own profile denies mkdir with ENOSYS (38): a task's profile that allows it
# (explicitly, and by default) does not lift that; a task rule with the same action (errno)
# decides the errno, as the filter attached last does in the kernel.
api POST /v1/sandboxes "$(jq -cn --arg spec "$(mkspec null scbox | base64 -d | jq -c \
        '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"],
         action: "SCMP_ACT_ERRNO", errnoRet: 38}]}' | base64 -w0)" \
        '{id: "scbox", runtime: {name: "io.sandboxd.linux.v1"},
          spec: {type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec", value: $spec}}')"
eq "create a sandbox whose profile denies mkdir (ENOSYS)" 201 "$STATUS"
sb_start scbox
eq "start it" 200 "$STATUS"
task_create scbox "$(args_json /bin/sh -c 'mkdir /tmp/a 2>&1; true')" plain
task_out scbox plain
check "plain task: mkdir denied by the sandbox (ENOSYS): $BODY_OUT" \
        grep -q "Function not implemented" <<<"$BODY_OUT"
task_sc scbox allow '{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ALLOW"}]}' \
        /bin/sh -c 'mkdir /tmp/b 2>&1; true'
eq "task profile that allows what the sandbox denies: 201" 201 "$STATUS"
task_out scbox allow
check "  mkdir still denied (the sandbox's ENOSYS): $BODY_OUT" \
        grep -q "Function not implemented" <<<"$BODY_OUT"
task_sc scbox ownerrno "$NOMKDIR" /bin/sh -c 'mkdir /tmp/c 2>&1; true'
task_out scbox ownerrno
check "both deny with SCMP_ACT_ERRNO: the task's errno (EPERM): $BODY_OUT" \
        grep -q "Operation not permitted" <<<"$BODY_OUT"
task_sc scbox killit '{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}' \
        /bin/mkdir /tmp/d
task_out scbox killit
eq "a stricter action than the sandbox's errno wins (SIGSYS, 159)" 159 "$TASK_RC"
sb_shutdown scbox
sb_delete scbox
# A sandbox without any filter (linux.seccomp null): the task's profile alone applies.
api POST /v1/sandboxes "$(jq -cn --arg spec "$(mkspec null scnone | base64 -d |
        jq -c '.linux.seccomp = null' | base64 -w0)" \
        '{id: "scnone", runtime: {name: "io.sandboxd.linux.v1"},
          spec: {type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec", value: $spec}}')"
sb_start scnone
eq "start a sandbox without a seccomp filter" 200 "$STATUS"
task_sc scnone own "$NOMKDIR" /bin/sh -c 'mkdir /tmp/e 2>&1; true'
task_out scnone own
check "  a task's profile still applies there: $BODY_OUT" \
        grep -q "Operation not permitted" <<<"$BODY_OUT"
task_create scnone "$(args_json /bin/sh -c 'mkdir /tmp/f && echo made')" plain
task_out scnone plain
check "  a plain task there can mkdir: $BODY_OUT" grep -qx made <<<"$BODY_OUT"
sb_shutdown scnone
sb_delete scnone
# Bad profiles: 400 naming the field.
task_sc box scbad1 '{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}' /bin/true
eq "unknown syscall name in the task's profile: 400" 400 "$STATUS"
eq "  message names the field" 'linux.seccomp.syscalls[0].names[1]: unknown syscall "nosuchcall"' \
        "$(jf .error.message)"
task_sc box scbad2 '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": ["mkdir"]}}' /bin/true
eq "syscalls of the wrong type: 400" 400 "$STATUS"
check "  message names the field: $(jf .error.message)" \
        grep -q "^linux.seccomp.syscalls: " <<<"$(jf .error.message)"
task_sc box scbad3 '{"defaultAction": "SCMP_ACT_NOPE"}' /bin/true
eq "unknown default action: 400" 400 "$STATUS"
check "  message names the field: $(jf .error.message)" \
        grep -q "^linux.seccomp.defaultAction: " <<<"$(jf .error.message)"
task_sc box scbad4 '"SCMP_ACT_ERRNO"' /bin/true
eq "linux.seccomp not an object: 400" 400 "$STATUS"
check "  message names the field: $(jf .error.message)" \
        grep -q "^linux.seccomp: " <<<"$(jf .error.message)"
api POST /v1/sandboxes/box/tasks '{"process": {"args": ["/bin/true"]}, "linux": {"sysctl": {}}}'
eq "another member of linux: 400" 400 "$STATUS"
check "  message names it: $(jf .error.message)" grep -q "sysctl" <<<"$(jf .error.message)"
api GET /v1/sandboxes/box/tasks/scbad1
eq "no task left by a bad profile" 404 "$STATUS"

# ---- delete ----
task_create box "$(args_json /bin/sleep 1000)" del
api DELETE /v1/sandboxes/box/tasks/del
eq "delete of a running task: 412" 412 "$STATUS"
api POST "/v1/sandboxes/box/tasks/del/kill?signal=KILL"
api GET /v1/sandboxes/box/tasks/del/wait
api DELETE /v1/sandboxes/box/tasks/del
eq "delete of an exited task: 204" 204 "$STATUS"
api GET /v1/sandboxes/box/tasks/del
eq "deleted task is gone" 404 "$STATUS"
check "deleted task's files are gone" test ! -e "$RUN/default/box/tasks/del.state"
check "deleted task's cgroup is gone" test ! -e "$CG_BOX/tasks/del"

# ---- sandboxctl ----
if [ -x "$SANDBOXCTL" ]; then
        out=$("$SANDBOXCTL" --socket "$SOCK" exec box -- /bin/sh -c 'echo via-ctl; exit 5')
        rc=$?
        eq "sandboxctl exec exits with the task's status" 5 "$rc"
        eq "sandboxctl exec prints the output" via-ctl "$out"
        printf '%s' "$NOMKDIR" >"$T/nomkdir.json"
        out=$("$SANDBOXCTL" --socket "$SOCK" exec --seccomp "$T/nomkdir.json" box -- \
                /bin/sh -c 'mkdir /tmp/ctl-sc 2>&1; exit 4')
        rc=$?
        eq "sandboxctl exec --seccomp: the task's status" 4 "$rc"
        check "sandboxctl exec --seccomp: mkdir denied: $out" grep -q "Operation not permitted" <<<"$out"
        printf '[1]' >"$T/bad.json"
        "$SANDBOXCTL" --socket "$SOCK" exec --seccomp "$T/bad.json" box -- /bin/true 2>/dev/null
        eq "sandboxctl exec --seccomp with a non-object: usage error (2)" 2 "$?"
        tid=$("$SANDBOXCTL" --socket "$SOCK" exec --detach box -- /bin/sleep 1000)
        eq "sandboxctl exec --detach prints the task id" 0 "$?"
        check "sandboxctl tasks lists it" sh -c "'$SANDBOXCTL' --socket '$SOCK' tasks box | grep -q '$tid'"
        check "sandboxctl kill" "$SANDBOXCTL" --socket "$SOCK" kill box "$tid" --signal KILL
        api GET "/v1/sandboxes/box/tasks/$tid/wait"
        eq "killed through sandboxctl: 137" 137 "$(jf .exit_status)"
        eq "sandboxctl logs --task" via-ctl \
                "$("$SANDBOXCTL" --socket "$SOCK" logs --task "$("$SANDBOXCTL" --socket "$SOCK" tasks box -o json |
                        jq -r '[.tasks[] | select(.args[2] == "echo via-ctl; exit 5")][0].task_id')" box)"
else
        echo "  skip sandboxctl checks: no $SANDBOXCTL"
fi

# ---- the sandbox exiting kills its tasks ----
task_create box "$(args_json /bin/sleep 1000)" orphaned
P1=$(jf .pid)
api POST "/v1/sandboxes/box/stop?timeout=5"
eq "stop the sandbox" 200 "$STATUS"
check "the task died with the sandbox's init" wait_gone "$P1"
api GET /v1/sandboxes/box/tasks/orphaned/wait
eq "its status: killed (137)" 137 "$(jf .exit_status)"
task_create box "$(args_json /bin/true)"
eq "no new task in a stopped sandbox: 412" 412 "$STATUS"
sb_shutdown box
eq "shutdown" 200 "$STATUS"
check "run directory gone" test ! -e "$RUN/default/box"
check "cgroup gone" test ! -e "$CG_BOX"

# ---- Shutdown kills every task (and answers their waiters) ----
sb_start box
task_create box "$(args_json /bin/sleep 1000)" a
PA=$(jf .pid)
task_create box "$(args_json /bin/sh -c 'sleep 1000 & sleep 1000')" b
PB=$(jf .pid)
curl -s --max-time 30 --unix-socket "$SOCK" http://x/v1/sandboxes/box/tasks/a/wait >"$T/wait-a" &
WPID=$!
sleep 0.2
sb_shutdown box
eq "shutdown with tasks" 200 "$STATUS"
check "task a is gone" wait_gone "$PA"
check "task b is gone" wait_gone "$PB"
wait "$WPID"
eq "a waiter of a task killed by Shutdown gets 137" 137 "$(jq -r .exit_status "$T/wait-a")"
eq "no process left in the sandbox's cgroups" 0 "$(cg_procs)"
check "cgroup gone" test ! -e "$CG_BOX"
api GET /v1/sandboxes/box/tasks
eq "no task after Shutdown" 0 "$(jf '.tasks | length')"

sb_delete box
sb_delete idle
d_stop
check "no sanitizer report in the daemon's log" sh -c "! grep -q 'Sanitizer' '$D_LOG'"
d_finish
