"""The campaign file (docs/design.md §5): TOML read into pydantic models that reject unknown keys.

Defaults live here, once. :func:`load_campaign` is the only way in; every problem becomes one
:class:`~dialer.errors.ConfigError` line naming the file and the field, e.g.
``campaigns/x.toml: [pacing] max_live_calls: must be at least 1``.
"""

from __future__ import annotations

import codecs
import difflib
import re
import tomllib
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from dialer import phones
from dialer.errors import ConfigError
from dialer.window import zone_name

__all__ = [
    "RESERVED_METADATA_KEYS",
    "Campaign",
    "Columns",
    "Dedupe",
    "Dnc",
    "Pacing",
    "Retry",
    "Window",
    "codec_name",
    "load_campaign",
]

#: Metadata keys the API fills in itself (sending them would clash with the call record).
RESERVED_METADATA_KEYS = frozenset({"id", "direction", "agent_number", "user_number", "agent_name"})
#: Outcomes a retry policy may name.
RetryStatus = Literal["completed", "voicemail", "no_answer", "busy", "failed", "transferred"]
Day = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")


class _Section(BaseModel):
    """Every table of the file: unknown keys are errors, values are not coerced loosely."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Section):
    """Which sheet column holds what (header names, matched forgivingly when read)."""

    phone: str = Field(min_length=1)
    variables: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    country: str | None = None
    #: A per-row zone (IANA name or UTC offset); a blank cell leaves the row's zones automatic.
    timezone: str | None = None

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _VARIABLE_NAME.fullmatch(name):
                raise ValueError(f"variable name {name!r} must be letters, digits and _")
            if name == "before":
                raise ValueError("variable name 'before' is reserved by the API")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key in RESERVED_METADATA_KEYS:
                raise ValueError(f"metadata key {key!r} is reserved by the API; choose another")
        return value


class Pacing(_Section):
    """How hard the campaign may push: live calls at once and API requests per minute.

    ``weight`` is its share when several campaigns run on one account: lines and requests are
    split among the campaigns with leads due in proportion to their weights.
    """

    max_live_calls: int = Field(default=10, ge=1, le=10_000)
    requests_per_minute: int = Field(default=60, ge=1, le=10_000_000)
    weight: float = Field(default=1.0, gt=0, le=1000)


class Account(_Section):
    """What the account allows, when the API does not say it (or says it late): the company's
    lines (``max_concurrent_calls``, 10 by default) and the key's requests per minute."""

    lines: int | None = Field(default=None, ge=1, le=10_000)
    requests_per_minute: int | None = Field(default=None, ge=1, le=10_000_000)


