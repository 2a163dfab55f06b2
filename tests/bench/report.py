#!/usr/bin/python3
"""Turns scripts/bench.sh's raw results into the table it prints and writes into
docs/PERFORMANCE.md. Nothing here measures; every figure comes from the files it reads.

usage:
  report.py table RESULTS.tsv CALLGRIND.tsv META.txt [--doc docs/PERFORMANCE.md]
  report.py micro MICRO_DIR ALLOCATOR...
  report.py tracing RUNS.tsv SIZES.tsv CALLGRIND.tsv META.txt [--doc docs/PERFORMANCE.md]
  report.py report RUNS.tsv META.txt [--doc docs/PERFORMANCE.md]

RESULTS.tsv, one line per run, tab-separated:
  workload label allocator pass status wall_s user_s sys_s maxrss_kb checksum metrics
  (metrics: space-separated key=value pairs the workload printed on a `metrics` line, or -)
CALLGRIND.tsv: allocator small_iters small_ir big_iters big_ir (ir empty when the run failed)
META.txt: key=value lines: machine, date, mode, runs, commit, versions, notes, allocators
  (the column order), peers (the allocators poolscope is compared with).

The tracing table (issue 5; between the bench-tracing markers):
RUNS.tsv, one line per run: workload label config pass status wall_s checksum note
  (config: glibc, pool — the untraced baselines — or pool-full, pool-sampled, libc-full,
  libc-sampled, heaptrack; note: what went wrong with the trace, or -)
SIZES.tsv: workload config trace_bytes events files flags (events empty when not counted)
CALLGRIND.tsv: config small_iters small_ir big_iters big_ir (small churn)
META.txt: as above, plus configs (the configurations run) and pairs (passes).

The report-speed section (issue 6; between the bench-report markers):
RUNS.tsv, one line per run: config pass status wall_s maxrss_kb
  (config: poolscope — `poolscope report TRACE` —, poolscope-nosym — the same with every module
  unresolvable —, heaptrack_print)
META.txt: as above, plus program, passes, poolscope_events, poolscope_bytes, heaptrack_events,
  heaptrack_bytes (empty when unknown) and flags.
"""
import json
import math
import os
import statistics
import sys

POOL = "pool"
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                key, value = line.split("=", 1)
                meta[key] = value
    return meta


def header_lines(meta, versions_label):
    """The lines every section opens with: machine, date, mode and commit, versions, notes."""
    lines = ["Machine: %s" % meta.get("machine", "?"),
             "Date: %s · %s · poolscope %s" % (meta.get("date", "?"), meta.get("mode", "?"),
                                               meta.get("commit", "?"))]
    faults = dict(f.split("=", 1) for f in meta.get("faults", "").split() if "=" in f)
    if {"small", "huge_idle", "huge_again"} <= faults.keys():
        lines.append("Page faults, seconds per GiB first touched: 4 KiB pages %s; 2 MiB pages %s "
                     "on memory left free for 10 s, %s right after a free (`fault_probe`)"
                     % (faults["small"], faults["huge_idle"], faults["huge_again"]))
    if meta.get("versions"):
        lines.append("%s: %s" % (versions_label, meta["versions"]))
    if meta.get("notes"):
        lines.append("Notes: %s" % meta["notes"])
    return lines


def tab_rows(path, count, optional=False):
    """The first `count` tab-separated fields of each line that has that many; nothing from a
    missing file when it is `optional`."""
    if optional and not os.path.exists(path):
        return
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= count:
                yield fields[:count]


def read_results(path):
    runs = []
    for workload, label, alloc, pss, status, wall, user, sys_s, rss, checksum, metrics in tab_rows(path, 11):
        parsed = {}
        if metrics != "-":
            for item in metrics.split():
                if "=" in item:
                    k, v = item.split("=", 1)
                    try:
                        parsed[k] = float(v)
                    except ValueError:
                        pass
        runs.append({
            "workload": workload, "label": label, "alloc": alloc, "pass": int(pss),
            "status": status, "wall": float(wall), "user": float(user),
            "sys": float(sys_s), "rss_kb": float(rss), "checksum": checksum,
            "metrics": parsed,
        })
    return runs


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt_ratio(r):
    return "—" if r is None else "%.2f" % r


def fmt_num(v, digits):
    return "—" if v is None else "%.*f" % (digits, v)


