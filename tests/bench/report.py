#!/usr/bin/python3
"""Turns scripts/bench.sh's raw results into the table it prints and writes into
docs/PERFORMANCE.md. Nothing here measures; every figure comes from the files it reads.

usage:
  report.py table RESULTS.tsv CALLGRIND.tsv META.txt [--doc docs/PERFORMANCE.md]
  report.py micro MICRO_DIR ALLOCATOR...

RESULTS.tsv, one line per run, tab-separated:
  workload label allocator pass status wall_s user_s sys_s maxrss_kb checksum metrics
  (metrics: space-separated key=value pairs the workload printed on a `metrics` line, or -)
CALLGRIND.tsv: allocator small_iters small_ir big_iters big_ir (ir empty when the run failed)
META.txt: key=value lines: machine, date, mode, runs, commit, versions, notes, allocators
  (the column order), peers (the allocators poolscope is compared with).
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


def read_results(path):
    runs = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 11:
                continue
            workload, label, alloc, pss, status, wall, user, sys_s, rss, checksum, metrics = fields[:11]
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
    out.append("Machine: %s" % meta.get("machine", "?"))
    out.append("Date: %s · %s · poolscope %s" % (meta.get("date", "?"), meta.get("mode", "?"),
                                                 meta.get("commit", "?")))
    if meta.get("versions"):
        out.append("Allocators: %s" % meta["versions"])
    if meta.get("notes"):
        out.append("Notes: %s" % meta["notes"])
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
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                continue
            alloc, si, sir, bi, bir = fields[:5]
            per = None
            try:
                per = (float(bir) - float(sir)) / (int(bi) - int(si))
            except (ValueError, ZeroDivisionError):
                per = None
            rows.append({"alloc": alloc, "small_iters": int(si), "big_iters": int(bi),
                         "per_iter": per})
    return rows


def write_doc(path, text):
    block = BEGIN + "\n" + text + END
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Performance\n\n"
    start = doc.find(BEGIN)
    end = doc.find(END, start + 1) if start >= 0 else -1
    if start >= 0 and end >= 0:
        doc = doc[:start] + block + doc[end + len(END):]
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
    if len(argv) >= 3 and argv[1] == "micro":
        sys.stdout.write(micro(argv[2], argv[3:]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
