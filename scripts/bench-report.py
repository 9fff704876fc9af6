#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench-report.py OUTDIR: turn the raw results of scripts/bench.sh into
OUTDIR/summary.json, OUTDIR/results.md and gnuplot charts (OUTDIR/*.png).

Raw input (written inside the test guest by scripts/bench-guest.sh):
  OUTDIR/vm-target/bench/target/r<R>-<path>-<backend>-<workload>.json
  OUTDIR/vm-realguest/bench/realguest/r<R>-<path>/{result.json,report,
      insns.txt,kvm.txt}
  OUTDIR/vm-mem/bench/mem/mem.json (tools/vsng-mem; see bench_mem.py)
  OUTDIR/vm-target/bench/target/r<R>-<path>-<backend>-<workload>.prof and
      kallsyms.txt: the instruction profile by function (insn-profile.py)
Figures are medians over rounds with min-max; ratios are path / ours.
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys

import bench_mem

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
insn_profile = __import__("insn-profile")

OUT = sys.argv[1]
WL_ORDER = ["rr4k-qd32-2q", "rw4k-qd32", "rr4k-qd1", "seq64k-qd16",
            "rrw4k-7030-qd32"]
WL_DESC = {
    "rr4k-qd32-2q": "4k randread QD32 x 2 queues",
    "rw4k-qd32": "4k randwrite QD32",
    "rr4k-qd1": "4k randread QD1",
    "seq64k-qd16": "64k seq read QD16",
    "rrw4k-7030-qd32": "4k randrw 70/30 QD32",
}
T_PATHS = ["ours-pq", "ours-packed", "ours-shared", "intree", "intree-nw",
           "ours-inorder", "ours-packed-inorder"]
R_PATHS = ["ours", "ours-packed", "intree", "intree-wpv", "qemu-scsi",
           "qemu-blk", "qemu-scsi-uring", "qemu-blk-uring"]
R_PEERS = R_PATHS[2:]  # ours on packed rings is ours, not a peer
P_DESC = {
    "ours-pq": "ours, worker per queue",
    "ours-packed": "ours on packed rings (target level: worker per "
                   "queue; real guest: vhost-scsi-pci packed=on)",
    "ours-inorder": "ours-pq with VIRTIO_F_IN_ORDER (in_order=Y)",
    "ours-packed-inorder": "ours-packed with VIRTIO_F_IN_ORDER (in_order=Y)",
    "ours-shared": "ours, one shared worker",
    "intree": "in-tree vhost_scsi, one worker",
    "intree-nw": "in-tree, VHOST_NEW_WORKER per queue",
    "ours": "ours (vhost-scsi-pci)",
    "intree-wpv": "in-tree, worker_per_virtqueue=on",
    "qemu-scsi": "QEMU virtio-scsi-pci + iothread, aio=native",
    "qemu-blk": "QEMU virtio-blk-pci + iothread, aio=native",
    "qemu-scsi-uring": "QEMU virtio-scsi-pci + iothread, aio=io_uring",
    "qemu-blk-uring": "QEMU virtio-blk-pci + iothread, aio=io_uring",
}


def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals)}


def fmt(s, nd=0, unit=""):
    if not s:
        return "-"
    m = s["median"]
    if s["n"] > 1 and s["max"] != s["min"]:
        return f"{m:,.{nd}f}{unit} ({s['min']:,.{nd}f}-{s['max']:,.{nd}f})"
    return f"{m:,.{nd}f}{unit}"


def ratio(a, b):
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def rfmt(x):
    return "-" if x is None else f"{x:.2f}x"


# ---- target level -------------------------------------------------------
target = {}
for f in sorted(glob.glob(f"{OUT}/vm-target/bench/target/r*.json")):
    try:
        d = json.load(open(f))
    except (ValueError, OSError):
        continue
    key = (d.get("backend"), d.get("workload"), d.get("path"))
    target.setdefault(key, []).append(d)

METRICS_T = ["iops", "mbps", "lat_mean_us", "lat_p50_us", "lat_p99_us",
             "lat_p999_us", "kicks_per_io", "interrupts_per_io",
             "notifications_per_io", "used_idx_writes_per_io",
             "cpu_us_per_io", "insns_per_io"]
tsum = {}
for key, runs in target.items():
    ok = [r for r in runs if r.get("ok")]
    e = {"runs": len(runs), "ok": len(ok)}
    for m in METRICS_T:
        e[m] = med([r.get(m) for r in ok])
    tsum[key] = e


# ---- target level: instruction profile by function (issue 19) ------------
PROF_TOP = 15
prof = {}       # (backend, workload, path) -> per category / symbol, per I/O
_ks_path = f"{OUT}/vm-target/bench/target/kallsyms.txt"
if os.path.exists(_ks_path) and glob.glob(
        f"{OUT}/vm-target/bench/target/r*.prof"):
    _ks = insn_profile.load_kallsyms(_ks_path)
    for key, runs in target.items():
        per = []
        for r in runs:
            pf = (f"{OUT}/vm-target/bench/target/r{r.get('round')}-"
                  f"{key[2]}-{key[0]}-{key[1]}.prof")
            if not (r.get("ok") and r.get("ios") and os.path.exists(pf)):
                continue
            cats, syms, tot = insn_profile.profile(_ks, pf)
            ios = r["ios"]
            per.append({"cats": {k: v / ios for k, v in cats.items()},
                        "syms": {k: v / ios for k, v in syms.items()},
                        "sum": tot / ios,
                        "counter": (r["insns"] / ios if r.get("insns")
                                    else None)})
        if not per:
            continue
        e = {"runs": len(per),
             "cats": {k: statistics.median(p["cats"][k] for p in per)
                      for k in insn_profile.CAT_KEYS},
             "sum": statistics.median(p["sum"] for p in per),
             "counter": med([p["counter"] for p in per])}
        allsyms = {}
        for p in per:
            for k, v in p["syms"].items():
                allsyms[k] = allsyms.get(k, 0) + v / len(per)
        e["top"] = sorted(allsyms.items(), key=lambda x: -x[1])[:PROF_TOP]
        diffs = [(p["sum"] - p["counter"]) / p["counter"] for p in per
                 if p["counter"]]
        e["sum_vs_counter_max"] = max(diffs, key=abs) if diffs else None
        prof[key] = e


# ---- real-guest level ---------------------------------------------------
def parse_kv(s):
    out = {}
    for tok in s.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


rg = {}
retries = 0
boots = []
for d in sorted(glob.glob(f"{OUT}/vm-realguest/bench/realguest/r*-*")):
    m = re.match(r"r(\d+)-(.+)$", os.path.basename(d))
    if not m:
        continue
    rnd = int(m.group(1))
    try:
        res = json.load(open(f"{d}/result.json"))
    except (ValueError, OSError):
        res = {"ok": False}
    boots.append({"round": rnd, "boot": m.group(2), "ok": res.get("ok"),
                  "retries": res.get("retries")})
    if isinstance(res.get("retries"), int):
        retries += res["retries"]
    if not res.get("ok"):
        continue    # no verdict / failed: its partial figures are not used
    rep = {}
    if os.path.exists(f"{d}/report"):
        for line in open(f"{d}/report"):
            line = line.strip()
            if line.startswith("wl_") and "=" in line:
                name, rest = line[3:].split("=", 1)
                rep[name] = parse_kv(rest)
    ins = {}
    if os.path.exists(f"{d}/insns.txt"):
        for line in open(f"{d}/insns.txt"):
            p = line.split()
            if len(p) == 3:
                ins[p[0]] = (int(p[1]), int(p[2]))
    kvm = {}
    if os.path.exists(f"{d}/kvm.txt"):
        for line in open(f"{d}/kvm.txt"):
            p = line.split(None, 2)
            if len(p) >= 2:
                ev, name = p[0], p[1]
                kvm.setdefault(name, {})[ev] = parse_kv(p[2] if len(p) > 2
                                                        else "")
    for key, v in rep.items():
        if "/" not in key:
            continue
        path, wl = key.split("/", 1)
        bs = 65536 if "64k" in wl else 4096
        ios = (v.get("rkb", 0) + v.get("wkb", 0)) * 1024 / bs
        if ios <= 0:
            continue
        r = {"round": rnd, "ios": ios,
             "iops": v.get("riops", 0) + v.get("wiops", 0),
             "mbps": (v.get("rkb", 0) + v.get("wkb", 0)) * 1024 / 1e6 /
             max(v.get("secs", 1), 1e-3),
             "lat_mean_us": v.get("lat_mean"), "lat_p50_us": v.get("p50"),
             "lat_p99_us": v.get("p99"), "lat_p999_us": v.get("p999"),
             # a REPORT line cut short on the console has no virq
             "inner_irqs_per_io": (v["virq"] / ios if "virq" in v
                                   else None)}
        a, b = ins.get(key, (0, 0))
        r["insns_per_io"] = (b - a) / ios if a and b > a else None
        k = kvm.get(key, {})
        if "BENCH-BEGIN" in k and "BENCH-END" in k:
            for s in ("exits", "io_exits", "mmio_exits", "irq_injections",
                      "halt_exits"):
                b0, b1 = k["BENCH-BEGIN"].get(s), k["BENCH-END"].get(s)
                if b0 is not None and b1 is not None and b1 >= b0 and b1:
                    r[f"kvm_{s}_per_io"] = (b1 - b0) / ios
        rg.setdefault((wl, path), []).append(r)

METRICS_R = ["iops", "mbps", "lat_mean_us", "lat_p50_us", "lat_p99_us",
             "lat_p999_us", "insns_per_io", "inner_irqs_per_io",
             "kvm_exits_per_io", "kvm_io_exits_per_io",
             "kvm_mmio_exits_per_io", "kvm_irq_injections_per_io"]
rsum = {}
for key, runs in rg.items():
    e = {"runs": len(runs)}
    for m in METRICS_R:
        e[m] = med([r.get(m) for r in runs])
    rsum[key] = e

# ---- goals --------------------------------------------------------------
goals = []


def goal(name, value, target_txt, met):
    goals.append({"goal": name, "value": value, "target": target_txt,
                  "met": met})


def tget(b, w, p, m):
    e = tsum.get((b, w, p))
    return e.get(m) if e else None


for b in ("nullb", "brd"):
    w = "rr4k-qd32-2q"
    ours = tget(b, w, "ours-pq", "insns_per_io")
    intr = [x for x in (tget(b, w, "intree", "insns_per_io"),
                        tget(b, w, "intree-nw", "insns_per_io")) if x]
    if ours and intr:
        best = min(i["median"] for i in intr)
        r = ours["median"] / best
        goal(f"target {b} 4k randread QD32: insns/IO ours / best in-tree",
             f"{r:.2f}", "<= 0.50", r <= 0.5)
    n = tget(b, w, "ours-pq", "notifications_per_io")
    if n:
        goal(f"target {b} 4k randread QD32: kicks+interrupts per I/O (ours)",
             f"{n['median']:.3f}", "<= 0.05", n["median"] <= 0.05)
    w = "rr4k-qd1"
    for m in ("lat_mean_us", "lat_p50_us"):
        o = tget(b, w, "ours-pq", m)
        intr = [x for x in (tget(b, w, "intree", m),
                            tget(b, w, "intree-nw", m)) if x]
        if o and intr:
            best = min(i["median"] for i in intr)
            goal(f"target {b} 4k randread QD1: {m} ours / best in-tree",
                 f"{o['median'] / best:.2f}", "<= 1.00",
                 o["median"] <= best)


def rget(w, p, m):
    e = rsum.get((w, p))
    return e.get(m) if e else None


w = "rr4k-qd32-2q"
o = rget(w, "ours", "iops")
if o:
    intr = [x for x in (rget(w, "intree", "iops"),
                        rget(w, "intree-wpv", "iops")) if x]
    if intr:
        best = max(i["median"] for i in intr)
        r = o["median"] / best
        goal("real guest 4k randread QD32: IOPS ours / best in-tree",
             f"{r:.2f}", ">= 1.50", r >= 1.5)
    q = rget(w, "qemu-scsi", "iops")
    if q:
        r = o["median"] / q["median"]
        goal("real guest 4k randread QD32: IOPS ours / QEMU virtio-scsi",
             f"{r:.2f}", ">= 2.00", r >= 2.0)
    q = rget(w, "qemu-blk", "iops")
    if q:
        r = o["median"] / q["median"]
        goal("real guest 4k randread QD32: IOPS ours / QEMU virtio-blk",
             f"{r:.2f}", ">= 1.00", r >= 1.0)


def best_peer(w, m, higher=True):
    """(path, summary) of the peer with the best median of metric m."""
    peers = [(p, rget(w, p, m)) for p in R_PEERS if rget(w, p, m)]
    if not peers:
        return None, None
    pick = max if higher else min
    return pick(peers, key=lambda x: x[1]["median"])


if o:
    bp, b = best_peer(w, "iops")
    if b:
        r = o["median"] / b["median"]
        goal(f"real guest 4k randread QD32: IOPS ours / best peer ({bp})",
             f"{r:.2f}", ">= 1.30", r >= 1.3)
o = rget("rr4k-qd1", "ours", "lat_mean_us")
bp, b = best_peer("rr4k-qd1", "lat_mean_us", higher=False)
if o and b:
    r = o["median"] / b["median"]
    goal(f"real guest 4k randread QD1: mean latency ours / best peer ({bp})",
         f"{r:.2f}", "<= 1.00", r <= 1.0)

mem = bench_mem.load(OUT)
if mem:
    bench_mem.goals(mem, goal)

# ---- write summary.json ---------------------------------------------------
summary = {
    "target": [{"backend": k[0], "workload": k[1], "path": k[2], **v}
               for k, v in sorted(tsum.items())],
    "realguest": [{"workload": k[0], "path": k[1], **v}
                  for k, v in sorted(rsum.items())],
    "goals": goals, "platform_retries": retries, "inner_boots": boots,
}
if mem:
    summary["mem"] = bench_mem.summary(mem)
if prof:
    summary["insn_profile"] = [
        {"backend": k[0], "workload": k[1], "path": k[2], **v}
        for k, v in sorted(prof.items())]
json.dump(summary, open(f"{OUT}/summary.json", "w"), indent=1)

# ---- Markdown -------------------------------------------------------------
md = []
meta = {}
if os.path.exists(f"{OUT}/meta.txt"):
    for line in open(f"{OUT}/meta.txt"):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            meta[k] = v
md.append(f"# vhost-scsi-ng benchmark {meta.get('date', '')}\n")
if meta:
    md.append("Run: " + ", ".join(f"{k}={v}" for k, v in meta.items()
                                  if k != "date") + "\n")
md.append("Medians over rounds, (min-max) when they differ. `vs ours` = "
          "path median / ours median (IOPS: < 1 means ours is faster; "
          "insns/IO: > 1 means the path costs more than ours).\n")

if goals:
    md.append("## Goals (issue 6)\n")
    md.append("| goal | measured | target | met |")
    md.append("|---|---|---|---|")
    for g in goals:
        md.append(f"| {g['goal']} | {g['value']} | {g['target']} | "
                  f"{'yes' if g['met'] else '**no**'} |")
    md.append("")

for b in ("nullb", "brd"):
    keys = [k for k in tsum if k[0] == b]
    if not keys:
        continue
    md.append(f"## Target level, backend {b} (tools/vsng-load, no guest "
              "kernel)\n")
    md.append("| workload | path | IOPS | vs ours | insns/IO | vs ours | "
              "lat mean us | p50 us | p99 us | p99.9 us | kicks/IO | "
              "irqs/IO | used-idx writes/IO | CPU us/IO |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in WL_ORDER:
        base = tsum.get((b, w, "ours-pq"), {})
        for p in T_PATHS:
            e = tsum.get((b, w, p))
            if not e:
                continue
            md.append(
                f"| {WL_DESC.get(w, w)} | {p} | {fmt(e['iops'])} | "
                f"{rfmt(ratio(e['iops'], base.get('iops')))} | "
                f"{fmt(e['insns_per_io'])} | "
                f"{rfmt(ratio(e['insns_per_io'], base.get('insns_per_io')))}"
                f" | {fmt(e['lat_mean_us'], 0)} | {fmt(e['lat_p50_us'], 0)} "
                f"| {fmt(e['lat_p99_us'], 0)} | {fmt(e['lat_p999_us'], 0)} | "
                f"{fmt(e['kicks_per_io'], 3)} | "
                f"{fmt(e['interrupts_per_io'], 3)} | "
                f"{fmt(e['used_idx_writes_per_io'], 3)} | "
                f"{fmt(e['cpu_us_per_io'], 1)} |")
    md.append("")

if prof:
    md.append("## Target level: guest instructions per I/O by category "
              "(issue 19)\n")
    md.append("Profile of the measured window by translated-block start "
              "address, mapped to the guest's kallsyms "
              "(scripts/insn-profile.py; categories in "
              "Documentation/performance.md). Medians over rounds. "
              "`ratio` = ours-pq / intree. `sum vs counter`: the profile's "
              "total against the plain counter's, largest difference over "
              "the rounds.\n")
    for b in ("nullb", "brd"):
        for w in WL_ORDER:
            paths = [p for p in T_PATHS if (b, w, p) in prof]
            if not paths:
                continue
            md.append(f"### {b}, {WL_DESC.get(w, w)}\n")
            both = "ours-pq" in paths and "intree" in paths
            md.append("| category | " + " | ".join(paths) +
                      (" | ratio |" if both else " |"))
            md.append("|---|" + "---|" * (len(paths) + both))

            def row(label, vals, nd=0, ratio=True):
                cells = [("-" if v is None else f"{v:,.{nd}f}")
                         for v in vals]
                if both and not ratio:
                    cells.append("")
                elif both:
                    o, i = vals[paths.index("ours-pq")], \
                        vals[paths.index("intree")]
                    cells.append(f"{o / i:.2f}x" if o is not None and i
                                 else "-")
                md.append(f"| {label} | " + " | ".join(cells) + " |")
            for c in insn_profile.CAT_KEYS:
                vals = [prof[(b, w, p)]["cats"][c] for p in paths]
                if any(vals):
                    # the module rows: compared in the "module" row
                    row(c, vals, ratio=c not in ("ours", "intree"))
            row("module (ours + intree rows)",
                [prof[(b, w, p)]["cats"]["ours"] +
                 prof[(b, w, p)]["cats"]["intree"] for p in paths])
            row("**sum**", [prof[(b, w, p)]["sum"] for p in paths])
            row("counter (insns/IO)",
                [(prof[(b, w, p)]["counter"] or {}).get("median")
                 for p in paths])
            md.append("| sum vs counter | " + " | ".join(
                "-" if prof[(b, w, p)]["sum_vs_counter_max"] is None else
                f"{100 * prof[(b, w, p)]['sum_vs_counter_max']:+.2f}%"
                for p in paths) + (" | |" if both else " |"))
            md.append("")
            md.append(f"Top {PROF_TOP} symbols, instructions per I/O:\n")
            md.append("| # | " + " | ".join(paths) + " |")
            md.append("|---|" + "---|" * len(paths))
            for i in range(PROF_TOP):
                cells = []
                for p in paths:
                    t = prof[(b, w, p)]["top"]
                    cells.append(f"{t[i][1]:,.0f} `{t[i][0]}`"
                                 if i < len(t) else "")
                md.append(f"| {i + 1} | " + " | ".join(cells) + " |")
            md.append("")

if rsum:
    md.append("## Real guest (fio in a nested-KVM inner guest, 2 vCPUs, "
              "libaio, O_DIRECT; every path on its own 256 MiB brd disk)\n")
    md.append("| workload | path | IOPS | vs ours | MB/s | insns/IO | "
              "vs ours | lat mean us | p50 us | p99 us | inner irqs/IO | "
              "KVM exits/IO | KVM irq inj/IO |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in WL_ORDER:
        base = rsum.get((w, "ours"), {})
        for p in R_PATHS:
            e = rsum.get((w, p))
            if not e:
                continue
            md.append(
                f"| {WL_DESC.get(w, w)} | {p} | {fmt(e['iops'])} | "
                f"{rfmt(ratio(e['iops'], base.get('iops')))} | "
                f"{fmt(e['mbps'], 1)} | {fmt(e['insns_per_io'])} | "
                f"{rfmt(ratio(e['insns_per_io'], base.get('insns_per_io')))}"
                f" | {fmt(e['lat_mean_us'], 0)} | {fmt(e['lat_p50_us'], 0)} "
                f"| {fmt(e['lat_p99_us'], 0)} | "
                f"{fmt(e['inner_irqs_per_io'], 3)} | "
                f"{fmt(e['kvm_exits_per_io'], 2)} | "
                f"{fmt(e['kvm_irq_injections_per_io'], 3)} |")
    md.append("")
    md.append("### Real guest: ours against the best peer\n")
    md.append("Per workload and figure, the best of the other paths (in-tree "
              "and QEMU's, aio=native and io_uring) and ours / that best "
              "(IOPS: > 1 means ours is faster; the others: < 1 means ours "
              "is lower).\n")
    cols = [("IOPS", "iops", True, 0), ("insns/IO", "insns_per_io", False, 0),
            ("lat mean us", "lat_mean_us", False, 0),
            ("KVM exits/IO", "kvm_exits_per_io", False, 2),
            ("inner irqs/IO", "inner_irqs_per_io", False, 3)]
    md.append("| workload | " + " | ".join(
        f"best peer {c[0]} | ours / best" for c in cols) + " |")
    md.append("|---|" + "---|---|" * len(cols))
    for w in WL_ORDER:
        if not rsum.get((w, "ours")):
            continue
        cells = []
        for _, m, hi, nd in cols:
            bp, b = best_peer(w, m, hi)
            o = rget(w, "ours", m)
            cells.append("-" if not b else
                          f"{bp} {b['median']:,.{nd}f}")
            cells.append(rfmt(ratio(o, b)))
        md.append(f"| {WL_DESC.get(w, w)} | " + " | ".join(cells) + " |")
    md.append("")
    md.append(f"Platform retries (inner guest died without a verdict, "
              f"retried): {retries}\n")

if mem:
    md += bench_mem.markdown(mem)

checks = []
for f in sorted(glob.glob(f"{OUT}/vm-*/bench/*/plugin-check.txt")):
    checks.append(f"{os.path.basename(os.path.dirname(f))}: "
                  + open(f).read().strip())
if checks:
    md.append("TCG plugin sanity check (a loop of known length between two "
              "markers): " + "; ".join(checks) + "\n")
    summary["plugin_checks"] = checks
    json.dump(summary, open(f"{OUT}/summary.json", "w"), indent=1)

md.append("Paths: " + "; ".join(f"`{k}` = {v}" for k, v in P_DESC.items())
          + ".\n")
open(f"{OUT}/results.md", "w").write("\n".join(md) + "\n")


# ---- charts ---------------------------------------------------------------
def chart(name, title, ylabel, rows, paths, metric, logy=False):
    wls = [w for w in WL_ORDER if any(r[0] == w for r in rows)]
    # gnuplot refuses a histogram column without a single value
    paths = [p for p in paths
             if any(dict(rows).get(w, {}).get(p, {}).get(metric)
                    for w in wls)]
    if not wls or not paths:
        return
    dat = f"{OUT}/{name}.dat"
    with open(dat, "w") as f:
        f.write("# workload " + " ".join(paths) + "\n")
        for w in wls:
            vals = []
            for p in paths:
                e = dict(rows).get(w, {}).get(p, {}).get(metric)
                vals.append(f"{e['median']:.6g}" if e else "NaN")
            f.write(f"{w} " + " ".join(vals) + "\n")
    cols = " , ".join(f"'{dat}' using {i + 2}:xtic(1) title '{p}'"
                      for i, p in enumerate(paths))
    gp = f"""set terminal pngcairo size 1000,520 font 'sans,10'
set output '{OUT}/{name}.png'
set title '{title}'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set ylabel '{ylabel}'
set grid ytics
set xtics rotate by -20
{'set logscale y' if logy else 'set yrange [0:*]'}
plot {cols}
"""
    try:
        subprocess.run(["gnuplot"], input=gp.encode(), check=True,
                       stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        print(f"bench-report: gnuplot failed for {name}", file=sys.stderr)


for b in ("nullb", "brd"):
    rows = {}
    for (bb, w, p), e in tsum.items():
        if bb == b:
            rows.setdefault(w, {})[p] = e
    if rows:
        chart(f"target-{b}-iops", f"Target level ({b}): IOPS", "IOPS",
              list(rows.items()), T_PATHS, "iops", logy=True)
        chart(f"target-{b}-insns", f"Target level ({b}): guest instructions"
              " per I/O", "instructions / I/O", list(rows.items()), T_PATHS,
              "insns_per_io")
rows = {}
for (w, p), e in rsum.items():
    rows.setdefault(w, {})[p] = e
if rows:
    chart("realguest-iops", "Real guest (nested KVM, fio): IOPS", "IOPS",
          list(rows.items()), R_PATHS, "iops", logy=True)
    chart("realguest-insns", "Real guest: instructions per I/O (whole TCG "
          "machine)", "instructions / I/O", list(rows.items()), R_PATHS,
          "insns_per_io")

if mem:
    bench_mem.chart(mem, OUT)

print(open(f"{OUT}/results.md").read())
