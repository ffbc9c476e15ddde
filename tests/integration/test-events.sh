#!/bin/bash
# The event stream (issue #7): every kind, in order, for a scripted scenario; namespace and
# filters; a reader that never reads does not hold the daemon back (200 sandboxes started
# meanwhile), gets one "dropped" record and keeps its connection; a normal reader meanwhile
# loses nothing.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-daemon.sh

d_setup events
# A small queue, so that the stalled reader overflows with a modest number of events.
SANDBOXD_EVENTS_QUEUE_MAX=32 d_start || exit 1

# stream NAME [QUERY]: a reader in the background, lines into $T/NAME.
stream() {
        curl -sN --unix-socket "$SOCK" "http://x/v1/events${2:-}" >"$T/$1" 2>/dev/null &
        eval "S_$1=$!"
        sleep 0.3
}
stream_stop() {
        local p
        eval "p=\$S_$1"
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
}
# types FILE ID: the event types of one sandbox, one line.
types() {
        jq -r --arg id "$2" 'select(.sandbox_id == $id) | .type' "$1" | paste -sd' '
}

# stream_f NAME FILTER: a reader with one filter (URL-encoded as given).
stream_f() {
        curl -sN -G --unix-socket "$SOCK" --data-urlencode "filter=$2" "http://x/v1/events" \
                >"$T/$1" 2>/dev/null &
        eval "S_$1=$!"
        sleep 0.3
}

stream all
stream created '?filter=type==sandbox.created'
stream tasks '?filter=type~="^task\\."'
stream labelled '?filter=labels.team==blue'
stream other '?namespace=other'
# containerd's quoting of values: /regex/ and |regex| (only the delimiter is escaped), and
# "..." with Go escapes; quoted field names.
stream_f rxslash 'type~=/^task\.(started|exited)$/'
stream_f rxpipe 'type~=|^sandbox\.(created\|deleted)$|,id~=|^e.$|'
stream_f rxescaped 'labels.team~=/^bl\/?ue$/'
stream_f goesc 'type=="sandbox\x2ecreated"'
stream_f qfield 'labels."team"==blue,type==sandbox.started'

# ---- scripted scenario ----
sb_create ev "$(args_json /bin/sh -c 'while [ ! -e /proc/1/nonexistent ]; do sleep 0.1; done')" ev \
        '{"team": "blue"}'
eq "create" 201 "$STATUS"
api PATCH "/v1/sandboxes/ev?fieldpath=labels.x" '{"labels": {"x": "1"}}'
eq "update" 200 "$STATUS"
sb_start ev
eq "start" 200 "$STATUS"
task_create ev "$(args_json /bin/sh -c 'exit 4')" t1
api GET /v1/sandboxes/ev/tasks/t1/wait
eq "task exit 4" 4 "$(jf .exit_status)"
api POST "/v1/sandboxes/ev/stop?timeout=0"
eq "stop" 200 "$STATUS"
STOPPED_STATUS=$(jf .exit_status)
sb_shutdown ev
eq "shutdown" 200 "$STATUS"
sb_delete ev
eq "delete" 204 "$STATUS"
NSQ='?namespace=other' sb_create inother null
sleep 0.5

eq "every kind, in order" \
        "sandbox.created sandbox.updated sandbox.started task.started task.exited sandbox.exited sandbox.stopped sandbox.deleted" \
        "$(types "$T/all" ev)"
eq "the stream starts with daemon.started" daemon.started "$(head -n 1 "$T/all" | jq -r .type)"
eq "daemon.started says 0 re-adopted" 0 "$(head -n 1 "$T/all" | jq -r .readopted)"
eq "task.exited carries the status" 4 \
        "$(jq -r 'select(.type == "task.exited") | .exit_status' "$T/all")"
eq "sandbox.exited carries the status ($STOPPED_STATUS)" "$STOPPED_STATUS" \
        "$(jq -r 'select(.type == "sandbox.exited" and .sandbox_id == "ev") | .exit_status' "$T/all")"
check "seq increases" sh -c "jq -r .seq '$T/all' | sort -n -c"
check "every event has a timestamp" sh -c "! jq -e 'select(.timestamp == null)' '$T/all' >/dev/null"
eq "filter type==sandbox.created" "sandbox.created sandbox.created" \
        "$(jq -r .type "$T/created" | grep -v daemon.started | paste -sd' ')"
eq "filter type~=^task\\." "task.started task.exited" "$(jq -r .type "$T/tasks" | paste -sd' ')"
eq "filter on labels" \
        "sandbox.created sandbox.updated sandbox.started task.started task.exited sandbox.exited sandbox.stopped sandbox.deleted" \
        "$(types "$T/labelled" ev)"