class Cell:
    """Median figures of one workload under one allocator."""

    def __init__(self, runs):
        ok = [r for r in runs if r["status"] == "ok"]
        self.runs = len(runs)
        self.ok = len(ok)
        self.failures = sorted({r["status"] for r in runs if r["status"] != "ok"})
        self.wall = statistics.median(r["wall"] for r in ok) if ok else None
        self.sys = statistics.median(r["sys"] for r in ok) if ok else None
        self.rss_mib = statistics.median(r["rss_kb"] for r in ok) / 1024.0 if ok else None
        self.checksums = sorted({r["checksum"] for r in ok})
        self.metrics = {}
        keys = sorted({k for r in ok for k in r["metrics"]})
        for k in keys:
            vals = [r["metrics"][k] for r in ok if k in r["metrics"]]
            if vals:
                self.metrics[k] = statistics.median(vals)


def build_cells(runs, allocators):
    workloads = []
    labels = {}
    for r in runs:
        if r["workload"] not in labels:
            workloads.append(r["workload"])
            labels[r["workload"]] = r["label"]
    cells = {}
    for w in workloads:
        for a in allocators:
            sel = [r for r in runs if r["workload"] == w and r["alloc"] == a]
            if sel:
                cells[(w, a)] = Cell(sel)
    return workloads, labels, cells


def best_peer(cells, workload, peers, attr):
    best_name, best_val = None, None
    for a in peers:
        c = cells.get((workload, a))
        v = getattr(c, attr) if c else None
        if v is not None and (best_val is None or v < best_val):
            best_name, best_val = a, v
    return best_name, best_val


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def table(runs, callgrind, meta):
    allocators = meta.get("allocators", "").split()
    peers = [a for a in meta.get("peers", "").split() if a in allocators]
    workloads, labels, cells = build_cells(runs, allocators)
    out = []
    out.extend(header_lines(meta, "Allocators"))
    out.append("")
    out.append("| workload | allocator | time s | ×glibc | ×best | sys s | peak RSS MiB | ×glibc | "
               "×best | note |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
    time_ratios = {a: {"glibc": [], "best": []} for a in allocators}
    rss_ratios = {a: {"glibc": [], "best": []} for a in allocators}
    for w in workloads:
        glibc = cells.get((w, "glibc"))
        best_t_name, best_t = best_peer(cells, w, peers, "wall")
        best_r_name, best_r = best_peer(cells, w, peers, "rss_mib")
        glibc_sums = glibc.checksums if glibc else []
        first = True
        for a in allocators:
            c = cells.get((w, a))
            if c is None:
                continue
            notes = []
            if c.ok < c.runs:
                notes.append("%d/%d failed (%s)" % (c.runs - c.ok, c.runs, ", ".join(c.failures)))
            if len(c.checksums) > 1:
                notes.append("checksum varies between runs")
            elif glibc_sums and c.checksums and c.checksums != glibc_sums:
                notes.append("checksum differs from glibc")
            if a == best_t_name:
                notes.append("fastest peer")
            if "hp_arrays" in c.metrics:
                notes.append("huge pages %.0f%% arrays, %.0f%% realloc" %
                             (c.metrics["hp_arrays"], c.metrics.get("hp_realloc", -1)))
            tg = ratio(c.wall, glibc.wall if glibc else None)
            tb = ratio(c.wall, best_t)
            rg = ratio(c.rss_mib, glibc.rss_mib if glibc else None)
            rb = ratio(c.rss_mib, best_r)
            for d, key, v in ((time_ratios, "glibc", tg), (time_ratios, "best", tb),
                              (rss_ratios, "glibc", rg), (rss_ratios, "best", rb)):
                if v is not None:
                    d[a][key].append(v)
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                labels[w] if first else "", a, fmt_num(c.wall, 3), fmt_ratio(tg), fmt_ratio(tb),
                fmt_num(c.sys, 2), fmt_num(c.rss_mib, 1), fmt_ratio(rg), fmt_ratio(rb),
                "; ".join(notes)))
            first = False
    first = True
    for a in allocators:
        out.append("| %s | %s | | %s | %s | | | %s | %s | |" % (
            "**geometric mean**" if first else "", a,
            fmt_ratio(geomean(time_ratios[a]["glibc"])), fmt_ratio(geomean(time_ratios[a]["best"])),
            fmt_ratio(geomean(rss_ratios[a]["glibc"])), fmt_ratio(geomean(rss_ratios[a]["best"]))))
        first = False
    out.append("")

    # Big arrays: the phases, per allocator.
    phase_rows = []
    for w in workloads:
        for a in allocators:
            c = cells.get((w, a))
            if c and "gups_s" in c.metrics:
                m = c.metrics
                phase_rows.append("| %s | %.3f | %.3f | %.3f | %.1f | %.1f |" % (
                    a, m.get("first_touch_s", float("nan")), m.get("gups_s", float("nan")),
                    m.get("realloc_s", float("nan")), m.get("hp_arrays", -1),
                    m.get("hp_realloc", -1)))
    if phase_rows:
        out.append("Big arrays by phase (medians): first touch, random updates, realloc growth; "
                   "huge-page coverage (AnonHugePages / Anonymous, %) with the arrays live and "
                   "with the grown buffer live.")
        out.append("")
        out.append("| allocator | first touch s | updates s | realloc s | huge pages arrays % | "
                   "huge pages realloc % |")
        out.append("|---|--:|--:|--:|--:|--:|")
        out.extend(phase_rows)
        out.append("")

    # Callgrind: instructions per small-churn iteration.
    cg = {}
    if callgrind:
        out.append("Instructions per small-churn iteration (one malloc + one free + the loop), "
                   "callgrind, (Ir(%s iterations) − Ir(%s)) / %s:" % (
                       callgrind[0]["big_iters"], callgrind[0]["small_iters"],
                       callgrind[0]["big_iters"] - callgrind[0]["small_iters"]))
        out.append("")
        out.append("| allocator | instructions / iteration |")
        out.append("|---|--:|")
        for row in callgrind:
            if row["per_iter"] is None:
                out.append("| %s | failed |" % row["alloc"])
            else:
                cg[row["alloc"]] = row["per_iter"]
                out.append("| %s | %.1f |" % (row["alloc"], row["per_iter"]))
        out.append("")

    out.extend(goals(workloads, labels, cells, peers, time_ratios, rss_ratios, cg))
    return "\n".join(out) + "\n"


