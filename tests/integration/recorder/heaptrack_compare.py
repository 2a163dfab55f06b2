"""Compares a poolscope trace of tests/integration/recorder/deterministic.cc with heaptrack's
recording of the same program, and both with the program's own books.

heaptrack's data file (heaptrack_interpret's output, text compressed with zstd, or gzip) is read directly, so
every figure is exact: lines `s LEN TEXT` (strings, numbered from 1), `i IP MODULE FUNC [FILE
LINE] [FUNC FILE LINE]...` (instruction pointers, from 1), `t IP PARENT` (traces, from 1),
`a SIZE TRACE` (allocation infos, from 0), `+ INFO` (an allocation), `- INFO` (a free).
Sizes and indices are hexadecimal. A realloc is a `-` then a `+`.

An allocation belongs to the workload when its stack holds the function WORKLOAD (heaptrack's
symbolization) or, for poolscope, when it lies between the marks work-begin and work-end (as
printed by `trace_probe allocs`). Everything else happened outside the program's work: the
start-up allocations of libc, libstdc++ and the loader, and stdio's buffer. Those that differ
between the two tools are listed by name; the workload's figures must match exactly.

Usage: heaptrack_compare.py HEAPTRACK.zst|.gz PROBE_ALLOCS.txt PROGRAM_STDOUT PROGRAM WORKLOAD
Exit 0 when the figures match, 1 otherwise (with the reason).
"""

import collections
import gzip
import subprocess
import sys


def parse_heaptrack(path, workload):
    if path.endswith(".gz"):  # heaptrack compresses with gzip when zstd is not installed
        with gzip.open(path) as f:
            text = f.read()
    else:
        text = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    strings = [""]
    ips = [[]]  # function names per instruction pointer (with inlined frames)
    traces = [(0, 0)]
    infos = []
    events = []
    for raw in text.split(b"\n"):
        if not raw:
            continue
        kind = raw[:1]
        if kind == b"s":
            _, length, rest = raw.split(b" ", 2)
            strings.append(rest[: int(length, 16)].decode(errors="replace"))
        elif kind == b"i":
            parts = raw.split()
            # IP MODULE, then frames of (function, file, line); the last may be function only.
            functions = [int(p, 16) for p in parts[3::3]]
            module = int(parts[2], 16)
            ips.append((module, functions))
        elif kind == b"t":
            _, ip, parent = raw.split()
            traces.append((int(ip, 16), int(parent, 16)))
        elif kind == b"a":
            _, size, trace = raw.split()
            infos.append((int(size, 16), int(trace, 16)))
        elif kind in (b"+", b"-"):
            events.append((kind == b"+", int(raw.split()[1], 16)))

    def stack_names(trace):
        names = []
        seen = 0
        while trace != 0 and seen < 256:
            ip, trace = traces[trace]
            module, functions = ips[ip]
            if functions:
                names.extend(strings[f] or "??" for f in functions)
            else:
                names.append("?? in " + strings[module])
            seen += 1
        return names

    info_names = [stack_names(trace) for _, trace in infos]
    in_workload = [workload in names for names in info_names]
    return strings, infos, info_names, in_workload, events


