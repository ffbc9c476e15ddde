#!/bin/bash
# Starts off the loop (supervisor/spawner.c): the spawn of a sandbox runs on a spawner
# thread while the loop serves other requests.  The order in which concurrent requests
# reach the daemon is not controlled here, so every check holds for any order:
#  - 8 clients start 8 sandboxes at once while another client asks for Status: every
#    Status is answered, every Start succeeds, each sandbox runs with its own pid;
#  - two Starts of one sandbox at once: one 200, one 412;
#  - Shutdown (and Wait) sent with a Start: all answered; a sandbox whose Shutdown came
#    after its Start (state created at the end) leaves nothing behind;
#  (Delete is not sent with a Start here: a Delete whose store write is in flight does not
#  stop a Start that reads the record meanwhile, with or without the spawner — the sandbox
#  then runs without a record.  Known, reported.)
#  - SIGTERM with Starts in flight: each Start is answered 200 and left running (re-adopted
#    by the next daemon), or refused (503 / no connection) and leaves nothing.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-daemon.sh

N=8
d_setup concurrency
d_start || exit 1

# Background clients (not the daemon, which is a background job too).
bg=()
wait_bg() {
        wait "${bg[@]}"
        bg=()
}

left_behind() { # ID: what is left of a sandbox in state created (count of things)
        local n=0
        [ -d "$CGROOT/sandboxes/default/$1" ] && n=$((n + 1))
        [ -d "$RUN/default/$1" ] && n=$((n + 1))
        awk -v p="$RUN/default/$1/" 'index($5, p) == 1' /proc/self/mountinfo | grep -q . && n=$((n + 1))
        echo $n
}

# ---- 1. N concurrent Starts with Status requests alongside --------------------------------
for i in $(seq 1 $N); do sb_create "c$i" null >/dev/null; done
(
        for k in $(seq 1 60); do
                curl -s --max-time 30 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}\n' \
                        "http://x/v1/sandboxes/c$(((k % N) + 1))/status"
        done >"$T/status-codes"
) &
bg+=($!)
for i in $(seq 1 $N); do
        curl -s --max-time 30 --unix-socket "$SOCK" -X POST -o "$T/start-c$i" \
                -w '%{http_code}' "http://x/v1/sandboxes/c$i/start" >"$T/code-c$i" &
        bg+=($!)
done
wait_bg
eq "60 Status requests during the Starts, all 200" 60 "$(grep -c '^200$' "$T/status-codes")"
ok_starts=0
for i in $(seq 1 $N); do [ "$(cat "$T/code-c$i")" = 200 ] && ok_starts=$((ok_starts + 1)); done
eq "$N concurrent Starts: all 200" $N $ok_starts
pids=$(for i in $(seq 1 $N); do sb_status "c$i"; [ "$(jf .state)" = running ] && jf .pid; done | sort -u | wc -l)
eq "$N sandboxes running, $N distinct pids" $N "$pids"
for i in $(seq 1 $N); do sb_shutdown "c$i"; done
eq "$N shut down: no process left" 0 "$(cg_procs)"

# ---- 2. two Starts of one sandbox at once ------------------------------------------------------
twice_ok=0
for r in 1 2 3 4; do
        sb_create "t$r" null >/dev/null
        for k in 1 2; do
                curl -s --max-time 30 --unix-socket "$SOCK" -X POST -o "$T/twice-$r-$k" \
                        -w '%{http_code}' "http://x/v1/sandboxes/t$r/start" >"$T/twice-code-$r-$k" &
        bg+=($!)
        done
        wait_bg
        codes=$(cat "$T/twice-code-$r-1" "$T/twice-code-$r-2"; echo)
        case "$codes" in
        200412 | 412200) twice_ok=$((twice_ok + 1)) ;;
        *) echo "  round $r: codes $codes: $(cat "$T/twice-$r-1" "$T/twice-$r-2")" ;;
        esac
        cat "$T/twice-$r-1" "$T/twice-$r-2" | jq -r '.. | .message? // empty | "    412: " + .'
        sb_shutdown "t$r"
done
eq "4 rounds of two concurrent Starts: one 200 and one 412 each" 4 $twice_ok

# ---- 2b. a Start and a Delete of one sandbox at once -------------------------------------------
# Whatever the order: never both (a sandbox running without a record), and a sandbox that
# started is still listed; one that was deleted is gone with nothing left.
sd_rounds=0
for r in 1 2 3 4 5 6; do
        sb_create "d$r" null >/dev/null
        curl -s --max-time 30 --unix-socket "$SOCK" -X POST -o "$T/ds-$r" \
                -w '%{http_code}' "http://x/v1/sandboxes/d$r/start" >"$T/ds-code-$r" &
        bg+=($!)
        curl -s --max-time 30 --unix-socket "$SOCK" -X DELETE -o "$T/dd-$r" \
                -w '%{http_code}' "http://x/v1/sandboxes/d$r" >"$T/dd-code-$r" &
        bg+=($!)
        wait_bg
        st=$(cat "$T/ds-code-$r") dl=$(cat "$T/dd-code-$r")
        api GET "/v1/sandboxes/d$r"
        case "$st $dl $STATUS" in
        "200 412 200" | "412 204 404" | "404 204 404") sd_rounds=$((sd_rounds + 1)) ;;
        *) echo "  round $r: start $st, delete $dl, then get $STATUS: $(cat "$T/ds-$r" "$T/dd-$r")" ;;
        esac
        if [ "$st" = 200 ]; then
                sb_shutdown "d$r"
                sb_delete "d$r"
        fi
        eq "d$r: nothing left" 0 "$(left_behind "d$r")"
