#!/usr/bin/env python3
"""bench/tools/ab.py: one workload, several programs, alternated run by run.

    python3 bench/tools/ab.py WORKLOAD SIZE RUNS PROGRAM [PROGRAM ...]

Runs each PROGRAM (a peer binary, with arguments or an `env X=Y` prefix if
quoted as one word: "env LD_PRELOAD=... bench/out/bin/peer-awaitkit") as
`taskset -c CPUS PROGRAM WORKLOAD --size SIZE`, RUNS + 1 rounds, one run of
each program per round in the order given, the first round a warm-up that
is thrown away; prints each run's ns/op, then the median (min) per program.
CPUS is AB_CPUS (default 0,1, as make bench pins on this 2-CPU machine).
Alternation is what makes two binaries comparable on a shared, noisy
machine: both see the same states.  A benchmark, never a test.
"""
import os
import re
import shlex
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    workload, size, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    programs = sys.argv[4:]
    cpus = os.environ.get("AB_CPUS", "0,1")
    res = {p: [] for p in programs}
    for r in range(runs + 1):
        for p in programs:
            cmd = ["taskset", "-c", cpus] + shlex.split(p) + [workload, "--size", size]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            m = re.search(r"ns_per_op=([0-9.]+)", out.stdout)
            if not m:
                print(f"FAILED {p}: {out.stdout}{out.stderr}", flush=True)
                continue
            if r > 0:
                res[p].append(float(m.group(1)))
            print(f"run {r} {p}: {m.group(1)}" + (" (warm-up)" if r == 0 else ""), flush=True)
    for p in programs:
        if res[p]:
            print(f"{p}: median {statistics.median(res[p]):.1f} min {min(res[p]):.1f} n={len(res[p])}")


if __name__ == "__main__":
    main()
