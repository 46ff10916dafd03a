"""``make bench``: every benchmark, each printing its figures and its ratio to a floor
measured in the same run. Pass names to run a subset: ``python -m benchmarks dispatch``."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time

SUITES = {
    "intake": "benchmarks.bench_intake",
    "dispatch": "benchmarks.bench_dispatch",
    "pacing": "benchmarks.bench_pacing",
    "scale": "benchmarks.bench_scale",
}


def main(argv: list[str]) -> int:
    """Run the named suites (default: all) and print their result lines. Several suites run
    each in a process of its own: a suite's heap must not weigh on the next one's figures
    (on Linux a child's peak RSS starts from its parent's, so a big parent spoils them)."""
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
        return 2
    if len(names) > 1:
        codes = [subprocess.run([sys.executable, "-m", "benchmarks", n]).returncode for n in names]
        return max(codes)
    for name in names:
        started = time.perf_counter()
        print(f"== {name} ==", flush=True)
        module = importlib.import_module(SUITES[name])
        for line in module.run():
            print(f"  {_format(line)}", flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


def _format(line: object) -> str:
    """A result row: a dict as ``key=value`` pairs, anything else as it prints."""
    if isinstance(line, dict):
        return "  ".join(f"{k}={v}" for k, v in line.items())
    return str(line)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