def goals(workloads, labels, cells, peers, time_ratios, rss_ratios, cg):
    """The goals of issue 4, checked against this run's figures."""
    if not any(k[1] == POOL for k in cells):
        return []
    lines = ["Goals (issue 4), from this run:"]

    failed = [labels[w] for w in workloads
              if cells.get((w, POOL)) is None or cells[(w, POOL)].wall is None]

    def mark(ok):
        return "met" if ok and not failed else "NOT met"

    if failed:
        lines.append("- pool has no result (every run failed) on: %s — so no goal is met"
                     % ", ".join(failed))

    pool_t = geomean(time_ratios[POOL]["glibc"])
    peer_t = {a: geomean(time_ratios[a]["glibc"]) for a in peers}
    peer_t = {a: v for a, v in peer_t.items() if v is not None}
    if pool_t is not None and peer_t:
        best = min(peer_t, key=peer_t.get)
        lines.append("- geometric-mean time below every other allocator's: pool %.2f× glibc, best "
                     "other %s %.2f× — %s" % (pool_t, best, peer_t[best],
                                              mark(pool_t < peer_t[best])))
    worst_name, worst = None, None
    for w in workloads:
        c = cells.get((w, POOL))
        _, best_t = best_peer(cells, w, peers, "wall")
        r = ratio(c.wall if c else None, best_t)
        if r is not None and (worst is None or r > worst):
            worst_name, worst = labels[w], r
    if worst is not None:
        lines.append("- no workload slower than 1.25× the best allocator on it: worst is %s at "
                     "%.2f× — %s" % (worst_name, worst, mark(worst <= 1.25)))
    pool_r = geomean(rss_ratios[POOL]["glibc"])
    peer_r = {a: geomean(rss_ratios[a]["glibc"]) for a in peers if not a.startswith("glibc")}
    peer_r = {a: v for a, v in peer_r.items() if v is not None}
    if pool_r is not None and peer_r:
        best = min(peer_r, key=peer_r.get)
        lines.append("- geometric-mean peak RSS at most the best peer's: pool %.2f× glibc, %s %.2f× "
                     "— %s" % (pool_r, best, peer_r[best], mark(pool_r <= peer_r[best])))
    if POOL in cg and "mimalloc" in cg:
        lines.append("- callgrind instructions per small-churn iteration below mimalloc's: pool "
                     "%.1f, mimalloc %.1f — %s" % (cg[POOL], cg["mimalloc"],
                                                   mark(cg[POOL] < cg["mimalloc"])))
    for w in workloads:
        c = cells.get((w, POOL))
        if c is None or "hp_arrays" not in c.metrics:
            continue
        cov = min(c.metrics["hp_arrays"], c.metrics.get("hp_realloc", 0.0))
        lines.append("- big arrays: at least 90 %% in huge pages, the grown buffer included: "
                     "%.0f %% arrays, %.0f %% realloc — %s" % (
                         c.metrics["hp_arrays"], c.metrics.get("hp_realloc", 0.0),
                         mark(cov >= 90.0)))
        others = [(a, cells[(w, a)].wall) for a in peers
                  if (w, a) in cells and cells[(w, a)].wall is not None]
        if c.wall is not None and others:
            best_a, best_v = min(others, key=lambda x: x[1])
            lines.append("- big arrays: wall time below every other allocator's: pool %.3f s, best "
                         "other %s %.3f s — %s" % (c.wall, best_a, best_v, mark(c.wall < best_v)))
    return lines


