#!/usr/bin/env python3
"""bench/run.py: the driver of awaitkit's benchmark (issue 4).

Runs every workload with every implementation's program, alternating the
implementations run by run, each run pinned with taskset to the same CPUs,
and prints one table; writes bench/out/results.tsv.  `make bench` builds the
programs first and then runs this.  Environment:

  BENCH=name[,name...]  run only these workloads (default: all)
  BENCH_RUNS=N          timed runs per workload and implementation (default 5),
                        after one warm-up run of each that is thrown away
                        (each program also warms up in-process first:
                        bench/README.md, "The warm-up")
  BENCH_CPUS=list       taskset CPU list for every run (default: all online
                        CPUs, as /sys/devices/system/cpu/online says)
  BENCH_ONE_CPU=n|all   the CPU the one-thread workloads (ONE_THREAD below:
                        every peer runs them on one thread) are pinned to,
                        every implementation alike (default: the last CPU
                        of BENCH_CPUS); `all` runs them on BENCH_CPUS too
  BENCH_SIZE=N          op count for every run instead of the per-workload sizes
  BENCH_TIMEOUT=S       seconds before a run is killed (default 120)
  BENCH_WORKERS=N       worker threads of the cross-thread workloads
                        (--workers N to awaitkit, tokio and Go; default 2)
  BENCH_BIN=dir         where peer-<impl> binaries are (default bench/out/bin)

Every program is invoked as `taskset -c CPUS <binary> <workload> --size N`
(CPUS is one CPU for the one-thread workloads),
runs the workload once untimed (a twentieth of N) and then one timed run,
and prints one line
  RESULT workload=W impl=I ops=N ns_per_op=F allocs_per_op=F [key=value ...]
Exit status 3 means "this implementation has no program for this workload":
the table shows a dash.  Peak RSS comes from os.wait4 (ru_maxrss, KiB).
A benchmark is never a test: nothing here asserts on time.  The driver
exits 1 only when a program failed (crashed, timed out, printed no RESULT).
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# BENCH_WORKERS=N: worker threads of the cross-thread workloads, passed as
# --workers N to the awaitkit, tokio and Go programs (default: theirs, 2).
WORKERS = int(os.environ.get("BENCH_WORKERS", "0") or 0)
OUT = os.path.join(HERE, "out")
DASH = "\u2014"

# The workloads, in the protocol's order, with the op count passed as
# --size (for broadcast_fanout the op count is deliveries, messages x 8).
# Each run should take roughly 0.5-3 s on the 2-core machine; where the
# peers are an order of magnitude apart, the slower or faster one gets its
# own count (ns/op stays comparable: it is per operation).  awaitkit runs
# the default count, which is sized on tokio: the goal is 2x tokio's speed.
WORKLOADS = [
    ("spsc_bounded", 12_000_000, {"ring": 100_000_000}),
    ("mpsc_bounded_4p", 20_000_000, {}),
    ("spsc_unbounded", 20_000_000, {"go": 2_500_000}),
    ("pingpong_oneshot", 8_000_000, {"go": 3_000_000}),
    ("pingpong_mpsc", 8_000_000, {}),
    ("broadcast_fanout", 8_000_000, {}),
    ("watch_readers", 12_000_000, {"go": 2_000_000}),
    ("mutex_contended", 8_000_000, {"go": 60_000_000}),
    ("semaphore_contended", 25_000_000, {"go": 6_000_000}),
    ("select_2chan", 10_000_000, {}),
    ("notify_pingpong", 10_000_000, {}),
    ("thread_blocking_spsc", 8_000_000, {"crossbeam": 20_000_000}),
    ("create_drop", 8_000_000, {}),
    ("idle_channels", 1_000_000, {}),  # the workload itself: a million
    # capacity 0 against Go's unbuffered chan; tokio has none (a dash)
    ("rendezvous_pingpong", 8_000_000, {}),
]

# The workloads every implementation runs on one thread (awaitkit's
# single-thread executor, tokio's current_thread runtime, Go with
# GOMAXPROCS(1); idle_channels and create_drop run no second thread
# either).  Left to the kernel on two CPUs, such a process is moved
# between them and shares one with whatever else runs, run by run: the
# same binary read 27-31 or 52-58 ns a hop (bench/README.md, "One-thread
# workloads on one CPU").  So they run pinned to one CPU, every
# implementation on the same one.
ONE_THREAD = {"pingpong_oneshot", "pingpong_mpsc", "notify_pingpong",
              "create_drop", "idle_channels", "rendezvous_pingpong"}

# Implementations on every row, in the order runs alternate; binary
# bench/out/bin/peer-<impl>.
CORE_IMPLS = ["awaitkit", "tokio", "go"]
# Reference rows that belong to one workload only.
EXTRA_IMPLS = {
    "thread_blocking_spsc": ["crossbeam"],
    "spsc_bounded": ["ring"],
    "mutex_contended": ["awaitkit-barging", "awaitkit-nodiag"],
}
# Rows of the awaitkit program run with an environment of its own: the
# mutex's opt-in modes (bench/awaitkit/mutex_contended.c).  Each is an
# awaitkit row, with its own ratios to tokio and Go.
VARIANTS = {
    "awaitkit-barging": ("awaitkit", {"BK_MUTEX_BARGING": "1"}),
    "awaitkit-nodiag": ("awaitkit", {"BK_MUTEX_NODIAG": "1"}),
}
# Where a missing binary comes from, for the note under the table.
BUILT_BY = {
    "awaitkit": "make bench (bench/awaitkit)",
    "go": "make bench (bench/go)",
    "ring": "make bench (bench/ring)",
    "tokio": "bench/rust/build.sh",
    "crossbeam": "bench/rust/build.sh",
}
# Extra keys: how several runs' values are summarised (default: median).
# spsc_unbounded's memory figures (bench/awaitkit/bench.h) are peaks: the
# largest over the runs, the ratio from the worst run.
EXTRA_SUMMARY = {"lagged": max, "peak_queued": max, "peak_mem_kib": max,
                 "mem_per_queued": max}


def env_int(name, default):
    v = os.environ.get(name, "")
    if v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        sys.exit(f"run.py: {name}={v!r} is not a number")
    if n <= 0:
        sys.exit(f"run.py: {name} must be positive")
    return n


def cpu_list(text):
    """The CPUs of a taskset list such as "0-3,6", in order."""
    cpus = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def one_cpu(cpus):
    """BENCH_ONE_CPU: the CPU of the one-thread workloads, as a list."""
    v = os.environ.get("BENCH_ONE_CPU", "")
    if v == "all":
        return cpus
    if v == "":
        return str(cpu_list(cpus)[-1])
    if not v.isdigit():
        sys.exit(f"run.py: BENCH_ONE_CPU={v!r} is not a CPU number or all")
    return v


def online_cpus():
    try:
        with open("/sys/devices/system/cpu/online") as f:
            return f.read().strip()
    except OSError:
        return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


class Run:
    """One run of one program."""

    def __init__(self):
        self.code = None       # exit status (negative: killed by signal)
        self.wall = 0.0        # seconds, as the driver saw it
        self.rss_kib = 0       # ru_maxrss
        self.fields = {}       # the RESULT line's key=value pairs
        self.err = ""          # the tail of its stderr
        self.timed_out = False


def run_one(binary, workload, size, cpus, timeout, launcher, env=None):
    """Runs `taskset -c CPUS binary workload --size N` once.

    Peak RSS: Linux keeps a process's peak RSS across execve(), and a child
    forked from this Python process starts with Python's ~13 MiB resident as
    its peak, so os.wait4() on a direct child never reports less.  When
    bench/out/bin/bench-launch exists (make bench builds it) the program runs
    as its child instead: it wait4()s the program and writes ru_maxrss to a
    pipe.  Without it the figure is os.wait4()'s own, floor included."""
    r = Run()
    cmd = ["taskset", "-c", cpus, binary, workload, "--size", str(size)]
    if WORKERS and os.path.basename(binary) in ("peer-awaitkit", "peer-tokio", "peer-go"):
        cmd += ["--workers", str(WORKERS)]
    rfd = wfd = None
    if launcher:
        rfd, wfd = os.pipe()
        cmd = [launcher, str(wfd)] + cmd
    with tempfile.TemporaryFile() as errf:
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf,
                                 stdin=subprocess.DEVNULL,
                                 env=dict(os.environ, **env) if env else None,
                                 pass_fds=(wfd,) if launcher else (),
                                 start_new_session=True)
        finally:
            if wfd is not None:
                os.close(wfd)

        def kill():
            r.timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            out = p.stdout.read().decode(errors="replace")
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        r.wall = time.monotonic() - t0
        p.stdout.close()
        r.code = os.waitstatus_to_exitcode(status)
        p.returncode = r.code  # reaped here: keep Popen from waiting again
        r.rss_kib = ru.ru_maxrss
        if rfd is not None:
            with os.fdopen(rfd, "rb") as f:
                msg = f.read().decode(errors="replace")
            r.rss_kib = 0
            for tok in msg.split():
                if tok.startswith("maxrss="):
                    r.rss_kib = int(tok[len("maxrss="):])
        errf.seek(0)
        err = errf.read().decode(errors="replace").strip().splitlines()
        r.err = err[-1] if err else ""
    for line in out.splitlines():
        if line.startswith("RESULT "):
            for tok in line.split()[1:]:
                k, sep, v = tok.partition("=")
                if sep:
                    r.fields[k] = v
    return r


