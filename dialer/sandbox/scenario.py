"""What happens on the sandbox's calls: the outcome mix, durations, per-number overrides, and
what the post-call analysis finds (dispositions, extracted fields, how often it fails).

Outcomes are chosen by hashing (seed, number, nth call to that number), not by a shared random
stream, so a number's fate does not depend on how many other calls ran before it or in what
order: the same seed gives the same outcomes however a dialer paces its calls. Analyses are
drawn the same way from (seed, call id).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dialer.errors import ConfigError

#: Outcomes a scenario may name. ``voicemail``, ``busy``, ``opt_out`` and ``hung_up`` (the
#: callee hangs up within 3 s) are shapes of the contract's statuses (completed/failed), not
#: statuses of their own (docs/api.md §5).
OUTCOMES = (
    "completed",
    "hung_up",
    "no_answer",
    "busy",
    "failed",
    "voicemail",
    "transferred",
    "opt_out",
)

#: Types an extracted field may have (the agent's ``extraction_parameters``).
FIELD_TYPES = ("string", "category", "boolean", "number", "integer")

#: In ``by_disposition``: the values for every disposition not named on its own.
ANY_DISPOSITION = "*"


def _default_weights() -> dict[str, float]:
    return {
        "completed": 52,
        "hung_up": 3,  # right after completed: the other outcomes keep their numbers
        "no_answer": 20,
        "busy": 8,
        "voicemail": 10,
        "failed": 3,
        "transferred": 2,
        "opt_out": 2,
    }


def _default_dispositions() -> dict[str, float]:
    """The workspace's own dispositions for plain conversations, with their shares."""
    return {"Interested": 30, "Not Interested": 35, "Call Back Later": 25, "Wrong Number": 10}


