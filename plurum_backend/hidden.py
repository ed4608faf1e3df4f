"""Characters a reader cannot see but a language model reads: removed before text is stored.

An agent that plants instructions for later readers can hide them from the humans who look
at an experience: Unicode *tag* characters (U+E0000–E007F) spell ASCII invisibly, zero-width
characters split a word so a filter misses it, bidi controls reorder what is displayed
(Trojan Source), and runs of variation selectors carry bytes ("emoji smuggling"). Each is
removed and counted under one kind, reported next to the secrets redacted:

``tag_character``    U+E0000–E007F.
``zero_width``       U+200B, U+2060, U+FEFF, U+180E, U+00AD (soft hyphen), U+034F, U+115F,
                     U+1160, U+3164, U+FFA0, U+17B4, U+17B5, U+2061–U+2064 (invisible
                     operators), U+206A–U+206F (deprecated format controls); U+200C and
                     U+200D (joiners) too, except between two non-ASCII characters, where
                     Persian, Indic scripts and emoji sequences need them.
``bidi_control``     U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C.
``variation_selector``  U+FE00–U+FE0F and U+E0100–U+E01EF, except one right after a visible
                     character (an emoji's U+FE0F, an ideographic variant): a selector after
                     another selector, or at the start, selects nothing and is removed.

Everything else, including ordinary spaces, tabs and newlines, is kept byte for byte.
"""

from __future__ import annotations

import re

__all__ = ["HIDDEN_KINDS", "decode_smuggled", "strip_hidden"]

HIDDEN_KINDS = ("bidi_control", "tag_character", "variation_selector", "zero_width")

_ZERO_WIDTH = (
    "\u200b\u2060\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5"
    "\u2061\u2062\u2063\u2064\u206a\u206b\u206c\u206d\u206e\u206f"
)
_JOINERS = "\u200c\u200d"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_TAGS = "\U000e0000-\U000e007f"

_ANY = re.compile(f"[{_ZERO_WIDTH}{_JOINERS}{_BIDI}{_SELECTORS}{_TAGS}]")
# a run of hidden characters, with the visible character before it (if any)
_RUN = re.compile(
    f"(?P<before>[^{_ZERO_WIDTH}{_JOINERS}{_BIDI}{_SELECTORS}{_TAGS}])?"
    f"(?P<run>[{_ZERO_WIDTH}{_JOINERS}{_BIDI}{_SELECTORS}{_TAGS}]+)"
)
_SELECTOR = re.compile(f"[{_SELECTORS}]")
_SELECTOR_RUN = re.compile(f"[{_SELECTORS}]{{4,}}")
_TAG_TEXT = re.compile("[\U000e0020-\U000e007e]")


def _kind(ch: str) -> str:
    code = ord(ch)
    if 0xE0000 <= code <= 0xE007F:
        return "tag_character"
    if ch in _BIDI:
        return "bidi_control"
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return "variation_selector"
    return "zero_width"


def strip_hidden(text: str) -> tuple[str, dict[str, int]]:
    """``text`` without hidden characters, and how many of each kind were removed."""
    if _ANY.search(text) is None:
        return text, {}
    counts: dict[str, int] = {}

    def clean(m: re.Match[str]) -> str:
        before, run = m.group("before") or "", m.group("run")
        after = text[m.end()] if m.end() < len(text) else ""
        kept: list[str] = []
        for i, ch in enumerate(run):
            if i == 0 and before and _SELECTOR.fullmatch(ch):
                kept.append(ch)  # one selector on a visible character: an emoji, a variant
                continue
            if (
                ch in _JOINERS
                and len(run) == 1
                and before
                and after
                and not before.isascii()
                and not after.isascii()
            ):
                kept.append(ch)
                continue
            kind = _kind(ch)
            counts[kind] = counts.get(kind, 0) + 1
        return before + "".join(kept)

    return _RUN.sub(clean, text), counts


def decode_smuggled(text: str) -> list[str]:
    """Text hidden in ``text``: ASCII spelled with tag characters, and bytes carried by a run
    of variation selectors (VS1–16 are 0–15, VS17–256 are 16–255), decoded as UTF-8."""
    found: list[str] = []
    if text.isascii():
        return found
    tags = "".join(chr(ord(ch) - 0xE0000) for ch in _TAG_TEXT.findall(text))
    if tags.strip():
        found.append(tags)
    for run in _SELECTOR_RUN.findall(text):
        data = bytes(
            ord(ch) - 0xFE00 if ord(ch) <= 0xFE0F else ord(ch) - 0xE0100 + 16 for ch in run
        )
        decoded = data.decode("utf-8", errors="ignore")
        if decoded.strip():
            found.append(decoded)
    return found