def parse_result(r, workload):
    """(ns_per_op, allocs_per_op, extras) from a run, or an error string."""
    if r.timed_out:
        return "timed out"
    if r.code != 0:
        why = f"exit {r.code}" if r.code >= 0 else f"signal {-r.code}"
        return why + (f": {r.err}" if r.err else "")
    f = r.fields
    if not f:
        return "printed no RESULT line"
    if f.get("workload") != workload:
        return f"RESULT for workload {f.get('workload')!r}"
    try:
        ns = float(f["ns_per_op"])
        allocs = float(f["allocs_per_op"])
        int(f["ops"])
    except (KeyError, ValueError):
        return "RESULT lacks ops, ns_per_op or allocs_per_op"
    std = ("workload", "impl", "ops", "ns_per_op", "allocs_per_op")
    extras = {k: v for k, v in f.items() if k not in std}
    return ns, allocs, extras


class Impl:
    """What one implementation did on one workload."""

    def __init__(self, name, binary, env=None):
        self.name = name
        self.binary = binary
        self.env = env       # VARIANTS: the program's extra environment
        self.state = "run"   # run | missing | absent | failed
        self.note = ""
        self.ns = []
        self.allocs = []
        self.rss = []
        self.extras = {}     # key -> list of values
        self.reported = None  # impl= of its RESULT line


