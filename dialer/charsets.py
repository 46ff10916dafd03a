"""Which text encoding a CSV lead sheet is in. Pure functions of the file's bytes.

Sheets reach us from Excel and CRMs in a handful of encodings: UTF-8 (Excel's "CSV UTF-8"
adds a BOM), UTF-16 (Excel's "Unicode Text", tab-separated, with a BOM), and the Windows code
pages of the lists we dial: 1255 (Hebrew), 1252 (Western European), 1251 (Cyrillic) and 1256
(Arabic). The rule, in order:

1. A byte-order mark names the encoding (UTF-8, UTF-16 LE/BE). UTF-16 without one is not
   guessed: its NULs make it look binary, and it is refused as such.
2. Bytes that are valid UTF-8 are UTF-8 (other encodings almost never are, once a byte is
   above 127).
3. Otherwise each code page reads the text, and the reading whose words look like words
   wins (:func:`plausibility`): letters of one script per word; Latin words mostly plain
   ASCII letters with a few accented ones; Hebrew points only after letters and final
   letters only at the end of a word; Cyrillic words in one letter case, with a vowel, not
   starting with ь/ъ/ы, ь/ъ only after a consonant and й only after a vowel; no symbol
   wedged between two letters. A one-letter word counts when a plausible word of its own
   script stands next to it. A code page that leaves a
   byte undefined is out. Ties go to the order of :data:`CODE_PAGES` (Hebrew first: this
   is an Israeli product, and a tie means the readings hardly differ).
4. If no code page reads the text plausibly, charset-normalizer's best guess; failing that
   the text cannot be read, and the user is told to pass ``--encoding``.

The accuracy of this rule is measured on a corpus of sheets in every one of these encodings
(``tests/test_charsets.py``): 34 sheets of 3 to 40 rows plus 720 of one to five rows, in
UTF-8 (with and without BOM), UTF-16, and the four code pages, all read back exactly.
"""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]
from charset_normalizer import from_bytes

__all__ = ["CODE_PAGES", "Choice", "detect", "label", "plausibility"]

#: The code pages tried when the bytes are not UTF-8, in the order ties are broken.
CODE_PAGES = ("cp1255", "cp1252", "cp1251", "cp1256")
_LABELS = {
    "cp1255": "windows-1255",
    "cp1252": "windows-1252",
    "cp1251": "windows-1251",
    "cp1256": "windows-1256",
    "utf-8-sig": "utf-8 (with BOM)",
    "utf-16": "utf-16 (with BOM)",
    "utf-16-le": "utf-16-le",
    "utf-16-be": "utf-16-be",
}
#: How many bytes of lines holding non-ASCII bytes the scoring reads, at most.
_SAMPLE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Choice:
    """The codec a sheet is read with and how it was chosen (``detected`` or ``given``)."""

    codec: str  # Python's codec name: utf-8, utf-8-sig, utf-16, cp1255, ...
    how: str

    def __str__(self) -> str:
        return f"{label(self.codec)} ({self.how})"


def label(codec: str) -> str:
    """The name people know an encoding by (``cp1252`` → ``windows-1252``)."""
    name = codecs.lookup(codec).name
    return _LABELS.get(name, name)


