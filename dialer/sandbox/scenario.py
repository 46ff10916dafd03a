"""What happens on the sandbox's calls: the outcome mix, durations and per-number overrides.

Outcomes are chosen by hashing (seed, number, nth call to that number), not by a shared random
stream, so a number's fate does not depend on how many other calls ran before it or in what
order: the same seed gives the same outcomes however a dialer paces its calls.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dialer.errors import ConfigError

#: Outcomes a scenario may name. ``voicemail``, ``busy`` and ``opt_out`` are shapes of the
#: contract's statuses (completed/failed), not statuses of their own (CONTRACT §5).
OUTCOMES = ("completed", "no_answer", "busy", "failed", "voicemail", "transferred", "opt_out")


def _default_weights() -> dict[str, float]:
    return {
        "completed": 55,
        "no_answer": 20,
        "busy": 8,
        "voicemail": 10,
        "failed": 3,
        "transferred": 2,
        "opt_out": 2,
    }


@dataclass
class Scenario:
    """A call-outcome model; durations are clock seconds, rates are probabilities 0–1."""

    weights: dict[str, float] = field(default_factory=_default_weights)
    ring_seconds: tuple[float, float] = (3.0, 15.0)
    talk_seconds: tuple[float, float] = (20.0, 120.0)
    no_answer_seconds: float = 30.0  # how long an unanswered call rings before giving up
    analysis_seconds: float = 30.0  # call end -> analysis done
    overrides: dict[str, str | list[str]] = field(default_factory=dict)
    failure_code: str = "unreachable"  # failure.code for the ``failed`` outcome
    dispositions: tuple[str, ...] = ("Interested", "Not Interested", "Call Back Later")
    handed_back_rate: float = 0.0  # POST /calls answers the "handed back" 202
    handed_back_seconds: float = 20.0  # until the platform retries a handed-back call
    request_fail_rate: float = 0.0  # workflow call requests ending failed/request_failed
    request_expire_rate: float = 0.0  # workflow call requests ending expired/request_expired
    request_step_seconds: float = 2.0  # each call-request state lasts this long

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(OUTCOMES)
        unknown |= {o for v in self.overrides.values() for o in _as_list(v)} - set(OUTCOMES)
        if unknown:
            raise ConfigError(f"scenario: unknown outcome(s) {sorted(unknown)}; use {OUTCOMES}")
        if sum(self.weights.values()) <= 0:
            raise ConfigError("scenario: outcome weights must add up to more than 0")

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Load a scenario file; unknown keys are errors (they are usually typos)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read scenario: {exc}") from exc
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "scenario") -> Scenario:
        """Build from parsed TOML/JSON; lists become tuples where the field wants one."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        for name in ("ring_seconds", "talk_seconds", "dispositions"):
            if name in values:
                values[name] = tuple(values[name])
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    def outcome(self, seed: int, number: str, nth: int) -> str:
        """The outcome of the ``nth`` (0-based) call to ``number``."""
        override = self.overrides.get(number)
        if override is not None:
            choices = _as_list(override)
            return choices[min(nth, len(choices) - 1)]
        point = unit(seed, "outcome", number, nth) * sum(self.weights.values())
        for name, weight in self.weights.items():
            point -= weight
            if point < 0:
                return name
        return next(name for name, weight in self.weights.items() if weight > 0)

    def pick(self, span: tuple[float, float], seed: int, *salt: object) -> float:
        """A duration within ``span``, fixed for the same salt."""
        low, high = span
        return round(low + (high - low) * unit(seed, *salt), 1)

    def chance(self, rate: float, seed: int, *salt: object) -> bool:
        """A yes/no draw with probability ``rate``, fixed for the same salt."""
        return rate > 0 and unit(seed, *salt) < rate


def unit(seed: int, *salt: object) -> float:
    """A number in [0, 1) determined by the seed and the salt."""
    text = ":".join(str(part) for part in (seed, *salt))
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