def fmt_ns(v):
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:.0f}"


def fmt_num(v):
    try:
        x = float(v)
    except ValueError:
        return v
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    if abs(x) >= 1e5:
        return f"{x:.3g}"
    return f"{x:.1f}"


def summarise_extras(im):
    out = []
    for k, vals in im.extras.items():
        try:
            nums = [float(v) for v in vals]
        except ValueError:
            out.append(f"{k}={vals[-1]}")
            continue
        agg = EXTRA_SUMMARY.get(k, statistics.median)
        out.append(f"{k}={fmt_num(agg(nums))}")
    return out


def bench_workload(workload, size, sizes, size_all, impls, runs, cpus, timeout,
                   launcher, log, runs_tsv):
    active = [im for im in impls if im.state == "run"]

    def one(im, label):
        sz = size_all or sizes.get(im.name, size)
        r = run_one(im.binary, workload, sz, cpus, timeout, launcher, im.env)
        if r.code == 3 and not r.timed_out:
            im.state = "absent"
            im.note = "no program yet"
            log(f"  {workload:<21} {im.name:<9} {label}: not implemented")
            return
        res = parse_result(r, workload)
        if isinstance(res, str):
            im.state = "failed"
            im.note = "FAILED: " + res
            log(f"  {workload:<21} {im.name:<9} {label}: FAILED ({res})")
            return
        ns, allocs, extras = res
        shape = "" if 0.5 <= r.wall <= 3.0 else "  (outside 0.5-3 s)"
        log(f"  {workload:<21} {im.name:<9} {label}: {fmt_ns(ns):>8} ns/op"
            f"  {r.wall:5.2f} s{shape}")
        if label == "warm-up":
            return
        im.reported = r.fields.get("impl")
        im.ns.append(ns)
        im.allocs.append(allocs)
        im.rss.append(r.rss_kib)
        for k, v in extras.items():
            im.extras.setdefault(k, []).append(v)
        runs_tsv.write(f"{workload}\t{im.name}\t{label}\t{sz}\t{ns}\t"
                       f"{allocs}\t{r.rss_kib}\t{r.wall:.3f}\t"
                       + " ".join(f"{k}={v}" for k, v in extras.items())
                       + "\n")

    for im in active:
        one(im, "warm-up")
    for i in range(runs):
        for im in impls:
            if im.state == "run":
                one(im, f"run {i + 1}/{runs}")


