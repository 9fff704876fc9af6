#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vsng-stat against a running device, INSIDE the test guest (ours only: the
# counters are our module's):
#
#   scripts/vm-run -- tools/vsng-stat-test.sh
#
#  1. with the module loaded and no device open, no device is listed;
#  2. tools/vsng-load (the selftest driver library) runs 4k random reads on
#     2 queues until told to stop (SIGTERM), then holds the device open;
#     "vsng-stat -j --once" taken during the load lists the device
#     with vsng-load's pid as owner, its WWPN, its worker threads (threads
#     of the owner), and non-zero IOPS, MB/s and batch on the busy queues;
#     "--watch 0.5" prints a report every 0.5 s until SIGINT, then exits 0;
#  3. taken again while vsng-load holds the device open after its run: the
#     completions and bytes since open cover every I/O vsng-load counted,
#     they moved since the first report, nothing is in flight;
#  4. after the device is closed it is no longer listed;
#  5. after rmmod, vsng-stat exits 3 with one line saying the module is not
#     loaded.
# Prints TAP; exit status 0 when everything passed.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=scripts/guest-lib.sh
. "$REPO/scripts/guest-lib.sh"
STAT=("${PYTHON:-python3}" "$HERE/vsng-stat")
OUT=${VSNG_RESULTS:-/tmp}/vsng-stat-test
QUEUES=2 QD=8 BS=4096
mkdir -p "$OUT"
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
bail() { echo "Bail out! $*"; exit 1; }

# wait_for SECS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
[ -x "$HERE/vsng-load" ] || bail "$HERE/vsng-load not built (make tools)"
vsng_load_lio || bail "cannot load LIO"
vsng_load_target ours || bail "cannot load vhost_scsi_ng"
export VSNG_DEV=/dev/vhost-scsi VSNG_FABRIC=vhost

"${STAT[@]}" -j --once -i 0.2 >"$OUT/idle.json" 2>"$OUT/idle.err"
check "no device open: exit 0, no device listed" \
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["devices"] != [])' \
	"$OUT/idle.json"

rm -f "$OUT/load.json"
"$HERE/vsng-load" --queues $QUEUES --qd $QD --bs $BS --rw randread \
	--runtime 60 --ramp 0 --hold 60 --json "$OUT/load.json" \
	>"$OUT/load.out" 2>&1 &
lpid=$!
# shellcheck disable=SC2317  # called through wait_for
has_wwpn() { grep -qs . /sys/kernel/debug/vhost-scsi-ng/"$lpid"-*/wwpn; }
wait_for 30 has_wwpn || bail "vsng-load's device never got an endpoint"
"${STAT[@]}" -j --once -i 1 >"$OUT/busy.json" 2>"$OUT/busy.err"
echo "# busy: exit $?, $(wc -c <"$OUT/busy.json") bytes of JSON"
# The table, for the log (Documentation/admin-guide.md shows one).
"${STAT[@]}" --once -i 1 2>&1 | tee "$OUT/busy.txt" | sed 's/^/# /'
# --watch until Ctrl-C: one JSON report a line; SIGINT after two lines.
"${STAT[@]}" -j --watch 0.5 >"$OUT/watch.json" 2>"$OUT/watch.err" &
wpid=$!
# shellcheck disable=SC2317  # called through wait_for
two_reports() { [ "$(grep -c . "$OUT/watch.json")" -ge 2 ]; }
wait_for 60 two_reports
kill -INT $wpid
wait $wpid
wrc=$?
kill -TERM $lpid	# ends the run; vsng-load reports, then holds
wait_for 30 test -s "$OUT/load.json" || nok "vsng-load reported after SIGTERM"
"${STAT[@]}" -j --once -i 0.5 >"$OUT/held.json" 2>"$OUT/held.err"
echo "# held: exit $?"
kill -TERM $lpid 2>/dev/null	# ends the hold
wait $lpid
echo "# vsng-load: exit $?; $(grep -E '^(I/Os|IOPS)' "$OUT/load.out" | tr -s ' ' | paste -sd';')"

check "--watch 0.5: exit 0 on SIGINT, nothing on stderr" test $wrc = 0 -a ! -s "$OUT/watch.err"
# The per-report checks, one TAP line each, numbered after ours.
python3 - "$OUT" "$lpid" $QUEUES $BS $n <<'EOF' >"$OUT/checks.tap"
import json, os, sys

out, pid, queues, bs, n = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
fail = 0


def check(name, cond, info=""):
    global n, fail
    n += 1
    if not cond:
        fail = 1
    print("%sok %d %s%s" % ("" if cond else "not ", n, name,
                            "" if cond or not info else " # " + str(info)))


def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"devices": [], "error": str(e)}