def read_callgrind(path):
    rows = []
    for alloc, si, sir, bi, bir in tab_rows(path, 5, optional=True):
        try:
            per = (float(bir) - float(sir)) / (int(bi) - int(si))
        except (ValueError, ZeroDivisionError):
            per = None
        rows.append({"alloc": alloc, "small_iters": int(si), "big_iters": int(bi),
                     "per_iter": per})
    return rows


def write_doc(path, text, begin=BEGIN, end_marker=END):
    """Replaces the text between the two markers (appends a marked block when they are absent)."""
    block = begin + "\n" + text + end_marker
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Performance\n\n"
    start = doc.find(begin)
    end = doc.find(end_marker, start + 1) if start >= 0 else -1
    if start >= 0 and end >= 0:
        doc = doc[:start] + block + doc[end + len(end_marker):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)


def micro(directory, allocators):
    """One row per micro-benchmark, nanoseconds per operation under each allocator."""
    results = {}
    names = []
    for a in allocators:
        path = os.path.join(directory, a + ".json")
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        for b in data.get("benchmarks", []):
            name = b["name"]
            if name not in names:
                names.append(name)
            if "items_per_second" in b and b["items_per_second"] > 0:
                ns = 1e9 / b["items_per_second"]
            else:
                scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(b.get("time_unit"), 1.0)
                ns = b["real_time"] * scale
            results[(name, a)] = ns
    out = ["ns per operation (Google Benchmark, items_per_second where set, else real time "
           "per iteration)", "",
           "| benchmark | " + " | ".join(allocators) + " |",
           "|---|" + "--:|" * len(allocators)]
    for n in names:
        cells = ["%.1f" % results[(n, a)] if (n, a) in results else "—" for a in allocators]
        out.append("| %s | %s |" % (n, " | ".join(cells)))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# The recorder's tracing table (issue 5).

TRACING_BEGIN = "<!-- bench-tracing:begin -->"
TRACING_END = "<!-- bench-tracing:end -->"

# Tracing configurations: name -> (column heading, the untraced configuration it is paired with).
TRACED = [
    ("pool-full", "pool full", "pool"),
    ("pool-sampled", "pool sampled", "pool"),
    ("libc-full", "libc full", "glibc"),
    ("libc-sampled", "libc sampled", "glibc"),
    ("heaptrack", "heaptrack", "glibc"),
]
BASELINE_OF = {name: base for name, _, base in TRACED}
SAMPLED_LIMIT = 1.03


def read_tracing_runs(path):
    """workload label config pass status wall checksum note, one line per run."""
    return [{"workload": workload, "label": label, "config": config, "pass": int(pss),
             "status": status, "wall": float(wall), "checksum": checksum, "note": note}
            for workload, label, config, pss, status, wall, checksum, note in tab_rows(path, 8)]


def read_trace_sizes(path):
    """workload config bytes events files flags -> {(workload, config): dict}."""
    return {(workload, config): {"bytes": int_or_none(nbytes), "events": int_or_none(events),
                                 "files": files, "flags": "" if flags == "-" else flags}
            for workload, config, nbytes, events, files, flags in tab_rows(path, 6, optional=True)}