@dataclass(frozen=True)
class ExtractedField:
    """One extraction parameter: something the agent is asked to find out on every call.

    ``choices``: the values of a category (required), or sample answers of a string.
    ``range``: the span of a number or integer. ``unsaid_rate``: how often a conversation
    never touched it (the value is null). ``by_disposition``: the values that fit a call with
    that disposition (for numbers a ``[low, high]`` span; an empty list: never said then);
    ``"*"`` covers every disposition not named.
    """

    name: str
    type: str = "string"
    choices: tuple[Any, ...] = ()
    range: tuple[float, float] = (0.0, 100.0)
    unsaid_rate: float = 0.1
    by_disposition: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"scenario: extracted field {self.name!r}"
        if self.type not in FIELD_TYPES:
            raise ConfigError(f"{where}: unknown type {self.type!r}; use {FIELD_TYPES}")
        if self.type == "category" and not self.choices:
            raise ConfigError(f"{where}: a category needs its choices")
        if not 0 <= self.unsaid_rate <= 1:
            raise ConfigError(f"{where}: unsaid_rate must be from 0 to 1")
        if self.type in ("number", "integer"):
            spans = [self.range, *(s for s in self.by_disposition.values() if s)]
            if any(len(s) != 2 or s[0] > s[1] for s in spans):
                raise ConfigError(f"{where}: a number's range is [low, high] with low <= high")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str) -> ExtractedField:
        """One ``[[extracted_fields]]`` table; unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        for name in ("choices", "range"):
            if name in values:
                values[name] = tuple(values[name])
        if "by_disposition" in values:
            values["by_disposition"] = {k: tuple(v) for k, v in values["by_disposition"].items()}
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    def values_for(self, disposition: str) -> tuple[Any, ...] | None:
        """The values that fit ``disposition`` (None: any of the field's own)."""
        found = self.by_disposition.get(disposition)
        return self.by_disposition.get(ANY_DISPOSITION) if found is None else found


def _default_fields() -> tuple[ExtractedField, ...]:
    """What the demo agent finds out; values agree with the call's disposition."""
    times = ("tomorrow morning", "this evening after 18:00", "Sunday at 10:00", "next week")
    return (
        ExtractedField(
            "interest",
            "category",
            choices=("high", "medium", "low", "none"),
            unsaid_rate=0.05,
            by_disposition={
                "Interested": ("high", "medium"),
                "Not Interested": ("low", "none"),
                "Call Back Later": ("medium", "low"),
                "Do Not Call": ("none",),
                "Wrong Number": (),
            },
        ),
        ExtractedField(
            "callback_requested",
            "boolean",
            unsaid_rate=0.05,
            by_disposition={
                "Call Back Later": (True,),
                "Not Interested": (False,),
                "Do Not Call": (False,),
                "Wrong Number": (),
            },
        ),
        ExtractedField(
            "callback_time",
            "string",
            choices=times,
            unsaid_rate=0.2,
            by_disposition={"Call Back Later": times, ANY_DISPOSITION: ()},
        ),
        ExtractedField(
            "quantity",
            "integer",
            range=(1.0, 20.0),
            unsaid_rate=0.3,
            by_disposition={"Interested": (1.0, 20.0), ANY_DISPOSITION: ()},
        ),
    )


@dataclass
class Scenario:
    """A call-outcome model; durations are clock seconds, rates are probabilities 0–1."""

    weights: dict[str, float] = field(default_factory=_default_weights)
    ring_seconds: tuple[float, float] = (3.0, 15.0)
    talk_seconds: tuple[float, float] = (20.0, 120.0)
    no_answer_seconds: float = 30.0  # how long an unanswered call rings before giving up
    overrides: dict[str, str | list[str]] = field(default_factory=dict)
    failure_code: str = "unreachable"  # failure.code for the ``failed`` outcome
    handed_back_rate: float = 0.0  # POST /calls answers the "handed back" 202
    handed_back_seconds: float = 20.0  # until the platform retries a handed-back call
    request_fail_rate: float = 0.0  # workflow call requests ending failed/request_failed
    request_expire_rate: float = 0.0  # workflow call requests ending expired/request_expired
    request_step_seconds: float = 2.0  # each call-request state lasts this long
    # -- the post-call analysis of talked calls (docs/api.md §5) --
    analysis_seconds: tuple[float, float] = (60.0, 120.0)  # call end -> analysis final
    cost_settle_seconds: tuple[float, float] = (10.0, 50.0)  # call end -> cost charged
    dispositions: dict[str, float] = field(default_factory=_default_dispositions)
    extracted_fields: tuple[ExtractedField, ...] = field(default_factory=_default_fields)
    # These three shape plain conversations (``completed``) only: an outcome named by its
    # disposition (voicemail, opt_out, transferred) always gets that disposition.
    no_transcript_rate: float = 0.02  # skipped, no_transcript
    analysis_failed_rate: float = 0.03  # failed (analysis_failed/unavailable): Unclassified
    analysis_stuck_rate: float = 0.01  # stays pending for ever

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(OUTCOMES)
        unknown |= {o for v in self.overrides.values() for o in _as_list(v)} - set(OUTCOMES)
        if unknown:
            raise ConfigError(f"scenario: unknown outcome(s) {sorted(unknown)}; use {OUTCOMES}")
        if sum(self.weights.values()) <= 0:
            raise ConfigError("scenario: outcome weights must add up to more than 0")
        self._check_analysis()

    def _check_analysis(self) -> None:
        """Rates are probabilities; spans run forwards; field names are unique."""
        rates = (self.no_transcript_rate, self.analysis_failed_rate, self.analysis_stuck_rate)
        if any(not 0 <= r <= 1 for r in rates) or sum(rates) > 1:
            raise ConfigError(
                "scenario: analysis rates are from 0 to 1, and no_transcript_rate + "
                "analysis_failed_rate + analysis_stuck_rate is at most 1"
            )
        for name in ("analysis_seconds", "cost_settle_seconds"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ConfigError(f"scenario: {name} must be [low, high] with 0 <= low <= high")
        names = [f.name for f in self.extracted_fields]
        if len(names) != len(set(names)):
            raise ConfigError(f"scenario: extracted field names must be unique: {names}")

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
        for name in ("ring_seconds", "talk_seconds", "analysis_seconds", "cost_settle_seconds"):
            if isinstance(values.get(name), int | float):
                values[name] = (values[name], values[name])  # one number: always that long
            elif name in values:
                values[name] = tuple(values[name])
        if isinstance(values.get("dispositions"), list):
            values["dispositions"] = dict.fromkeys(values["dispositions"], 1.0)
        if "extracted_fields" in values:
            values["extracted_fields"] = tuple(
                ExtractedField.from_dict(item, where=f"{where}: extracted_fields[{i}]")
                for i, item in enumerate(values["extracted_fields"])
            )
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
        return weighted(self.weights, unit(seed, "outcome", number, nth)) or next(
            name for name, weight in self.weights.items() if weight > 0
        )

    def pick(self, span: tuple[float, float], seed: int, *salt: object) -> float:
        """A duration within ``span``, fixed for the same salt."""
        low, high = span
        return round(low + (high - low) * unit(seed, *salt), 1)

    def chance(self, rate: float, seed: int, *salt: object) -> bool:
        """A yes/no draw with probability ``rate``, fixed for the same salt."""
        return rate > 0 and unit(seed, *salt) < rate


def weighted(weights: dict[str, float], point: float) -> str | None:
    """The name whose share of the total holds ``point`` (in [0, 1)); None if all weigh 0."""
    left = point * sum(weights.values())
    for name, weight in weights.items():
        left -= weight
        if left < 0:
            return name
    return None


def unit(seed: int, *salt: object) -> float:
    """A number in [0, 1) determined by the seed and the salt."""
    text = ":".join(str(part) for part in (seed, *salt))
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
