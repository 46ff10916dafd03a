"""``python -m dialer.sim``: replay one seeded world, a named one, or run a range of seeds.

python -m dialer.sim --seed 1234          # one world, with its story if it fails
python -m dialer.sim --named late-answer  # a named world (see dialer.sim.named)
python -m dialer.sim --seeds 0:2000       # many worlds, a line per failure
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from dialer.sim.monitor import PromiseBroken
from dialer.sim.named import NAMED
from dialer.sim.run import Simulation, simulate
from dialer.sim.scenario import SimScenario, generate


def main(argv: list[str] | None = None) -> int:
    """Run what the arguments ask for; exit 1 if any world broke a promise."""
    parser = argparse.ArgumentParser(prog="python -m dialer.sim", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--seed", type=int, help="replay the world of this seed")
    which.add_argument("--named", choices=sorted(NAMED), help="replay a named world")
    which.add_argument("--seeds", help="run the worlds of seeds FROM:TO")
    parser.add_argument("-v", "--verbose", action="store_true", help="the dialer's log lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    if args.seeds:
        start, _, stop = args.seeds.partition(":")
        return _many(range(int(start), int(stop)))
    scenario = NAMED[args.named]() if args.named else generate(args.seed)
    return _one(scenario)


def _one(scenario: SimScenario) -> int:
    """One world, told in full when it fails."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="dialer-sim-") as folder:
        simulation = Simulation(scenario, Path(folder))
        try:
            result = simulation.run()
        except PromiseBroken as broken:
            print(f"BROKEN: {broken}")
            print("\n".join(simulation.monitor.trace[-40:]))
            print(scenario)
            return 1
    print(
        f"ok: {dict(result.statuses)}; {result.posts} POSTs, {result.crashes} crashes, "
        f"{result.lives} runs, {result.virtual_seconds / 3600:.1f} h of clock"
    )
    return 0


def _many(seeds: range) -> int:
    """Many worlds; a replay line for each that breaks a promise."""
    began, failed = time.perf_counter(), 0
    for seed in seeds:
        scenario = generate(seed)
        try:
            simulate(scenario)
        except Exception as broken:
            failed += 1
            print(f"{scenario.replay}  # {type(broken).__name__}: {broken}", flush=True)
    took = time.perf_counter() - began
    print(f"{len(seeds)} worlds, {failed} broke a promise, {took:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