class Pairs:
    """The interleaved pairs of one traced configuration with its untraced one on a workload."""

    def __init__(self, runs, workload, config, base):
        mine = {r["pass"]: r for r in runs if r["workload"] == workload and r["config"] == config}
        theirs = {r["pass"]: r for r in runs if r["workload"] == workload and r["config"] == base}
        self.passes = len(mine)
        self.failures = sorted({r["status"] for r in mine.values() if r["status"] != "ok"})
        self.failed = sum(1 for r in mine.values() if r["status"] != "ok")
        self.ratios = [mine[p]["wall"] / theirs[p]["wall"] for p in sorted(mine)
                       if p in theirs and mine[p]["status"] == "ok"
                       and theirs[p]["status"] == "ok" and theirs[p]["wall"] > 0]
        self.ratio = statistics.median(self.ratios) if self.ratios else None
        ok = [r for r in mine.values() if r["status"] == "ok"]
        self.wall = statistics.median(r["wall"] for r in ok) if ok else None
        self.checksums = sorted({r["checksum"] for r in ok})
        self.base_checksums = sorted({r["checksum"] for r in theirs.values()
                                      if r["status"] == "ok"})
        self.notes = sorted({r["note"] for r in mine.values() if r["note"] not in ("", "-")})


def fmt_x(r):
    return "—" if r is None else ("%.2f×" % r if r < 10 else "%.1f×" % r)


def per_iteration(row):
    try:
        return (float(row[4]) - float(row[2])) / (int(row[3]) - int(row[1]))
    except (ValueError, ZeroDivisionError, IndexError):
        return None


def read_tracing_callgrind(path):
    return list(tab_rows(path, 5, optional=True))


