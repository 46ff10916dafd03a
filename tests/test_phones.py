"""Phone normalization: what people type → E.164 or a reason; the fast path agrees with parse."""

from __future__ import annotations

import random
import re
import unicodedata

import pandas as pd
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dialer.models import InvalidReason as R
from dialer.phones import (
    _SEPARATORS,
    DROPPABLE,
    INVISIBLE,
    api_accepts,
    clean,
    mask,
    normalize,
    normalize_column,
    region_for_country,
)

E164 = "+972522345678"
MESSY = [
    ("052-234-5678", E164),
    ("0522345678", E164),
    ("972522345678", E164),
    ("+972522345678", E164),
    ("+972 (0)52-234-5678", E164),
    ("00972522345678", E164),
    ("'0522345678", E164),
    ("522345678", E164),
    ("522345678.0", E164),
    ("9.72522345678E+11", E164),
    ("052\u00a0234\u00a05678", E164),
    ("\u200f052\u2011234\u20115678\u200e", E164),
    ("052–234–5678", E164),
    ("０５２２３４５６７８", E164),
    (" (052) 234 5678 ", E164),
    ("+1 212 736 0100", "+12127360100"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("031234567", "+97231234567"),
]
INVALID = [
    ("", R.EMPTY),
    ("   ", R.EMPTY),
    ("\u200f", R.EMPTY),
    ("n/a", R.UNPARSEABLE),
    ("אין", R.UNPARSEABLE),
    ("050-1234567 ext 5", R.UNPARSEABLE),
    ("123", R.BAD_LENGTH),
    ("+972 12", R.BAD_LENGTH),
    ("0501234567", R.NOT_VALID_FOR_REGION),  # 050-1 is not an allocated range
    ("2125551234", R.NOT_VALID_FOR_REGION),  # a US number read as Israeli
    ("+999 123 4567", R.NOT_VALID_FOR_REGION),
]


@pytest.mark.parametrize(("raw", "expected"), MESSY)
def test_messy_valid_numbers(raw: str, expected: str) -> None:
    assert normalize(raw, region="IL") == (expected, None)


@pytest.mark.parametrize(("raw", "reason"), INVALID)
def test_invalid_numbers_have_a_reason(raw: str, reason: R) -> None:
    assert normalize(raw, region="IL") == (None, reason)


def test_column_agrees_with_single_numbers_and_marks_same_as_from() -> None:
    raws = [raw for raw, _ in MESSY] + [raw for raw, _ in INVALID] + ["+972552234567"]
    out = normalize_column(
        pd.Series(raws, dtype="str"), region="IL", from_numbers={"+972552234567"}
    )
    expected = [e164 for _, e164 in MESSY] + [""] * len(INVALID) + [""]
    reasons = [""] * len(MESSY) + [r.value for _, r in INVALID] + ["same_as_from"]
    assert out["phone"].tolist() == expected
    assert out["reason"].tolist() == reasons
    assert out["number"].tolist() == [int(e[1:]) if e else -1 for e in expected]


def test_per_row_regions() -> None:
    raws = pd.Series(["0522345678", "(212) 736-0100", "020 7946 0958", "0522345678"], dtype="str")
    regions = pd.Series(["", "US", "GB", "ZZ"], dtype="str")
    out = normalize_column(raws, region="IL", regions=regions)
    assert out["phone"].tolist() == ["+972522345678", "+12127360100", "+442079460958", ""]
    assert out["reason"].tolist()[3] == "not_valid_for_region"


def test_fast_path_matches_parse_on_random_digits() -> None:
    rng = random.Random(5)
    prefixes = ["", "+", "00", "0", "+972", "972", "+1", "+44", "+7", "+39", "+54", "+49"]
    raws = [rng.choice(prefixes) + str(rng.randint(10**5, 10**12)) for _ in range(3000)]
    regions = [rng.choice(["IL", "US", "GB", "DE", "IT", "AR", "RU", "ZZ"]) for _ in raws]
    for region in ("IL", "US", "GB", "DE", "FR", "IT", "BR", "JP", "AU", "IN"):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            for fmt in phonenumbers.PhoneNumberFormat.__dict__.values():
                if isinstance(fmt, int) and example is not None and fmt != 3:
                    raws.append(phonenumbers.format_number(example, fmt))
                    regions.append(region)
    out = normalize_column(
        pd.Series(raws, dtype="str"), region="IL", regions=pd.Series(regions, dtype="str")
    )
    for raw, region, phone, reason in zip(raws, regions, out["phone"], out["reason"], strict=True):
        e164, why = normalize(raw, region=region)
        assert (phone, reason) == (e164 or "", why.value if why else ""), (raw, region)


NATIONAL = (
    st.sampled_from(["52", "53", "54", "58"])
    .flatmap(lambda p: st.integers(2_000_000, 9_999_999).map(lambda n: f"{p}{n}"))
    .filter(lambda n: phonenumbers.is_valid_number(phonenumbers.parse(n, "IL")))
)

FORMS = [
    "0{a}-{b}-{c}",
    "0{n}",
    "972{n}",
    "+972{n}",
    "+972 {a} {b} {c}",
    "+972 (0){a}-{b}{c}",
    "00972{n}",
    "'0{n}",
    "{n}.0",
    "\u200f0{a}\u00a0{b}\u2013{c}",
    "０{n}",
]


@settings(max_examples=60, deadline=None)
@given(NATIONAL)
def test_every_way_of_typing_gives_the_same_e164(national: str) -> None:
    a, b, c = national[:2], national[2:5], national[5:]
    typed = [form.format(n=national, a=a, b=b, c=c) for form in FORMS]
    typed[-1] = typed[-1].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    results = {normalize(t, region="IL") for t in typed}
    assert results == {(f"+972{national}", None)}
    column = normalize_column(pd.Series(typed, dtype="str"), region="IL")
    assert set(column["phone"]) == {f"+972{national}"}


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789+-() .'\u00a0\u200fabc", max_size=18))
def test_normalization_is_idempotent(raw: str) -> None:
    e164, _ = normalize(raw, region="IL")
    if e164 is not None:
        assert normalize(e164, region="IL") == (e164, None)
        assert api_accepts(e164)


def test_api_rules() -> None:
    assert api_accepts("+972522345678")
    assert api_accepts("+97231234567")
    assert not api_accepts("+9725223456789")
    assert not api_accepts("+9725223456")
    assert not api_accepts("972522345678")
    assert not api_accepts("+0123456789")


def test_mask_keeps_country_code_and_last_two_digits() -> None:
    assert mask("+972501234567") == "+97250*****67"
    assert mask("+12125551234") == "+121******34"


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("IL", "IL"),
        ("il", "IL"),
        ("Israel", "IL"),
        (" united states ", "US"),
        ("UK", "GB"),
        ("+972", "IL"),
        ("ישראל", "IL"),
        ("Germany", "DE"),
        ("Narnia", None),
        ("", None),
    ],
)
def test_region_for_country(value: str, region: str | None) -> None:
    assert region_for_country(value) == region