def ratio_cell(im, peer):
    """awaitkit's time over a peer's: the ratio of the medians, which every
    goal is read from, then the ratio of the minima in parentheses."""
    med = statistics.median(im.ns) / statistics.median(peer.ns)
    low = min(im.ns) / min(peer.ns)
    return f"{med:.2f} ({low:.2f})"


def table_rows(workload, impls):
    by = {im.name: im for im in impls}
    rows = []
    for im in impls:
        ok = im.state == "run" and im.ns
        row = {"workload": workload, "impl": im.name}
        if ok:
            row["min"] = fmt_ns(min(im.ns))
            row["median"] = fmt_ns(statistics.median(im.ns))
            row["allocs"] = f"{statistics.median(im.allocs):.2f}"
            row["rss"] = str(max(im.rss))
        else:
            row["min"] = "FAIL" if im.state == "failed" else DASH
            row["median"] = row["allocs"] = row["rss"] = DASH
        notes = summarise_extras(im) if ok else [im.note]
        if ok and im.reported and im.reported != VARIANTS.get(im.name, (im.name,))[0]:
            notes.append(f"reported impl={im.reported}")
        row["tokio"] = row["go"] = ""
        if im.name == "awaitkit" or im.name in VARIANTS:
            for col, peer in (("tokio", "tokio"), ("go", "go")):
                p = by.get(peer)
                if ok and p and p.state == "run" and p.ns:
                    row[col] = ratio_cell(im, p)
                else:
                    row[col] = DASH
            for extra in EXTRA_IMPLS.get(workload, []) if im.name == "awaitkit" else []:
                if extra in VARIANTS:
                    continue
                p = by.get(extra)
                if ok and p and p.state == "run" and p.ns:
                    notes.append(f"awaitkit/{extra}={ratio_cell(im, p)}")
        row["notes"] = ", ".join(n for n in notes if n)
        rows.append(row)
    return rows


COLUMNS = [
    ("workload", "workload", "<"),
    ("impl", "impl", "<"),
    ("min", "min ns/op", ">"),
    ("median", "median ns/op", ">"),
    ("tokio", "awaitkit/tokio med (min)", ">"),
    ("go", "awaitkit/Go med (min)", ">"),
    ("allocs", "allocs/op", ">"),
    ("rss", "peak RSS KiB", ">"),
    ("notes", "notes", "<"),
]


def render(rows):
    widths = {k: len(h) for k, h, _ in COLUMNS}
    shown = []
    prev = None
    for row in rows:
        row = dict(row)
        if row["workload"] == prev:
            row["workload"] = ""
        else:
            prev = row["workload"]
        shown.append(row)
        for k, _, _ in COLUMNS:
            widths[k] = max(widths[k], len(row[k]))

    def line(cells):
        parts = []
        for (k, _, al), c in zip(COLUMNS, cells):
            parts.append(f"{c:{al}{widths[k]}}")
        return "| " + " | ".join(parts) + " |"

    out = [line([h for _, h, _ in COLUMNS])]
    out.append("|" + "|".join(
        ("-" * (widths[k] + 1) + ":" if al == ">" else "-" * (widths[k] + 2))
        for k, _, al in COLUMNS) + "|")
    for row in shown:
        out.append(line([row[k] for k, _, _ in COLUMNS]))
    return "\n".join(out)


def write_tsv(path, done):
    """results.tsv: one row per workload and implementation, ns raw;
    a dash in every figure where the implementation has none."""
    with open(path, "w") as f:
        f.write("workload\timpl\tmedian_ns\tmin_ns\tmax_ns\tallocs_per_op"
                "\tpeak_rss_kib\n")
        for workload, im in done:
            if im.state == "run" and im.ns:
                cells = [f"{statistics.median(im.ns):.3f}",
                         f"{min(im.ns):.3f}", f"{max(im.ns):.3f}",
                         f"{statistics.median(im.allocs):.4f}",
                         str(max(im.rss))]
            else:
                cells = [DASH] * 5
            f.write("\t".join([workload, im.name] + cells) + "\n")