def tracing(runs, sizes, cg_rows, meta):
    configs = meta.get("configs", "").split()
    traced = [t for t in TRACED if t[0] in configs]
    workloads, labels = [], {}
    for r in runs:
        if r["workload"] not in labels:
            workloads.append(r["workload"])
            labels[r["workload"]] = r["label"]
    npairs = meta.get("pairs", "?")
    out = []
    out.extend(header_lines(meta, "Tools"))
    out.append("")
    out.append("Wall time traced / untraced, median of the per-pair ratios over %s interleaved "
               "pairs; `pool …` against the pool engine untraced, `libc …` (POOLSCOPE_ENGINE=libc) "
               "and heaptrack against plain glibc:" % npairs)
    out.append("")
    out.append("| workload | glibc s | pool s | " + " | ".join(t[1] for t in traced) + " | note |")
    out.append("|---|--:|--:|" + "--:|" * len(traced) + "---|")
    pairs = {}
    base_walls = {}
    for w in workloads:
        for b in ("glibc", "pool"):
            ok = [r["wall"] for r in runs if r["workload"] == w and r["config"] == b
                  and r["status"] == "ok"]
            base_walls[(w, b)] = statistics.median(ok) if ok else None
        cells, notes = [], []
        for name, heading, base in traced:
            pr = Pairs(runs, w, name, base)
            pairs[(w, name)] = pr
            cells.append(fmt_x(pr.ratio))
            if pr.failed:
                notes.append("%s: %d/%d failed (%s)" % (heading, pr.failed, pr.passes,
                                                        ", ".join(pr.failures)))
            if len(pr.checksums) > 1:
                notes.append("%s: checksum varies" % heading)
            elif pr.checksums and pr.base_checksums and pr.checksums != pr.base_checksums:
                notes.append("%s: checksum differs from untraced" % heading)
            for n in pr.notes:
                notes.append("%s: %s" % (heading, n))
        for b in ("glibc", "pool"):
            bad = sorted({r["status"] for r in runs if r["workload"] == w and r["config"] == b
                          and r["status"] != "ok"})
            if bad:
                notes.append("%s untraced failed (%s)" % (b, ", ".join(bad)))
        out.append("| %s | %s | %s | %s | %s |" % (
            labels[w], fmt_num(base_walls[(w, "glibc")], 3), fmt_num(base_walls[(w, "pool")], 3),
            " | ".join(cells), "; ".join(notes)))
    out.append("")

    # Trace bytes per event.
    def bpe(w, c):
        s = sizes.get((w, c))
        if not s or s["bytes"] is None or not s["events"]:
            return None
        return s["bytes"] / s["events"]

    def mib(w, c):
        s = sizes.get((w, c))
        return None if not s or s["bytes"] is None else s["bytes"] / 1048576.0

    def events(w, c):
        s = sizes.get((w, c))
        return None if not s else s["events"]

    out.append("Trace size per event, from the first pass: poolscope's file size / (allocations + "
               "frees + reallocs) as `poolscope report` counts them; heaptrack's .zst / "
               "(allocations + frees), allocations from heaptrack_print's summary, frees = "
               "allocations − leaked allocations (a realloc is one of each). Sampled traces: "
               "size only.")
    out.append("")
    out.append("| workload | pool full events | pool full MiB | pool full B/event | libc full "
               "B/event | heaptrack events | heaptrack MiB | heaptrack B/event | sampled KiB "
               "pool / libc | note |")
    out.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for w in workloads:
        notes = []
        for c in ("pool-full", "libc-full", "pool-sampled", "libc-sampled", "heaptrack"):
            s = sizes.get((w, c))
            if s and s["flags"]:
                notes.append("%s: %s" % (c, s["flags"]))
        samp = []
        for c in ("pool-sampled", "libc-sampled"):
            m = mib(w, c)
            samp.append("—" if m is None else "%.1f" % (m * 1024))
        ev_p, ev_h = events(w, "pool-full"), events(w, "heaptrack")
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            labels[w], "—" if ev_p is None else "{:,}".format(ev_p).replace(",", " "),
            fmt_num(mib(w, "pool-full"), 2), fmt_num(bpe(w, "pool-full"), 2),
            fmt_num(bpe(w, "libc-full"), 2),
            "—" if ev_h is None else "{:,}".format(ev_h).replace(",", " "),
            fmt_num(mib(w, "heaptrack"), 2), fmt_num(bpe(w, "heaptrack"), 2), " / ".join(samp),
            "; ".join(notes)))
    out.append("")

    # Callgrind on small churn.
    cg = {}
    if cg_rows:
        out.append("Callgrind, small churn: instructions per iteration, (Ir(%s iterations) − "
                   "Ir(%s)) / %d, so start-up and exit cancel out; the traced ones also as a "
                   "ratio to their untraced configuration (the writer thread's work included):" % (
                       cg_rows[0][3], cg_rows[0][1], int(cg_rows[0][3]) - int(cg_rows[0][1])))
        out.append("")
        out.append("| configuration | instructions / iteration | × untraced |")
        out.append("|---|--:|--:|")
        for row in cg_rows:
            cg[row[0]] = per_iteration(row)
        for row in cg_rows:
            name = row[0]
            v = cg[name]
            base = BASELINE_OF.get(name)
            r = ratio(v, cg.get(base)) if base else None
            out.append("| %s | %s | %s |" % (
                name, "failed" if v is None else "%.1f" % v,
                "" if base is None else "%s (vs %s)" % (fmt_x(r), base)))
        out.append("")

    out.extend(tracing_goals(workloads, labels, pairs, sizes, cg, bpe, configs))
    return "\n".join(out) + "\n"


def full_limit(heaptrack_ratio):
    """`full` may cost a third of heaptrack's slowdown: the slowdown is the time added, ratio − 1
    (a third of the ratio itself would ask a 2× tracer for 0.67×, faster than untraced)."""
    return 1.0 + max(heaptrack_ratio - 1.0, 0.0) / 3.0