def detect(data: bytes) -> str | None:
    """The codec that reads ``data`` (see the module docstring); None if none does."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if data.isascii() or _is_utf8(data):
        return "utf-8"
    sample = _non_ascii_lines(data)
    scores = {codec: plausibility(sample, codec) for codec in CODE_PAGES}
    best = max(CODE_PAGES, key=lambda codec: scores[codec])  # max keeps the first of ties
    if scores[best] >= 0:
        return best
    guess = from_bytes(sample).best()
    return None if guess is None else codecs.lookup(guess.encoding).name


def _is_utf8(data: bytes) -> bool:
    """Whether every byte sequence is valid UTF-8 (pyarrow's validator reads the bytes in
    place: no decoded copy of a large sheet is made just to check it)."""
    offsets = pa.array([0, len(data)], type=pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _non_ascii_lines(data: bytes) -> bytes:
    """The lines that hold non-ASCII bytes (what the code pages disagree on), up to a limit."""
    lines = [line for line in data.splitlines() if not line.isascii()]
    sample = bytearray()
    for line in lines:
        if len(sample) + len(line) > _SAMPLE_BYTES:
            break
        sample += line + b"\n"
    return bytes(sample)


# --------------------------------------------------------------------------- the scoring

_MARKS = "\u0591-\u05c7\u064b-\u065f\u0670\u200c\u200d"
_WORD = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])+")
_BETWEEN_LETTERS = re.compile(r"(?<=[^\W\d_])([^\x00-\x7f])(?=[^\W\d_])")
#: Punctuation that may sit between two letters in real text (apostrophes, Hebrew geresh,
#: gershayim and maqaf, dashes, middle dot).
_INNER = frozenset("’‘'׳״־–—·")
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяіїєўъАЕЁИОУЫЭЮЯІЇЄЎЪ")
_CYRILLIC_BAD_START = frozenset("ьъыЬЪЫ")
_HEBREW_FINALS = frozenset("ךםןףץ")
_HEBREW_HAS_FINAL = frozenset("כמנפצ")


def plausibility(sample: bytes, codec: str) -> int:
    """How word-like ``sample`` reads in ``codec``: plausible words minus twice the
    implausible ones, counting only words with a non-ASCII letter; very negative if a byte
    is undefined in the code page."""
    try:
        text = sample.decode(codec)
    except UnicodeDecodeError:
        return -(10**9)
    words = _WORD.findall(text)
    verdicts = [1 if word.isascii() else _word_verdict(word) for word in words]
    score = 0
    for i, word in enumerate(words):
        if word.isascii():
            continue
        verdict = verdicts[i] or _by_neighbours(words, verdicts, i)
        score += 1 if verdict > 0 else -2 if verdict < 0 else 0
    for match in _BETWEEN_LETTERS.finditer(text):
        if _wedged(match.group(1)):
            score -= 2
    return score


def _by_neighbours(words: list[str], verdicts: list[int], i: int) -> int:
    """A one-letter word (French "à", Hebrew "ו") is plausible next to a plausible word of
    its own script; otherwise it cannot tell."""
    script = _script(words[i][0])
    for j in (i - 1, i + 1):
        if 0 <= j < len(words) and verdicts[j] > 0 and _script(words[j][0]) == script:
            return 1
    return 0


def _wedged(ch: str) -> bool:
    """A symbol that real text does not put between two letters (``Ê¿â``, ``Jos©``)."""
    return ch not in _INNER and not ch.isspace() and unicodedata.category(ch)[0] not in "LM"


def _word_verdict(word: str) -> int:
    """1 plausible, -1 implausible, 0 cannot tell (a one-letter word)."""
    scripts = {_script(ch) for ch in word}
    if len(scripts) > 1:
        return -1
    script = scripts.pop()
    letters = sum(1 for ch in word if unicodedata.category(ch)[0] == "L")
    if letters < 2:
        return 0 if letters == 1 and script != "mark" else -1
    check = _SCRIPT_CHECKS.get(script)
    return -1 if check is None or not check(word) else 1


def _script(ch: str) -> str:
    """The writing system of one letter or mark (combining marks go with their letters)."""
    code = ord(ch)
    if code < 0x250 and ch.isalpha():
        return "latin"
    if 0x590 <= code <= 0x5FF:
        return "hebrew"
    if 0x400 <= code <= 0x4FF:
        return "cyrillic"
    if 0x600 <= code <= 0x6FF or ch in "\u200c\u200d":
        return "arabic"
    if unicodedata.category(ch) == "Mn":
        return "mark"
    return "other"


def _latin(word: str) -> bool:
    """Western European words: accented letters are the exception, and case is sane."""
    accented = sum(1 for ch in word if not ch.isascii())
    return accented * 2 <= len(word) and _one_case(word)


def _one_case(word: str) -> bool:
    """lower, UPPER or Capitalized."""
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())


def _hebrew(word: str) -> bool:
    """Hebrew: starts with a letter; final forms only at the end, plain forms not at it."""
    letters = [ch for ch in word if "\u05d0" <= ch <= "\u05ea"]
    if not letters or not ("\u05d0" <= word[0] <= "\u05ea"):
        return False
    if any(ch in _HEBREW_FINALS for ch in letters[:-1]):
        return False
    return letters[-1] not in _HEBREW_HAS_FINAL


def _cyrillic(word: str) -> bool:
    """Russian, Ukrainian, Bulgarian: one case, a vowel, no ь/ъ/ы at the start, ь/ъ only
    after a consonant and й only after a vowel (so Hebrew read as 1251 rarely passes)."""
    if word[0] in _CYRILLIC_BAD_START or not _one_case(word):
        return False
    lower = word.lower()
    for before, after in itertools.pairwise(lower):
        vowel = before in _CYRILLIC_VOWELS
        if (after in "ьъ" and (vowel or before in "ьъ")) or (after == "й" and not vowel):
            return False
    return word.isupper() or any(ch in _CYRILLIC_VOWELS for ch in lower)


def _arabic(word: str) -> bool:
    """Arabic script: letters (and their marks), not starting with a mark or a tatweel."""
    return unicodedata.category(word[0]) == "Lo" and word[0] != "\u0640"


_SCRIPT_CHECKS = {"latin": _latin, "hebrew": _hebrew, "cyrillic": _cyrillic, "arabic": _arabic}
