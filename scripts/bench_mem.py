# SPDX-License-Identifier: GPL-2.0
"""bench_mem.py: the memory level of scripts/bench-report.py (issue 19).

Input: OUTDIR/vm-mem/bench/mem/mem.json, written by tools/vsng-mem inside
the test guest (scripts/bench-guest.sh mem). Every figure is the kernel
memory one device holds after SET_ENDPOINT, in KiB: the median over the
repetitions with (min-max). Ratios are ours / in-tree.
"""
import json
import subprocess
import sys

GOAL_CONF = (16, 1024)
GOAL_RATIO = 0.10


def load(out):
    try:
        with open(f"{out}/vm-mem/bench/mem/mem.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _cells(d):
    """{(queues, entries): {target: result}} in the order measured."""
    cells = {}
    for r in d.get("results", []):
        cells.setdefault((r["queues"], r["entries"]), {})[r["target"]] = r
    return cells


def _total(r):
    if not r or not r.get("ok") or not r.get("total_kib"):
        return None
    return r["total_kib"]["median"]


def _fmt(s):
    if not s:
        return "-"
    if s["min"] != s["max"]:
        return f"{s['median']:,} ({s['min']:,}-{s['max']:,})"
    return f"{s['median']:,}"


def _cell(r, key="total_kib"):
    if not r:
        return "-"
    if not r.get("ok"):
        return f"failed: {r.get('error') or 'incomplete'}"
    return _fmt(r.get(key))


def summary(d):
    rows = []
    for (q, n), t in _cells(d).items():
        o, i = _total(t.get("ours")), _total(t.get("intree"))
        rows.append({"queues": q, "entries": n, "ours": t.get("ours"),
                     "intree": t.get("intree"),
                     "ratio": o / i if o is not None and i else None})
    return rows


def goals(d, goal):
    for row in summary(d):
        if (row["queues"], row["entries"]) == GOAL_CONF and row["ratio"]:
            goal(f"memory per {GOAL_CONF[0]}x{GOAL_CONF[1]} device: "
                 "ours / in-tree", f"{row['ratio']:.3f}",
                 f"<= {GOAL_RATIO:.2f}", row["ratio"] <= GOAL_RATIO)


def markdown(d):
    md = ["## Kernel memory per device (tools/vsng-mem, after "
          "SET_ENDPOINT)\n",
          f"KiB, median of {d.get('reps')} repetitions (min-max), ours "
          "and in-tree alternating in one boot. total = delta Slab + "
          "delta VmallocUsed + pinned pages; `by MemFree` = drop of MemFree "
          "less the growth of AnonPages, Cached, Buffers and PageTables "
          "(a cross-check). Control and event queue: 128 entries each.\n",
          "| request queues x entries | ours | in-tree | ours / in-tree | "
          "ours by MemFree | in-tree by MemFree |",
          "|---|---|---|---|---|---|"]
    for row in summary(d):
        r = row["ratio"]
        md.append(f"| {row['queues']} x {row['entries']} | "
                  f"{_cell(row['ours'])} | {_cell(row['intree'])} | "
                  f"{'-' if r is None else f'{r:.3f}'} | "
                  f"{_cell(row['ours'], 'by_memfree_kib')} | "
                  f"{_cell(row['intree'], 'by_memfree_kib')} |")
    n = d.get("noise") or {}
    md.append("")
    md.append("Noise (the same two snapshots with no device): total "
              f"{_fmt(n.get('total_kib'))} KiB, by MemFree "
              f"{_fmt(n.get('by_memfree_kib'))} KiB.\n")
    return md


def chart(d, out):
    rows = [r for r in summary(d) if _total(r["ours"]) or
            _total(r["intree"])]
    if not rows:
        return
    dat = f"{out}/mem.dat"
    with open(dat, "w") as f:
        f.write("# config ours_mib intree_mib\n")
        for r in rows:
            vals = [_total(r[t]) for t in ("ours", "intree")]
            f.write(f"{r['queues']}x{r['entries']} " + " ".join(
                "NaN" if v is None else f"{v / 1024:.3f}" for v in vals)
                + "\n")
    gp = f"""set terminal pngcairo size 800,480 font 'sans,10'
set output '{out}/mem.png'
set title 'Kernel memory per device after SET_ENDPOINT (log scale)' noenhanced
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key left top
set ylabel 'MiB'
set xlabel 'request queues x ring entries'
set grid ytics
set logscale y
plot '{dat}' using 2:xtic(1) title 'ours', '' using 3 title 'in-tree'
"""
    try:
        subprocess.run(["gnuplot"], input=gp.encode(), check=True,
                       stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        print("bench-report: gnuplot failed for mem", file=sys.stderr)