def tracing_goals(workloads, labels, pairs, sizes, cg, bpe, configs):
    """The goals of issue 5, checked against this run's figures, for each engine."""
    lines = ["Goals (issue 5), from this run:"]
    have_ht = "heaptrack" in configs

    def verdict(ok):
        return "met" if ok else "NOT met"

    for engine in ("pool", "libc"):
        full, sampled = engine + "-full", engine + "-sampled"
        if full in configs and have_ht:
            parts, ok = [], True
            for w in workloads:
                r = pairs[(w, full)].ratio
                h = pairs[(w, "heaptrack")].ratio
                if r is None or h is None:
                    parts.append("%s no result" % labels[w])
                    ok = False
                    continue
                limit = full_limit(h)
                good = r <= limit
                ok = ok and good
                parts.append("%s %s (heaptrack %s, limit %s)%s" % (
                    labels[w], fmt_x(r), fmt_x(h), fmt_x(limit), "" if good else " ✗"))
            lines.append("- `full`, %s engine: slowdown at most ⅓ of heaptrack's on every "
                         "workload, i.e. ratio ≤ 1 + (heaptrack's − 1) / 3: %s — %s" % (
                             engine, "; ".join(parts), verdict(ok)))
            parts, ok = [], True
            for w in workloads:
                mine, ht = bpe(w, full), bpe(w, "heaptrack")
                if mine is None or ht is None:
                    parts.append("%s no result" % labels[w])
                    ok = False
                    continue
                good = mine <= ht / 2.0
                ok = ok and good
                parts.append("%s %.2f (heaptrack %.2f)%s" % (labels[w], mine, ht,
                                                              "" if good else " ✗"))
            lines.append("- `full`, %s engine: trace bytes per event at most half of heaptrack's: "
                         "%s — %s" % (engine, "; ".join(parts), verdict(ok)))
        if sampled in configs:
            parts, ok = [], True
            for w in workloads:
                r = pairs[(w, sampled)].ratio
                if r is None:
                    parts.append("%s no result" % labels[w])
                    ok = False
                    continue
                good = r <= SAMPLED_LIMIT
                ok = ok and good
                parts.append("%s %s%s" % (labels[w], fmt_x(r), "" if good else " ✗"))
            base = "pool untraced" if engine == "pool" else "glibc"
            lines.append("- `sampled`, %s engine: wall time at most %.2f× %s on every workload: "
                         "%s — %s" % (engine, SAMPLED_LIMIT, base, "; ".join(parts), verdict(ok)))
            if cg:
                r = ratio(cg.get(sampled), cg.get(BASELINE_OF[sampled]))
                if r is None:
                    lines.append("- `sampled`, %s engine: callgrind instructions on small churn at "
                                 "most %.2f× untraced: no result — NOT met" % (engine,
                                                                               SAMPLED_LIMIT))
                else:
                    lines.append("- `sampled`, %s engine: callgrind instructions on small churn at "
                                 "most %.2f× untraced: %.1f vs %.1f per iteration, %s — %s" % (
                                     engine, SAMPLED_LIMIT, cg[sampled],
                                     cg[BASELINE_OF[sampled]], fmt_x(r),
                                     verdict(r <= SAMPLED_LIMIT)))
    return lines


# ---------------------------------------------------------------------------------------------
# The report-speed section (issue 6).

REPORT_BEGIN = "<!-- bench-report:begin -->"
REPORT_END = "<!-- bench-report:end -->"
REPORT_SPEEDUP = 5.0


def read_report_runs(path):
    return [{"config": config, "pass": int(pss), "status": status, "wall": float(wall),
             "rss_kb": float(rss)}
            for config, pss, status, wall, rss in tab_rows(path, 5)]


def int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def fmt_count(n):
    return "—" if n is None else "{:,}".format(n).replace(",", " ")


