"""How services/injection.py reads a text: the normalized views and what is decoded.

- *base*: HTML entities decoded, hidden characters (hidden.py) dropped, NFKC (full-width
  and other compatibility forms become ASCII), lower case, typographic quotes made plain,
  "you're" read as "you are";
- *latin*: base with look-alike Cyrillic/Greek letters and leetspeak (``1gn0r3``) mapped to
  Latin letters, one character for one (so positions agree with base);
- *spaced*: runs of single letters (``i g n o r e  a l l …``, ``i.g.n.o.r.e``) joined;
- *decoded*: base64 and hex blobs, URL-encoding, and text smuggled in Unicode tag
  characters or variation selectors.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
import urllib.parse
from collections.abc import Iterator

from plurum_backend.hidden import decode_smuggled, strip_hidden

__all__ = ["base", "decoded", "disguises_a_keyword", "latin", "spaced"]

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
})  # fmt: skip
# Cyrillic and Greek letters drawn like Latin ones (after lower-casing)
_LOOKALIKE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ь": "b",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ѵ": "v", "ɑ": "a",
    "ı": "i", "ℓ": "l", "ǀ": "l",
})  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "|": "l", "8": "b"})  # fmt: skip
# a word of letters and leet digits/signs, with at least one of each
_MIXED = re.compile(r"[a-z][0-9@$|]|[0-9@$|][a-z]")
_LEET_TOKEN = re.compile(r"[a-z0-9@$|]*(?:[a-z][0-9@$|]|[0-9@$|][a-z])[a-z0-9@$|]*")
_HAS_LEET = re.compile(r"[0-9@$|]")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


_CONTRACTIONS = re.compile(r"\b(you|we|they)'re\b|\bi'm\b|\b(do|does|did|is|are)n't\b")


def _expand(m: re.Match[str]) -> str:
    if m.group(1):
        return f"{m.group(1)} are"
    if m.group(2):
        return f"{m.group(2)} not"
    return "i am"


def base(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    text, _ = strip_hidden(text)
    text = text.replace("\u200c", "").replace("\u200d", "")  # joiners kept by strip_hidden
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    if "'" in text:
        text = _CONTRACTIONS.sub(_expand, text)  # "you're" reads as "you are"
    return _SPACES.sub(" ", text)


def _leet(token: re.Match[str]) -> str:
    word = token.group(0)
    # a version, a hash or a size is not leetspeak: it has to be mostly letters
    letters = sum(c.isalpha() for c in word)
    if not _HAS_LEET.search(word) or letters < len(word) / 3 or len(word) < 3:
        return word
    return word.translate(_LEET)


def latin(base: str) -> str:
    mapped = base if base.isascii() else base.translate(_LOOKALIKE)
    return _LEET_TOKEN.sub(_leet, mapped) if _MIXED.search(mapped) else mapped


# words an obfuscated attack must disguise at least one of (after mapping to Latin letters)
# fmt: off
_KEYWORDS = frozenset((
    "ignore", "disregard", "forget", "override", "bypass", "previous", "prior", "instructions",
    "instruction", "system", "prompt", "you", "your", "are", "now", "send", "post", "upload",
    "email", "key", "keys", "api", "secret", "secrets", "token", "tokens", "password",
    "passwords", "credentials", "tool", "call", "invoke", "ai", "assistant", "agent", "model",
    "llm", "dan", "mode", "developer", "reveal", "print", "env", "ssh", "aws", "rules",
    "restrictions", "unrestricted", "guidelines", "pretend", "act", "new", "task", "all",
    "above", "exfiltrate", "contents", "jailbreak", "jailbroken", "admin", "obey", "follow",
))
# fmt: on
_WORD = re.compile(r"[^\W_]+")


def disguises_a_keyword(base: str, latin: str) -> bool:
    """Did mapping look-alikes and leetspeak turn some word into an attack keyword? (The two
    views have the same length: every mapping is one character for one.)"""
    for m in _WORD.finditer(latin):
        word = m.group(0)
        if word in _KEYWORDS and base[m.start() : m.end()] != word:
            return True
    return False


_SPACED_RUN = re.compile(r"(?<![^\W_])(?:[^\W_][^\w\n]{1,4}){4,}[^\W_](?![^\W_])")
_NOT_LETTER = re.compile(r"[\W\d_]+")


def spaced(latin: str) -> list[str]:
    """Letters broken apart by spaces or punctuation, joined: ``i g n o r e`` -> ignore."""
    return [_NOT_LETTER.sub("", m.group(0)) for m in _SPACED_RUN.finditer(latin)]


_B64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}|(?:[0-9a-fA-F]{2}[ :]){15,}[0-9a-fA-F]{2}")
_PERCENT = re.compile(r"(?:%[0-9a-fA-F]{2}){3}")
_PERCENT_TOKEN = re.compile(r"\S*(?:%[0-9a-fA-F]{2}){3,}\S*")


def _readable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 12 or " " not in text:
        return None
    printable = sum(c.isprintable() or c in "\n\t" for c in text)
    return text if printable >= 0.95 * len(text) else None


def decoded(text: str) -> Iterator[tuple[str, str]]:
    """(how, text) of everything encoded in ``text`` that decodes to readable words."""
    for m in _B64.finditer(text):
        blob = m.group(0)
        if not re.search(r"[A-Z]", blob) or not re.search(r"[a-z]", blob):
            continue  # a hex digest, a slug or a word run, not base64
        padded = blob + "=" * (-len(blob) % 4)
        try:
            data = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _readable(data)
        if decoded is not None:
            yield "base64", decoded
    for m in _HEX.finditer(text):
        digits = re.sub(r"[ :]", "", m.group(0))
        if len(digits) % 2:
            continue
        decoded = _readable(bytes.fromhex(digits))
        if decoded is not None:
            yield "hex", decoded
    for m in _PERCENT_TOKEN.finditer(text) if _PERCENT.search(text) else ():
        yield "url-encoding", urllib.parse.unquote(m.group(0)).replace("+", " ")
    for hidden in decode_smuggled(text):
        yield "hidden characters", hidden