class Window(_Section):
    """When callees may be called, in their local time. ``end`` may be ``24:00``."""

    days: tuple[Day, ...] = ("sun", "mon", "tue", "wed", "thu")
    start: str = "09:00"
    end: str = "19:00"
    timezone: str = "auto"
    blackout_dates: tuple[date, ...] = ()

    @field_validator("days", mode="before")
    @classmethod
    def _lower_days(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(v.strip().lower()[:3] if isinstance(v, str) else v for v in value)
        return value

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[Day, ...]) -> tuple[Day, ...]:
        if not value:
            raise ValueError("must name at least one day")
        return tuple(dict.fromkeys(value))

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.fullmatch(value):
            raise ValueError(f"{value!r} is not a time of day like 09:00 (00:00 to 24:00)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value == "auto":
            return value
        zone = zone_name(value)
        if zone is None:
            raise ValueError(
                f"{value!r} is not an IANA time zone (e.g. Asia/Jerusalem) "
                "or a UTC offset (e.g. UTC+02:00)"
            )
        return zone

    @model_validator(mode="after")
    def _start_before_end(self) -> Window:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @property
    def pinned_zone(self) -> str | None:
        """The zone every callee is assumed to be in (canonical spelling: an IANA name or
        ``UTC+02:00``), or None to take the zones from each number."""
        return None if self.timezone == "auto" else self.timezone


class Retry(_Section):
    """Which outcomes are tried again, how often, and how long to wait in between."""

    statuses: tuple[RetryStatus, ...] = ("no_answer", "busy")
    max_attempts: int = Field(default=3, ge=1, le=100)
    delays_minutes: tuple[int, ...] = (60, 180)
    jitter_fraction: float = Field(default=0.1, ge=0, le=1)

    @field_validator("delays_minutes")
    @classmethod
    def _non_negative(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 0 for v in value):
            raise ValueError("delays must be 0 or more minutes")
        return value


class Dnc(_Section):
    """The company DNC cache's freshness and extra local suppression lists."""

    max_age_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    suppression_files: tuple[Path, ...] = ()
    add_on_opt_out: bool = False

    @field_validator("suppression_files")
    @classmethod
    def _relative(cls, value: tuple[Path, ...], info: ValidationInfo) -> tuple[Path, ...]:
        return tuple(_resolve(p, info) for p in value)


class Dedupe(_Section):
    """Cross-campaign cool-down: skip numbers called by any campaign in the last N days."""

    cooldown_days: int | None = Field(default=None, ge=1, le=3650)


class Campaign(_Section):
    """A whole campaign file. ``from`` in TOML is ``from_numbers`` here (always a list)."""

    name: str = Field(min_length=1, max_length=100)
    agent_id: str
    default_region: str = "IL"
    from_numbers: tuple[str, ...] = Field(alias="from")
    leads: Path
    sheet: str | None = None
    #: The lead sheet's text encoding (a Python codec name); None: detected from the bytes.
    encoding: str | None = None
    columns: Columns
    pacing: Pacing = Field(default_factory=Pacing)
    window: Window | None = None
    retry: Retry = Field(default_factory=Retry)
    dnc: Dnc = Field(default_factory=Dnc)
    dedupe: Dedupe = Field(default_factory=Dedupe)
    account: Account = Field(default_factory=Account)
    #: Nothing is placed before this instant (a naive time is UTC).
    start_at: datetime | None = None

    @field_validator("start_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """A start time without an offset is read as UTC."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value != value.strip() or not value.isprintable():
            raise ValueError("must be printable with no leading or trailing spaces")
        return value

    @field_validator("agent_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(f"{value!r} is not an agent id (a UUID)") from None

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if region not in phones.supported_regions():
            raise ValueError(f"{value!r} is not a two-letter country code like IL or US")
        return region

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        return None if value is None else codec_name(value)

    @field_validator("from_numbers", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("from_numbers")
    @classmethod
    def _caller_ids(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one caller id")
        region = info.data.get("default_region", "IL")
        return tuple(dict.fromkeys(_caller_id(raw, region) for raw in value))

    @field_validator("leads")
    @classmethod
    def _leads_relative(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)


def codec_name(value: str) -> str:
    """Python's own name for a text encoding (``Windows-1252`` → ``cp1252``); a ValueError
    if Python has no such text codec."""
    try:
        "".encode(value.strip())  # refuses the bytes-to-bytes codecs (base64, zlib...) too
        return codecs.lookup(value.strip()).name
    except LookupError:
        raise ValueError(
            f"{value!r} is not a text encoding Python knows (e.g. utf-8, windows-1252, "
            "windows-1255)"
        ) from None


def _caller_id(raw: str, region: str) -> str:
    """One ``from`` number in E.164, or a ValueError saying why the API would refuse it."""
    e164, reason = phones.normalize(raw, region=region)
    if e164 is None:
        why = reason.value if reason else "invalid"
        raise ValueError(f"{raw!r} is not a number the API accepts as caller id ({why})")
    return e164


def _resolve(path: Path, info: ValidationInfo) -> Path:
    """Paths in the file are relative to the file itself."""
    base = info.context.get("base") if isinstance(info.context, dict) else None
    path = path.expanduser()
    return path if path.is_absolute() or base is None else base / path


# --------------------------------------------------------------------------- loading


def load_campaign(path: Path) -> Campaign:
    """Read and check a campaign file; any problem is one ConfigError naming file and field."""
    data = _read_toml(path)
    try:
        return Campaign.model_validate(data, context={"base": path.parent})
    except ValidationError as exc:
        # a misspelt key also makes the real one "required": name the typo first
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(f"{path}: {_describe(errors[0])}{more}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML as a dict; missing, unreadable or malformed files are ConfigErrors."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: campaign file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a campaign file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read campaign file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (campaign files are UTF-8 TOML)") from None
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as ``[section] field: what is wrong`` (a huge value cut short)."""
    loc = tuple(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return _shortened(_unknown_key(loc))
    return _shortened(f"{_where(loc)}: {_message(error)}")


def _shortened(text: str, *, keep: int = 120) -> str:
    """A message that quotes a megabyte-long value keeps only its two ends."""
    if len(text) <= 2 * keep:
        return text
    return f"{text[:keep]}…({len(text) - 2 * keep:,} characters cut)…{text[-keep:]}"


def _where(loc: tuple[str, ...]) -> str:
    """``("pacing", "max_live_calls")`` → ``[pacing] max_live_calls``."""
    if len(loc) > 1 and loc[0] in _SECTIONS:
        return f"[{loc[0]}] {'.'.join(loc[1:])}"
    return ".".join(loc) if loc else "file"


def _unknown_key(loc: tuple[str, ...]) -> str:
    """An unknown key, with the nearest known one as a suggestion."""
    *parent, key = loc
    known = _known_keys(tuple(parent))
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    where = f" in [{'.'.join(parent)}]" if parent else ""
    return f"unknown key {key!r}{where}{hint}"


def _known_keys(parent: tuple[str, ...]) -> list[str]:
    """The keys a table accepts (by its TOML names)."""
    model: type[BaseModel] = Campaign
    for part in parent:
        field = model.model_fields.get(part)
        annotation = _model_of(field.annotation) if field else None
        if annotation is None:
            return []
        model = annotation
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``Model`` or ``Model | None``."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


_SECTIONS = frozenset({"columns", "pacing", "window", "retry", "dnc", "dedupe"})


def _message(error: ErrorDetails) -> str:
    """Pydantic's message in the words of a campaign file."""
    ctx = error.get("ctx", {})
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**ctx)
    if kind == "literal_error":
        return f"{error['input']!r} is not one of {ctx.get('expected', '')}"
    return f"{error['msg'][0].lower()}{error['msg'][1:]} (got {error['input']!r})"


_BOUNDS = {
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
}