PIECES = st.sampled_from(
    ["0", "5", "2", "3", "9", "7", "+", "00", "972", "(0)", "(", ")", ".0", ".", "-", " ", "\t",
     "'", "\u00a0", "\u200f", "０", "–"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(PIECES, max_size=16).map("".join), min_size=1, max_size=12))
@example(["052 234 5678 (", "0)0522345678", "522345678.0", ".0", "0522345678.00 "])
@example(["+055", "+0552345678", "00055", "+1", "\u200f(0)52.0"])
def test_column_matches_single_numbers_on_any_mix_of_separators(raws: list[str]) -> None:
    """Neighbouring rows never leak into each other: "(0" ending one row and "0)" starting
    the next, Excel's ".0" after a number, marks and separators anywhere."""
    out = normalize_column(pd.Series(raws, dtype="str"), region="IL")
    rows = zip(raws, out["phone"], out["reason"], out["number"], strict=True)
    for raw, phone, reason, number in rows:
        e164, why = normalize(raw, region="IL")
        assert (phone, reason) == (e164 or "", why.value if why else ""), raw
        assert number == (int(e164[1:]) if e164 else -1)


def test_droppable_characters_are_exactly_what_clean_removes_alone() -> None:
    """The byte-level clean-up's list, derived again: every BMP character that is an
    invisible mark, or that NFKC turns into a separator no other step looks at."""
    separators = {chr(c) for c in range(0x10000) if re.fullmatch(_SEPARATORS, chr(c))}
    simple = separators - set(".()")
    derived = "".join(
        chr(c)
        for c in range(0x80, 0x10000)
        if not 0xD800 <= c < 0xE000
        and (INVISIBLE.fullmatch(chr(c)) or unicodedata.normalize("NFKC", chr(c)) in simple)
    )
    assert derived == DROPPABLE
    assert all(clean(f"05{ch}2") == "052" for ch in DROPPABLE)