def main():
    names = [w for w, _, _ in WORKLOADS]
    only = [w for w in os.environ.get("BENCH", "").replace(",", " ").split()]
    for w in only:
        if w not in names:
            sys.exit(f"run.py: BENCH: no workload {w!r}; one of: "
                     + " ".join(names))
    runs = env_int("BENCH_RUNS", 5)
    timeout = env_int("BENCH_TIMEOUT", 120)
    size_all = env_int("BENCH_SIZE", 0) if os.environ.get("BENCH_SIZE") else 0
    cpus = os.environ.get("BENCH_CPUS", "") or online_cpus()
    bindir = os.environ.get("BENCH_BIN", "") or os.path.join(OUT, "bin")
    if subprocess.run(["taskset", "-c", cpus, "true"]).returncode != 0:
        sys.exit(f"run.py: taskset -c {cpus} does not work "
                 "(bench/deps.sh installs util-linux)")
    single = one_cpu(cpus)
    if subprocess.run(["taskset", "-c", single, "true"]).returncode != 0:
        sys.exit(f"run.py: taskset -c {single} (BENCH_ONE_CPU) does not work")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    os.makedirs(OUT, exist_ok=True)
    all_impls = CORE_IMPLS + sorted({i for v in EXTRA_IMPLS.values()
                                     for i in v})
    missing = {}
    for name in all_impls:
        b = os.path.join(bindir, "peer-" + VARIANTS.get(name, (name,))[0])
        if not os.access(b, os.X_OK):
            missing[name] = b

    launcher = os.path.join(bindir, "bench-launch")
    if not os.access(launcher, os.X_OK):
        log(f"bench: no {launcher}: peak RSS includes the driver's own "
            "resident pages (make bench builds it)")
        launcher = None

    log(f"bench: {runs} run(s) per workload after a warm-up, "
        f"pinned to CPUs {cpus} (one-thread workloads: {single}), "
        f"{os.cpu_count()} online")
    for name, b in missing.items():
        log(f"bench: no {b}: the {name} rows show {DASH} "
            f"(built by {BUILT_BY[VARIANTS.get(name, (name,))[0]]})")

    rows, done, failed = [], [], False
    with open(os.path.join(OUT, "runs.tsv"), "w") as runs_tsv:
        runs_tsv.write("workload\timpl\trun\tsize\tns_per_op\tallocs_per_op"
                       "\tpeak_rss_kib\twall_s\textra\n")
        for workload, size, sizes in WORKLOADS:
            if only and workload not in only:
                continue
            impls = []
            for name in CORE_IMPLS + EXTRA_IMPLS.get(workload, []):
                base, env = VARIANTS.get(name, (name, None))
                im = Impl(name, os.path.join(bindir, "peer-" + base), env)
                if name in missing:
                    im.state = "missing"
                    im.note = "not built"
                impls.append(im)
            bench_workload(workload, size, sizes, size_all, impls, runs,
                           single if workload in ONE_THREAD else cpus,
                           timeout, launcher, log, runs_tsv)
            failed |= any(im.state == "failed" for im in impls)
            rows.extend(table_rows(workload, impls))
            done.extend((workload, im) for im in impls)

    write_tsv(os.path.join(OUT, "results.tsv"), done)

    table = render(rows)
    head = (f"awaitkit bench: {runs} run(s) after a warm-up, CPUs {cpus} "
            f"(one-thread workloads: {single}); "
            "ns/op: lower is better; ratios: median over median "
            "(min over min), < 1 means awaitkit is faster")
    print(head)
    print(table)
    unbuilt = [n for n in missing if any(im.name == n for _, im in done)]
    if unbuilt:
        print("not built: " + ", ".join(
            f"{n} ({BUILT_BY[VARIANTS.get(n, (n,))[0]]})" for n in unbuilt))
    with open(os.path.join(OUT, "results.txt"), "w") as f:
        f.write(head + "\n" + table + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