def main():
    ht_path, probe_path, stdout_path, program, workload = sys.argv[1:6]
    expected = dict(line.split("=", 1) for line in open(stdout_path).read().split())
    expected = {k: int(v) for k, v in expected.items()}
    problems = []

    # heaptrack: the workload's figures, and what happened outside it.
    _, infos, info_names, in_workload, events = parse_heaptrack(ht_path, workload)
    ht = collections.Counter()
    live = peak = 0
    live_blocks = collections.Counter()
    ht_outside = collections.Counter()
    ht_outside_names = {}
    for is_alloc, index in events:
        size = infos[index][0]
        if not in_workload[index]:
            if is_alloc:
                ht_outside[size] += 1
                ht_outside_names.setdefault(size, info_names[index])
            continue
        if is_alloc:
            ht["calls"] += 1
            ht["bytes"] += size
            live += size
            live_blocks[index] += 1
            peak = max(peak, live)
        else:
            ht["frees"] += 1
            live -= size
            live_blocks[index] -= 1
    ht["peak"] = peak
    ht["leaked_bytes"] = live
    ht["leaked_blocks"] = sum(live_blocks.values())

    want_calls = expected["allocations"] + expected["reallocs"]
    for key, want in [("calls", want_calls), ("bytes", expected["bytes"]),
                      ("peak", expected["peak"]), ("leaked_bytes", expected["leaked_bytes"]),
                      ("leaked_blocks", expected["leaked_blocks"]),
                      # heaptrack sees a realloc as a free and an allocation
                      ("frees", expected["frees"] + expected["reallocs"])]:
        status = "ok" if ht[key] == want else "MISMATCH"
        print(f"heaptrack {workload}: {key} {ht[key]} (program: {want}) {status}")
        if ht[key] != want:
            problems.append(f"heaptrack's {key} in {workload} is {ht[key]}, the program says {want}")

    # poolscope: the allocations outside the marked work, by size, with their stacks.
    ps_outside = collections.Counter()
    ps_outside_frames = {}
    ps_inside = 0
    inside_without_workload_frame = 0
    lo, hi = workload_range(program, workload)
    for line in open(probe_path):
        fields = line.split()
        where, size, frames = fields[0], int(fields[1]), fields[2:]
        if where == "in":
            ps_inside += 1
            if not any(in_range(f, program, lo, hi) for f in frames):
                inside_without_workload_frame += 1
        else:
            ps_outside[size] += 1
            ps_outside_frames.setdefault(size, frames)
    print(f"poolscope: {ps_inside} allocation events inside the marks (program: {want_calls})")
    if ps_inside != want_calls:
        problems.append(f"poolscope has {ps_inside} allocation events inside the marks, "
                        f"the program made {want_calls}")
    if inside_without_workload_frame:
        problems.append(f"{inside_without_workload_frame} of poolscope's allocations inside the "
                        f"marks have no frame in {workload}() in their recorded stack")
    else:
        print(f"poolscope: every allocation inside the marks has {workload}() on its stack")

    total_ht = sum(1 for is_alloc, _ in events if is_alloc)
    total_ps = ps_inside + sum(ps_outside.values())
    print(f"whole program: heaptrack {total_ht} allocation events, poolscope {total_ps}; "
          f"outside {workload}: heaptrack {sum(ht_outside.values())}, "
          f"poolscope {sum(ps_outside.values())}")
    listed = 0
    for size in sorted(set(ht_outside) | set(ps_outside)):
        diff = ps_outside[size] - ht_outside[size]
        if diff == 0:
            continue
        listed += 1
        if diff < 0:
            names = [n for n in ht_outside_names[size] if not is_allocator(n)][:4]
            print(f"  only heaptrack sees {-diff} x {size} B outside main's work, from "
                  f"{' < '.join(names) or 'an unknown stack'}")
        else:
            names = symbolize(ps_outside_frames[size])[:4]
            print(f"  only poolscope sees {diff} x {size} B outside main's work, from "
                  f"{' < '.join(names) or 'an unrecorded stack (before the unwinder loaded)'}")
    if listed == 0:
        print("  no start-up allocation differs")
    same = [s for s in sorted(set(ht_outside) & set(ps_outside)) if ht_outside[s] == ps_outside[s]]
    for size in same:
        names = [n for n in ht_outside_names[size] if not is_allocator(n)][:3]
        print(f"  both see {ps_outside[size]} x {size} B outside main's work, from "
              f"{' < '.join(names)}")

    if problems:
        for p in problems:
            print("FAIL: " + p, file=sys.stderr)
        return 1
    return 0


def is_allocator(name):
    return name in ("malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc",
                    "operator new(unsigned long)", "operator new[](unsigned long)",
                    "_Znwm", "_Znam", "??")


def workload_range(program, workload):
    out = subprocess.run(["nm", "-S", "--defined-only", program], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] == workload:
            start = int(parts[0], 16)
            return start, start + int(parts[1], 16)
    raise SystemExit(f"{workload} not found in {program}")


def in_range(frame, program, lo, hi):
    if "+0x" not in frame:
        return False
    module, offset = frame.rsplit("+0x", 1)
    return module == program and lo <= int(offset, 16) < hi


def symbolize(frames):
    names = []
    for frame in frames:
        if "+0x" not in frame:
            names.append(frame)
            continue
        module, offset = frame.rsplit("+0x", 1)
        out = subprocess.run(["addr2line", "-f", "-C", "-e", module, "0x" + offset],
                             capture_output=True, text=True).stdout.splitlines()
        name = out[0] if out and out[0] != "??" else frame
        if not is_allocator(name) and "poolscope" not in module:
            names.append(name)
    return names


if __name__ == "__main__":
    sys.exit(main())