def report_speed(runs, meta):
    ps_events = int_or_none(meta.get("poolscope_events"))
    ht_events = int_or_none(meta.get("heaptrack_events"))
    ps_bytes = int_or_none(meta.get("poolscope_bytes"))
    ht_bytes = int_or_none(meta.get("heaptrack_bytes"))
    rows = [
        ("poolscope", "`poolscope report TRACE` (text)", ps_events, ps_bytes),
        ("poolscope-nosym", "`poolscope report TRACE --sysroot /nonexistent` (nothing "
         "symbolized)", ps_events, ps_bytes),
        ("heaptrack_print", "`heaptrack_print -f TRACE.zst` (output to /dev/null)", ht_events,
         ht_bytes),
    ]
    med = {}
    for name, _, events, _ in rows:
        sel = [r for r in runs if r["config"] == name]
        ok = [r for r in sel if r["status"] == "ok"]
        wall = statistics.median(r["wall"] for r in ok) if ok else None
        rss = statistics.median(r["rss_kb"] for r in ok) / 1024.0 if ok else None
        rate = events / wall / 1e6 if events and wall else None
        failures = sorted({r["status"] for r in sel if r["status"] != "ok"})
        med[name] = {"runs": len(sel), "ok": len(ok), "wall": wall, "rss": rss, "rate": rate,
                     "failures": failures}
    out = []
    out.extend(header_lines(meta, "Tools"))
    if meta.get("flags"):
        out.append("Flags: %s" % meta["flags"])
    out.append("")
    out.append("One program, `%s` (small churn), recorded once by poolscope (POOLSCOPE_TRACE=full, "
               "pool engine) and once by heaptrack (`heaptrack -o FILE`); each analysis timed end "
               "to end by tests/bench/measure, median of %s runs. Events: allocations + frees + "
               "reallocs from `poolscope report`'s calls line; for heaptrack, allocations from "
               "heaptrack_print's summary and frees = allocations − leaked allocations. Peak RSS "
               "is the analysing process's." % (meta.get("program", "?"), meta.get("passes", "?")))
    out.append("")
    out.append("| analysis | events | trace MiB | time s | M events/s | peak RSS MiB | note |")
    out.append("|---|--:|--:|--:|--:|--:|---|")
    for name, label, events, nbytes in rows:
        m = med[name]
        if m["runs"] == 0:
            continue
        note = ""
        if m["failures"]:
            note = "%d/%d failed (%s)" % (m["runs"] - m["ok"], m["runs"], ", ".join(m["failures"]))
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, fmt_count(events), fmt_num(None if nbytes is None else nbytes / 1048576.0, 1),
            fmt_num(m["wall"], 3), fmt_num(m["rate"], 1), fmt_num(m["rss"], 1), note))
    out.append("")
    ps, nosym, ht = med["poolscope"], med["poolscope-nosym"], med["heaptrack_print"]
    if ps["wall"] is not None and nosym["wall"] is not None:
        sym = ps["wall"] - nosym["wall"]
        out.append("Symbolization (median with modules − median without): %.3f s, %.0f %% of "
                   "`poolscope report`'s time, %s MiB of its peak RSS; without it poolscope "
                   "reads %s M events/s." % (
                       sym, 100.0 * sym / ps["wall"] if ps["wall"] > 0 else 0.0,
                       fmt_num(None if ps["rss"] is None or nosym["rss"] is None
                               else ps["rss"] - nosym["rss"], 1), fmt_num(nosym["rate"], 1)))
        out.append("")
    out.append("Goal (issue 6), from this run:")
    if ps["rate"] is None or ht["rate"] is None:
        out.append("- `poolscope report` at least %.0f× heaptrack_print's events/s with no more "
                   "peak RSS: no result — NOT met" % REPORT_SPEEDUP)
    else:
        speed = ps["rate"] / ht["rate"]
        fast = speed >= REPORT_SPEEDUP
        lean = ps["rss"] <= ht["rss"]
        out.append("- `poolscope report` at least %.0f× heaptrack_print's events/s: %.1f vs %.1f M "
                   "events/s, %s%s" % (REPORT_SPEEDUP, ps["rate"], ht["rate"], fmt_x(speed),
                                       "" if fast else " ✗"))
        out.append("- with no more peak RSS: %.1f vs %.1f MiB%s" % (ps["rss"], ht["rss"],
                                                                   "" if lean else " ✗"))
        out.append("- goal %s" % ("met" if fast and lean else "NOT met"))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) >= 5 and argv[1] == "table":
        runs = read_results(argv[2])
        cg = read_callgrind(argv[3])
        meta = read_meta(argv[4])
        text = table(runs, cg, meta)
        sys.stdout.write(text)
        if len(argv) >= 7 and argv[5] == "--doc":
            write_doc(argv[6], text)
        return 0
    if len(argv) >= 6 and argv[1] == "tracing":
        runs = read_tracing_runs(argv[2])
        sizes = read_trace_sizes(argv[3])
        cg = read_tracing_callgrind(argv[4])
        meta = read_meta(argv[5])
        text = tracing(runs, sizes, cg, meta)
        sys.stdout.write(text)
        if len(argv) >= 8 and argv[6] == "--doc":
            write_doc(argv[7], text, TRACING_BEGIN, TRACING_END)
        return 0
    if len(argv) >= 4 and argv[1] == "report":
        runs = read_report_runs(argv[2])
        meta = read_meta(argv[3])
        text = report_speed(runs, meta)
        sys.stdout.write(text)
        if len(argv) >= 6 and argv[4] == "--doc":
            write_doc(argv[5], text, REPORT_BEGIN, REPORT_END)
        return 0
    if len(argv) >= 3 and argv[1] == "micro":
        sys.stdout.write(micro(argv[2], argv[3:]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