eq "namespace=other sees only its namespace" "inother:sandbox.created" \
        "$(jq -r '(.sandbox_id // "-") + ":" + .type' "$T/other" | paste -sd' ')"
eq "filter type~=/regex/" "task.started task.exited" "$(types "$T/rxslash" ev)"
eq "filter type~=|regex| (an escaped \\| inside) and id~=|regex|" "sandbox.created sandbox.deleted" "$(types "$T/rxpipe" ev)"
eq "filter ~=/.../ with an escaped delimiter (\\/)" \
        "sandbox.created sandbox.updated sandbox.started task.started task.exited sandbox.exited sandbox.stopped sandbox.deleted" \
        "$(types "$T/rxescaped" ev)"
eq "filter ==\"...\" with a Go escape (\\x2e)" "sandbox.created" "$(types "$T/goesc" ev)"
eq "filter on a quoted field name (labels.\"team\")" "sandbox.started" "$(types "$T/qfield" ev)"
# bad_filter FILTER WORD: 400 whose message contains WORD
bad_filter() {
        local out
        out=$(curl -s -G --max-time 10 --unix-socket "$SOCK" --data-urlencode "filter=$1" \
                -w '\n%{http_code}' "http://x/v1/events")
        eq "bad filter $1: 400" 400 "${out##*$'\n'}"
        check "  message: $(printf '%s' "${out%$'\n'*}" | jq -r .error.message)" \
                grep -q "$2" <<<"${out%$'\n'*}"
}
bad_filter 'type~=/^task' unterminated
bad_filter 'type~=|(|' "regular expression"
bad_filter 'type=="\q"' "unknown escape"
api GET '/v1/events?filter=type=='
eq "bad filter: 400" 400 "$STATUS"
api GET '/v1/events?namespace=bad%20ns'
eq "bad namespace: 400" 400 "$STATUS"
for s in all created tasks labelled other rxslash rxpipe rxescaped goesc qfield; do
        stream_stop "$s"
done

# ---- a reader that never reads ----
# It reads its first line (so it is connected), then stops reading until released.
mkfifo "$T/release"
(sh -c 'echo $$ >"$1"; exec curl -sN --unix-socket "$2" http://x/v1/events' sh "$T/stalled.pid" "$SOCK" | {
        IFS= read -r first
        printf '%s\n' "$first" >"$T/stalled"
        read -r _ <"$T/release"
        cat >>"$T/stalled"
}) &
STALLED=$!
stream fast
sleep 0.3
N=200
for i in $(seq 1 $N); do
        sb_create "m$i" null >/dev/null
        [ "$STATUS" = 201 ] || { fail "create m$i: $STATUS"; break; }
        sb_start "m$i"
        [ "$STATUS" = 200 ] || { fail "start m$i: $STATUS $BODY_OUT"; break; }
done
ok "$N sandboxes created and started with a stalled reader"
api GET /v1/health
eq "daemon still answers" 200 "$STATUS"
for i in $(seq 1 $N); do
        sb_shutdown "m$i" >/dev/null
        sb_delete "m$i" >/dev/null
done
eq "all shut down and deleted" 204 "$STATUS"
echo go >"$T/release"
sleep 1
sb_create after-drop null
sleep 0.5
kill "$(cat "$T/stalled.pid")" 2>/dev/null
wait "$STALLED" 2>/dev/null
stream_stop fast
check "the stalled reader got a dropped record" grep -q '"type":"dropped"' "$T/stalled"
dropped=$(jq -s '[.[] | select(.type == "dropped") | .count] | add // 0' "$T/stalled")
check "the drop record counts events ($dropped)" test "${dropped:-0}" -gt 0
check "its connection was kept: it saw events after the drop" \
        sh -c "jq -r 'select(.sandbox_id == \"after-drop\") | .type' '$T/stalled' | grep -q sandbox.created"
got=$(jq -r 'select(.type != "dropped" and .type != "daemon.started") | .seq' "$T/stalled" | wc -l)
eq "received + dropped = published" "$(jq -r 'select(.type != "daemon.started") | .seq' "$T/fast" | wc -l)" \
        "$((got + dropped))"
check "the fast reader lost nothing" sh -c "! grep -q '\"type\":\"dropped\"' '$T/fast'"
eq "the fast reader saw every start" $N "$(jq -r 'select(.type == "sandbox.started") | .sandbox_id' "$T/fast" | grep -c '^m')"

sb_delete after-drop
NSQ='?namespace=other' sb_delete inother
d_stop
check "no sanitizer report in the daemon's log" sh -c "! grep -q 'Sanitizer' '$D_LOG'"
d_finish
