#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# platform-study.sh: how often does the nested platform (an inner KVM guest
# inside the TCG test guest) fail, per setting?
#
#   scripts/platform-study.sh [--runs N] [--fio-secs S] [--batch B] [--out DIR]
#                             --setting NAME...
#
# For each setting, N inner-guest boots of a fixed fio workload (4k randrw
# QD32 on a brd LUN through the in-tree vhost_scsi, S seconds, default 60),
# B per outer boot (default 5), settings taking turns: when the outer guest
# dies, the run in progress is counted with the outer signature
# (scripts/platform-death.sh) and the batch ends there. Prints a table:
# failure rate by signature and the median IOPS. Raw data in DIR (default
# results/platform-study/<date>/<setting>/runs.tsv).
#
# Settings (outer = the TCG test guest, inner = the nested KVM guest):
#   base      outer -cpu max, kvm_amd defaults, inner -cpu host -smp 1
#             (today's defaults)
#   smp2      as base, inner -smp 2
#   npt0      as base, kvm_amd npt=0 (shadow paging for the inner guest)
#   la57off   outer -cpu max,la57=off (4-level paging in the outer guest)
#   epyc      outer -cpu EPYC (a plain AMD model with svm)
#   lean      kvm_amd vgif=0 avic=0 vls=0 lbrv=0 pause_filter_count=0 (in the
#             TCG guest vls, lbrv and pause_filter_count are already 0)
#   qemu64    inner -cpu qemu64 instead of host
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
. scripts/platform-death.sh
RUNS=20 SECS=60 BATCH=5 OUT= SETTINGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift 2 ;;
	--fio-secs) SECS=${2:?}; shift 2 ;;
	--batch) BATCH=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--setting) SETTINGS+=("${2:?}"); shift 2 ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "platform-study: unknown option $1" >&2; exit 2 ;;
	esac
done
[ ${#SETTINGS[@]} -gt 0 ] || SETTINGS=(base)
OUT=${OUT:-$REPO/results/platform-study/$(date -u +%Y%m%d-%H%M%S)}

# setting NAME: sets OCPU, KVMP, ICPU, ISMP
setting() {
	OCPU=max KVMP= ICPU=host ISMP=1
	case "$1" in
	base) ;;
	smp2) ISMP=2 ;;
	npt0) KVMP="npt=0" ;;
	la57off) OCPU=max,la57=off ;;
	epyc) OCPU=EPYC ;;
	lean) KVMP="vgif=0 avic=0 vls=0 lbrv=0 pause_filter_count=0" ;;
	qemu64) ICPU=qemu64 ;;
	*) echo "platform-study: unknown setting $1" >&2; return 1 ;;
	esac
}

# boot_batch SETTING COUNT: one outer boot that runs up to COUNT more runs
# of SETTING; an outer death counts the run in progress by its signature.
boot_batch() {
	local s=$1 want=$2 d=$OUT/$1 done_runs L rc n why res
	setting "$s" || exit 2
	done_runs=$(wc -l <"$d/runs.tsv")
	BOOTS[$s]=$((${BOOTS[$s]:-0} + 1))
	L=$d/boot-${BOOTS[$s]}
	echo "platform-study: $s: outer boot ${BOOTS[$s]}, runs $((done_runs + 1))..$((done_runs + want))"
	scripts/vm-run --cpu "$OCPU" --logdir "$L" --timeout $((want * (SECS + 150) + 300)) \
		--env STUDY_RUNS="$want" --env STUDY_FIRST=$((done_runs + 1)) \
		--env STUDY_FIO_SECS="$SECS" --env STUDY_KVM_PARAMS="$KVMP" \
		--env STUDY_INNER_CPU="$ICPU" --env STUDY_INNER_SMP="$ISMP" \
		-- bash scripts/platform-study-guest.sh >"$L.out" 2>&1
	rc=$?
	[ -f "$L/runs.tsv" ] && cat "$L/runs.tsv" >>"$d/runs.tsv"
	[ $rc = 0 ] && return 0
	if [ $rc = 3 ]; then
		echo "platform-study: $s: setup failed in the guest (see $L.out)" >&2
		exit 1
	fi
	n=$(($(wc -l <"$d/runs.tsv") + 1))
	if why=$(platform_death "$L/console.log" "$L.out" 2>/dev/null); then
		case $why in
		*panicked*) res=outer-panic ;;
		*stall*) res=outer-stall ;;
		*) res=outer-reset ;;
		esac
	elif [ $rc = 124 ]; then
		res=outer-timeout
	else
		res=outer-other
	fi
	printf '%s\t%s\t-\t-\n' "$n" "$res" >>"$d/runs.tsv"
}

scripts/inner-guest.sh --build-initrd >/dev/null || { echo "platform-study: no inner initramfs" >&2; exit 1; }
declare -A BOOTS
for s in "${SETTINGS[@]}"; do
	setting "$s" || exit 2
	mkdir -p "$OUT/$s"
	: >"$OUT/$s/runs.tsv"
	echo "$s: outer -cpu $OCPU; kvm_amd ${KVMP:-defaults}; inner -cpu $ICPU -smp $ISMP" >"$OUT/$s/setting.txt"
done
# Settings take turns, BATCH runs per outer boot, so that a change in the
# machine's load during the study weighs on every setting alike.
while :; do
	more=0
	for s in "${SETTINGS[@]}"; do
		left=$((RUNS - $(wc -l <"$OUT/$s/runs.tsv")))
		[ $left -gt 0 ] || continue
		more=1
		boot_batch "$s" $((left < BATCH ? left : BATCH))
	done
	[ $more = 1 ] || break
done

# The table, one row per setting.
median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
{
	printf '| setting | runs | pass | fail rate | inner reset | inner hang | outer panic | outer reset/stall/other | test fail | median IOPS |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|\n'
	for s in "${SETTINGS[@]}"; do
		med=$(awk -F'\t' '$2 == "pass" && $3 != "-" { print $3 }' "$OUT/$s/runs.tsv" | median)
		awk -F'\t' -v s="$s" -v med="$med" '
		{ n++; c[$2]++ }
		END {
			bad = n - c["pass"]
			printf "| %s | %d | %d | %.0f%% | %d | %d | %d | %d | %d | %s |\n", s, n, c["pass"],
				n ? 100 * bad / n : 0, c["inner-reset"], c["inner-hang"], c["outer-panic"],
				c["outer-reset"] + c["outer-stall"] + c["outer-timeout"] + c["outer-other"], c["fail"], med
		}' "$OUT/$s/runs.tsv"
	done
} | tee "$OUT/table.md"