done
eq "6 rounds of a Start and a Delete sent together: exactly one of them took effect" 6 $sd_rounds

# ---- 3. Shutdown and Wait sent with a Start ---------------------------------------------
sd_ok=0 sd_created=0 wait_ok=0
for r in $(seq 1 6); do
        sb_create "s$r" "$(args_json /bin/sh -c 'exit 7')" >/dev/null
        curl -s --max-time 30 --unix-socket "$SOCK" -X POST -o /dev/null -w '%{http_code}' \
                "http://x/v1/sandboxes/s$r/start" >"$T/sd-start-$r" &
        bg+=($!)
        curl -s --max-time 30 --unix-socket "$SOCK" -X POST -o "$T/sd-body-$r" -w '%{http_code}' \
                "http://x/v1/sandboxes/s$r/shutdown" >"$T/sd-code-$r" &
        bg+=($!)
        curl -s --max-time 30 --unix-socket "$SOCK" -o "$T/w-body-$r" -w '%{http_code}' \
                "http://x/v1/sandboxes/s$r/wait" >"$T/w-code-$r" &
        bg+=($!)
        wait_bg
        st=$(cat "$T/sd-start-$r") sd=$(cat "$T/sd-code-$r") w=$(cat "$T/w-code-$r")
        case "$st $sd" in
        "200 200") sd_ok=$((sd_ok + 1)) ;;
        *) echo "  s$r: Start $st, Shutdown $sd: $(cat "$T/sd-body-$r")" ;;
        esac
        # Wait: the exit (200), or 412 (not started / shut down first).
        case "$w" in
        200) # 7, or 137 when the Shutdown's cgroup.kill came first
                case "$(jq -r .exit_status "$T/w-body-$r")" in
                7 | 137) wait_ok=$((wait_ok + 1)) ;;
                *) echo "  s$r: Wait answered $(cat "$T/w-body-$r")" ;;
                esac ;;
        412) wait_ok=$((wait_ok + 1)) ;;
        *) echo "  s$r: Wait answered $w: $(cat "$T/w-body-$r")" ;;
        esac
        sb_status "s$r"
        if [ "$(jf .state)" = created ]; then
                sd_created=$((sd_created + 1))
                eq "s$r (start $st, shutdown $sd, wait $w): nothing left" 0 "$(left_behind "s$r")"
        else
                echo "  s$r: state $(jf .state) (its Shutdown came before its Start)"
        fi
        sb_shutdown "s$r"
        sb_delete "s$r"
        eq "s$r: nothing left after the final Shutdown" 0 "$(left_behind "s$r")"
done
eq "6 Starts and Shutdowns sent together: all 200" 6 $sd_ok
eq "6 Waits sent with a Start: 200 with the exit status (7, or 137), or 412" 6 $wait_ok
echo "  $sd_created of 6 ended shut down (the rest: Shutdown handled before Start)"

# ---- 4. SIGTERM with Starts in flight ------------------------------------------------------------
for i in $(seq 1 $N); do sb_create "k$i" null >/dev/null; done
for i in $(seq 1 $N); do
        curl -s --max-time 30 --unix-socket "$SOCK" -X POST -o /dev/null -w '%{http_code}' \
                "http://x/v1/sandboxes/k$i/start" >"$T/k-code-$i" &
        bg+=($!)
done
sleep 0.01
d_stop
wait_bg
d_start || exit 1
k_ok=0 k_started=0
for i in $(seq 1 $N); do
        c=$(cat "$T/k-code-$i")
        sb_status "k$i"
        s=$(jf .state)
        if [ "$c" = 200 ]; then
                k_started=$((k_started + 1))
                [ "$s" = running ] && k_ok=$((k_ok + 1))
        else
                [ "$s" = created ] && [ "$(left_behind "k$i")" = 0 ] && k_ok=$((k_ok + 1))
        fi
done
eq "SIGTERM during $N Starts: each answered 200 and running after the restart, or not started and nothing left" $N $k_ok
echo "  $k_started of $N Starts answered before the daemon stopped"
for i in $(seq 1 $N); do sb_shutdown "k$i"; done

eq "no process left" 0 "$(cg_procs)"
eq "no sandbox cgroup left" 0 \
        "$(find "$CGROOT/sandboxes" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)"
eq "no run directory left" 0 "$(find "$RUN" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)"
d_stop
check "no sanitizer report in the daemon's log" sh -c "! grep -q 'Sanitizer' '$D_LOG'"
d_finish