h = 5381
for c in b"vsng-load":          # vsng_test_id() of selftests/vsng_test.h
    h = (h * 33 + c) & 0xffffffff
wwpn = "naa.5001405a%08x" % (h & 0xffffff)
busy, held, ld = load("busy.json"), load("held.json"), load("load.json")
ios = ld.get("ios", 0)


def mine(rep):
    d = [x for x in rep["devices"] if x["owner_pid"] == pid]
    return d[0] if len(d) == 1 else None


def io_vqs(dev):
    return [q for q in dev["vqs"] if q["vq"] >= 2] if dev else []


b, hd = mine(busy), mine(held)
watch = []
with open(os.path.join(out, "watch.json")) as f:
    for line in f:
        try:
            watch.append(json.loads(line))
        except ValueError:      # cut by the SIGINT: not a report
            pass
check("--watch 0.5: 2 reports or more, each listing the device",
      len(watch) >= 2 and all(mine(w) for w in watch), len(watch))
check("busy: the device is listed once with vsng-load's pid as owner", b,
      busy.get("error", [d["owner_pid"] for d in busy["devices"]]))
check("busy: WWPN is vsng-load's " + wwpn, b and b["wwpn"] == wwpn,
      b and b["wwpn"])
check("busy: owner command is vsng-load", b and b["owner_comm"] == "vsng-load",
      b and b["owner_comm"])
tids = b["workers"] if b else []
check("busy: worker threads listed, each a thread of the owner",
      tids and all(os.path.isdir("/proc/%d/task/%d" % (pid, t)) or
                   not os.path.isdir("/proc/%d" % pid) for t in tids), tids)
bq = [q for q in io_vqs(b) if q["interval"]["completions"]]
check("busy: %d request queues moved during the interval" % queues,
      len(bq) == queues, [q["vq"] for q in bq])
check("busy: IOPS and MB/s > 0, MB/s = IOPS x 4 KiB",
      bq and all(q["iops"] > 0 and
                 abs(q["mb_s"] - q["iops"] * bs / 1e6) <= 0.02 * q["mb_s"] + 0.01
                 for q in bq), [(q["iops"], q["mb_s"]) for q in bq])
check("busy: batch >= 1, kicks/io and irqs/io reported",
      bq and all(q["batch"] is not None and q["batch"] >= 1 and
                 q["kicks_per_io"] is not None and q["irqs_per_io"] is not None
                 for q in bq),
      [(q["batch"], q["kicks_per_io"], q["irqs_per_io"]) for q in bq])
tot = sum(q["total"]["completions"] for q in io_vqs(hd))
tb = sum(q["total"]["bytes"] for q in io_vqs(hd))
check("vsng-load counted I/Os", ios > 0, ld.get("error", ios))
check("held: completions since open >= the %d I/Os vsng-load counted" % ios,
      hd and tot >= ios, tot)
print("# held: %d completions since open, %d more than vsng-load counted "
      "(before its window, setup)" % (tot, tot - ios))
check("held: bytes since open >= I/Os x 4 KiB", hd and tb >= ios * bs, tb)
moved = tot - sum(q["total"]["completions"] for q in io_vqs(b))
check("held: completions moved since the busy report", moved > 0, moved)
check("held: idle: nothing in flight, no completion in the interval",
      hd and all(q["inflight"] == 0 and q["interval"]["completions"] == 0
                 for q in io_vqs(hd)),
      [(q["vq"], q["inflight"], q["interval"]["completions"]) for q in io_vqs(hd)])
print("# stat n=%d" % n)
sys.exit(fail)
EOF
rc=$?
cat "$OUT/checks.tap"
[ $rc = 0 ] || fail=1
n=$(sed -n 's/^# stat n=//p' "$OUT/checks.tap")
[ -n "$n" ] || bail "the report checks did not run (exit $rc)"

"${STAT[@]}" -j --once -i 0.2 >"$OUT/closed.json" 2>"$OUT/closed.err"
check "device closed: no longer listed" \
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["devices"] != [])' \
	"$OUT/closed.json"

vsng_unload_target || nok "rmmod vhost_scsi_ng"
"${STAT[@]}" -j --once -i 0.2 >"$OUT/unloaded.json" 2>"$OUT/unloaded.err"
rc=$?
echo "# after rmmod: exit $rc, stderr: $(cat "$OUT/unloaded.err")"
check "module unloaded: exit status 3" test $rc = 3
check "module unloaded: one line on stderr saying so, nothing on stdout" \
	test "$(wc -l <"$OUT/unloaded.err")" = 1 -a ! -s "$OUT/unloaded.json" \
	-a "$(grep -c 'module not loaded' "$OUT/unloaded.err")" = 1
echo "1..$n"
exit $fail
