"""Deterministic simulation: the dialer against the sandbox on a manual clock, one seed per
world, with faults and crashes injected and the design's promises checked after every step.

``python -m dialer.sim --seed 1234`` replays one world; ``--seeds 0:500`` runs many.
"""

from dialer.sim.monitor import PromiseBroken
from dialer.sim.run import SimResult, Simulation, simulate
from dialer.sim.scenario import SimScenario, generate

__all__ = ["PromiseBroken", "SimResult", "SimScenario", "Simulation", "generate", "simulate"]
