"""What the post-call analysis of a talked call finds (docs/api.md §5), fixed for (seed, dial).

The world decides *when* (60–120 s after the call ends, or never for a stuck one); this module
decides *what*: a disposition, a summary, ``extracted_data`` (every configured field is a key;
null = not said) and a transcript when it is ``done``; a reason when it is ``skipped`` or
``failed`` (then the platform labels it "Unclassified"); None when it is stuck (``pending``
for ever). Every draw hashes the seed and the dial (number and how many dials of it came
before), so a call's analysis does not depend on the order calls were placed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dialer.sandbox.scenario import ExtractedField, Scenario, unit, weighted

#: Talked outcomes whose disposition is not the scenario's pick: the platform names voicemail
#: itself, an opt-out is the callee's word, a transfer is what happened.
NAMED_DISPOSITIONS = {
    "voicemail": "Voicemail",
    "opt_out": "Do Not Call",
    "transferred": "Transferred to a Person",
}

#: Under this many seconds of talk there is nothing to analyse (§5: ``call_too_short``).
SHORTEST_ANALYSED_SECONDS = 3.0

#: Sample answers of a string field that has none of its own.
_SAMPLE_TEXT = ("yes, by email", "maybe later", "the callee did not say why")

_SUMMARIES = {
    "Interested": "The callee is interested{and} and asked to receive the offer.",
    "Not Interested": "The callee is not interested at the moment{and}.",
    "Call Back Later": "The callee asked to be called back{when}.",
    "Wrong Number": "The person who answered is not the lead; the number may be wrong.",
    "Do Not Call": "The callee asked not to be called again.",
    "Voicemail": "The call reached voicemail; nobody spoke.",
    "Transferred to a Person": "The callee asked for a person and was transferred.",
}

Draw = Callable[[str], float]


@dataclass(frozen=True)
class Analysis:
    """A final analysis: ``done`` (with what was learned), ``skipped`` or ``failed``."""

    status: str
    reason: str | None = None
    disposition: str | None = None
    summary: str | None = None
    extracted: Mapping[str, Any] | None = None
    transcript: str | None = None


#: "Nothing went wrong": the analysis goes on to a disposition.
_FINE = Analysis("done")


def analyse_call(
    scenario: Scenario, seed: int, dial: str, outcome: str, talk: float
) -> Analysis | None:
    """The analysis of one talked call; None when it stays pending for ever (stuck)."""

    def draw(salt: str) -> float:
        return unit(seed, "analysis", dial, salt)

    if talk < SHORTEST_ANALYSED_SECONDS:
        return Analysis("skipped", "call_too_short")
    label = NAMED_DISPOSITIONS.get(outcome)
    if label is None:
        trouble = _trouble(scenario, draw)
        if trouble is not _FINE:
            return trouble
        label = weighted(scenario.dispositions, draw("disposition")) or "Unclassified"
    return _done(scenario.extracted_fields, label, draw, nobody_spoke=outcome == "voicemail")


def _trouble(scenario: Scenario, draw: Draw) -> Analysis | None:
    """A plain conversation's analysis may be stuck (None), fail or find no transcript;
    :data:`_FINE` when none of that happens."""
    point = draw("trouble")
    if point < scenario.analysis_stuck_rate:
        return None
    point -= scenario.analysis_stuck_rate
    if point < scenario.analysis_failed_rate:
        reason = "analysis_failed" if draw("failed") < 0.5 else "analysis_unavailable"
        # The platform labels a failed analysis "Unclassified" by name (§5).
        return Analysis("failed", reason, "Unclassified", transcript=_transcript("Unclassified"))
    point -= scenario.analysis_failed_rate
    if point < scenario.no_transcript_rate:
        return Analysis("skipped", "no_transcript")
    return _FINE


def _done(
    fields: tuple[ExtractedField, ...], label: str, draw: Draw, *, nobody_spoke: bool
) -> Analysis:
    """A done analysis: the disposition and what fits it."""
    extracted = {f.name: None if nobody_spoke else field_value(f, label, draw) for f in fields}
    return Analysis(
        "done",
        disposition=label,
        summary=summary(label, extracted),
        extracted=extracted,
        transcript=None if nobody_spoke else _transcript(label),
    )


def field_value(spec: ExtractedField, disposition: str, draw: Draw) -> Any:
    """A plausible value of one field on a call with ``disposition`` (None: not said)."""
    fitting = spec.values_for(disposition)
    if fitting == () or draw(f"{spec.name}:unsaid") < spec.unsaid_rate:
        return None
    point = draw(f"{spec.name}:value")
    if spec.type in ("number", "integer"):
        low, high = fitting or spec.range
        value = low + (high - low) * point
        return round(value) if spec.type == "integer" else round(value, 2)
    pool = fitting or spec.choices
    if not pool:
        pool = (True, False) if spec.type == "boolean" else _SAMPLE_TEXT
    return pool[int(point * len(pool))]


def summary(label: str, extracted: Mapping[str, Any]) -> str:
    """One or two sentences a person reads, agreeing with the disposition and the data."""
    template = _SUMMARIES.get(label, "The conversation was classified as " + label + ".")
    when = extracted.get("callback_time")
    interest = extracted.get("interest")
    return template.format(
        when=f" {when}" if isinstance(when, str) else "",
        **{"and": f" (interest: {interest})" if isinstance(interest, str) else ""},
    )


def _transcript(label: str) -> str:
    """A short transcript (stored only with ``--with-transcripts``)."""
    answer = {
        "Interested": "Yes, that sounds good. Please send me the details.",
        "Not Interested": "No thanks, I'm not interested.",
        "Call Back Later": "I'm busy right now, can you call me back later?",
        "Do Not Call": "Please don't call me again.",
        "Transferred to a Person": "Can I talk to a person, please?",
    }.get(label, "Hmm, I'm not sure.")
    return f"Agent: Hello, this is the sandbox agent calling about your order.\nCallee: {answer}"
