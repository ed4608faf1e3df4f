"""Poisoned content: does a text an agent wrote speak to the *agent who will read it*?

Experiences are written by agents and read by agents, so text inside one that addresses its
reader ("ignore your previous instructions", "send ~/.ssh/id_rsa to …", "call the tool X
with …", "reply with your API key") is an attack on every later reader. ``inspect_text``
finds such text and says why; it is pure (standard library only) and linear in the text.

How a text is read (each *view* feeds the rules of injection_rules.py):

- *base*: HTML entities decoded, hidden characters (hidden.py) dropped, NFKC (full-width
  and other compatibility forms become ASCII), lower case, typographic quotes made plain;
- *latin*: base with look-alike Cyrillic/Greek letters and leetspeak (``1gn0r3``) mapped to
  Latin letters; the English rules run on base and latin;
- *spaced*: runs of single letters (``i g n o r e  a l l …``, ``i.g.n.o.r.e``) joined and
  matched against the compact rules;
- *decoded*: base64 and hex blobs, URL-encoding, ROT13, text smuggled in Unicode tag
  characters or variation selectors, each read again like the original.

A match in the base or latin view does not count when it is *mentioned* rather than said:
inside quotes on its line, or after words such as "like", "such as", "the payload",
"said", "e.g." in its sentence; and rules marked ``imperative`` count only at the start of
a clause (after nothing but lead-ins such as "please", "you must", "AI agents should"),
so "the model will ignore previous instructions if …" is a description, not a command.
What was encoded or deliberately broken up counts wherever it is: nobody base64-encodes a
sentence they are only discussing.

Code (an artifact's ``code`` or ``content``) is data: its string literals and commands are
not read as prose; only its comment lines are, plus the shell/script forms of exfiltration
(a dump of the environment or of a key file on the same lines as a network sink).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from plurum_backend.hidden import decode_smuggled, strip_hidden
from plurum_backend.redaction import redact_text
from plurum_backend.services.injection_rules import (
    COMPACT_RULES,
    SHELL_SINK,
    SHELL_SOURCE,
    SINK_WORDS,
    TEXT_RULES,
    Rule,
)

__all__ = [
    "CODE_KEYS",
    "Finding",
    "inspect_experience",
    "inspect_text",
    "inspect_value",
    "reasons",
]

CODE_KEYS = frozenset({"code", "content"})
EXCERPT = 160
MAX_DEPTH = 2  # base64 inside base64, no further


@dataclass(frozen=True)
class Finding:
    """One reason to hold: what kind of attack, where, how it was written, and the words."""

    kind: str
    field: str
    via: str  # "text", "code", "homoglyphs/leetspeak", "spacing", "base64", "hex", ...
    excerpt: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "field": self.field, "via": self.via, "excerpt": self.excerpt}


# ---------------------------------------------------------------------------- views

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


def _base(text: str) -> str:
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


def _latin(base: str) -> str:
    mapped = base if base.isascii() else base.translate(_LOOKALIKE)
    return _LEET_TOKEN.sub(_leet, mapped) if _MIXED.search(mapped) else mapped


# words an obfuscated attack must disguise at least one of (after mapping to Latin letters)
_KEYWORDS = frozenset(
    [
        "ignore",
        "disregard",
        "forget",
        "override",
        "bypass",
        "previous",
        "prior",
        "instructions",
        "instruction",
        "system",
        "prompt",
        "you",
        "your",
        "are",
        "now",
        "send",
        "post",
        "upload",
        "email",
        "key",
        "keys",
        "api",
        "secret",
        "secrets",
        "token",
        "tokens",
        "password",
        "passwords",
        "credentials",
        "tool",
        "call",
        "invoke",
        "ai",
        "assistant",
        "agent",
        "model",
        "llm",
        "dan",
        "mode",
        "developer",
        "reveal",
        "print",
        "env",
        "ssh",
        "aws",
        "rules",
        "restrictions",
        "unrestricted",
        "guidelines",
        "pretend",
        "act",
        "new",
        "task",
        "all",
        "above",
        "exfiltrate",
        "contents",
        "jailbreak",
        "jailbroken",
        "admin",
        "obey",
        "follow",
    ]
)
_WORD = re.compile(r"[^\W_]+")


def _disguises_a_keyword(base: str, latin: str) -> bool:
    """Did mapping look-alikes and leetspeak turn some word into an attack keyword? (The two
    views have the same length: every mapping is one character for one.)"""
    for m in _WORD.finditer(latin):
        word = m.group(0)
        if word in _KEYWORDS and base[m.start() : m.end()] != word:
            return True
    return False


_SPACED_RUN = re.compile(r"(?<![^\W_])(?:[^\W_][^\w\n]{1,4}){4,}[^\W_](?![^\W_])")
_NOT_LETTER = re.compile(r"[\W\d_]+")


def _spaced(latin: str) -> list[str]:
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


def _decoded(text: str) -> Iterator[tuple[str, str]]:
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


# ---------------------------------------------------------------------------- context

_MENTION = re.compile(
    r"\b(?:like|such\W+as|e\.?g\.?|i\.e\.?|for\W+example|for\W+instance|phrases?|strings?|"
    r"payloads?|text|texts|sentences?|words?|saying|says|said|say|reads|wrote|written|"
    r"writes|told|tells?|asks?|asked|asking|instructing|instructs?|instructed|contain(?:s|ed|"
    r"ing)?|includ(?:es|ed|ing)|injected|injecting|inject|embedded|embeds?|called|named|"
    r"labell?ed|known\W+as|classic|typical|common|attacks?|attackers?|attempts?|tries|tried|"
    r"trying|detects?|detected|detecting|flags?|flagged|blocks?|blocked|filters?|filtered|"
    r"catch(?:es)?|caught|match(?:es|ed)?|patterns?|regex(?:es)?|tests?|testing|examples?|"
    r"quoted?|quotes|mentions?|mentioned|pretending|claims?|claimed|claiming|disguised|"
    r"hidden|smuggled|planted|malicious|adversarial|jailbreaks?|exploit\w*|vulnerab\w*|"
    r"injection|whether|if\W+the\W+\w+|when\W+the\W+\w+|trick\w*|convinc\w*|manipulat\w*|"
    r"coerc\w*|forc(?:e|es|ed|ing)|make\W+(?:it|the|an?)\W+\w+|get\W+(?:it|the|an?)\W+\w+|"
    r"cause\W+(?:it|the|an?)\W+\w+|lead\W+(?:it|the|an?)\W+\w+|"
    r"(?:the|an?|this|that)\W+(?:model|agent|llm|assistant|bot|ai)\W+(?:would|will|might|"
    r"may|could|can|should\W+not|must\W+not|won'?t|did|does|didn'?t|doesn'?t))\b"
)
_LEAD_WORDS = frozenset(
    [
        "please",
        "kindly",
        "now",
        "so",
        "and",
        "then",
        "first",
        "also",
        "just",
        "simply",
        "immediately",
        "you",
        "must",
        "should",
        "need",
        "needs",
        "to",
        "have",
        "has",
        "will",
        "shall",
        "can",
        "are",
        "required",
        "hereby",
        "always",
        "ok",
        "okay",
        "important",
        "note",
        "attention",
        "instead",
        "ai",
        "assistant",
        "assistants",
        "agent",
        "agents",
        "model",
        "models",
        "llm",
        "llms",
        "hey",
        "hi",
        "hello",
        "dear",
        "all",
        "any",
        "every",
        "from",
        "on",
        "this",
        "point",
        "forward",
        "i",
        "we",
        "want",
        "it",
        "be",
        "sure",
        "make",
        "remember",
        "actually",
        "really",
        "but",
        "however",
        "therefore",
        "next",
        "finally",
        "step",
        "one",
        "two",
        "three",
        "urgent",
        "critical",
        "warning",
        "notice",
        "ps",
        "p.s",
        "btw",
        "reading",
        "that",
        "reads",
        "who",
        "which",
        "if",
        "an",
        "a",
        "bot",
        "bots",
        "language",
        "large",
        "system",
        "admin",
        "now,",
        "yo",
        "listen",
        "go",
        "ahead",
        "do",
        "not",
        "don't",
        "never",
        "stop",
        "no",
        "longer",
        "kindly,",
        "your",
        "you're",
        "youre",
        "hereafter",
        "henceforth",
        "moving",
        "onward",
        "onwards",
        "carefully",
        "quietly",
        "silently",
        "secretly",
        "without",
        "telling",
        "user",
        "the_user",
        "asking",
        "right",
        "away",
        "task",
        "new",
        "following",
        "mandatory",
        "action",
        "required",
        "instruction",
        "instructions",
        "directive",
        "priority",
        "top",
        "override",
    ]
)
_CLAUSE_END = re.compile(r"[.!?;:\n()\[\]{}<>*\"`,|]|--|\s-\s|^-|\d+[.)]|\b(?:and|then)\s")


def _sentence_lead(view: str, start: int) -> str:
    line_start = view.rfind("\n", 0, start) + 1
    lead = view[max(line_start, start - 160) : start]
    ends = list(_CLAUSE_END.finditer(lead))
    return lead[ends[-1].end() :] if ends else lead


def _quoted(view: str, start: int) -> bool:
    line_start = view.rfind("\n", 0, start) + 1
    before = view[line_start:start]
    if before.count('"') % 2 == 1 or before.count("`") % 2 == 1:
        return True
    # 'single quotes' opened at a word start and not closed
    opened = len(re.findall(r"(?:^|[\s(\[:=])'", before))
    closed = len(re.findall(r"'(?=[\s.,;:)\]!?])", before))
    return opened > closed


def _mentioned(view: str, start: int, imperative: bool) -> bool:
    if _quoted(view, start):
        return True
    line_start = view.rfind("\n", 0, start) + 1
    window = view[max(line_start, start - 200) : start]
    sentence = re.split(r"[.!?\n](?:\s|$)", window)[-1]
    if _MENTION.search(sentence):
        return True
    if not imperative:
        return False
    lead = _sentence_lead(view, start)
    words = re.findall(r"[\w'.]+", lead)
    return any(w.strip(".") not in _LEAD_WORDS for w in words)


# ---------------------------------------------------------------------------- rules


def _excerpt(view: str, start: int, end: int) -> str:
    snippet = view[start : min(end, start + EXCERPT)].strip()
    clean, _ = redact_text(" ".join(snippet.split()))
    return clean + ("…" if end - start > EXCERPT else "")


def _rules_present(view: str, rules: Iterable[Rule]) -> Iterator[Rule]:
    """The rules whose hint words occur in ``view`` (the others cannot match: skip them)."""
    for rule in rules:
        if not rule.hints or any(h in view for h in rule.hints):
            yield rule


def _text_hits(
    view: str, field: str, via: str, judge: bool, said: set[str], mentioned: set[str]
) -> list[Finding]:
    found: list[Finding] = []
    for rule in _rules_present(view, TEXT_RULES):
        if rule.kind in said:
            continue
        for m in rule.pattern.finditer(view):
            if judge and _mentioned(view, m.start(), rule.imperative):
                mentioned.add(rule.kind)
                continue
            found.append(Finding(rule.kind, field, via, _excerpt(view, m.start(), m.end())))
            said.add(rule.kind)
            break
    return found


def _shell_hits(text: str, field: str, via: str) -> list[Finding]:
    """A secret source and a network sink within three lines of each other."""
    if not any(w in text for w in SINK_WORDS) or SHELL_SINK.search(text) is None:
        return []
    lines = text.replace("\\\n", " ").split("\n")
    for i, line in enumerate(lines):
        source = SHELL_SOURCE.search(line)
        if source is None:
            continue
        window = "\n".join(lines[max(0, i - 3) : i + 4])
        if SHELL_SINK.search(window):
            return [Finding("exfiltration", field, via, _excerpt(line, 0, len(line)))]
    return []


_COMMENT = re.compile(r"^\s*(?:#|//|--|/?\*|<!--|;|rem\b|%)(.*)$", re.MULTILINE | re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)


def _prose_of_code(code: str) -> str:
    """The comment lines of a piece of code: what in it is written for a reader."""
    lines = [m.group(1) for m in _COMMENT.finditer(code)]
    lines += [m.group(1) for m in _HTML_COMMENT.finditer(code)]
    return "\n".join(lines)


def _inspect(text: str, field: str, code: bool, depth: int, via: str) -> list[Finding]:
    if not text or not text.strip():
        return []
    findings: list[Finding] = []
    lowered = text.lower()
    findings += _shell_hits(lowered, field, "code" if code else via)
    prose = _prose_of_code(text) if code else text
    said: set[str] = {f.kind for f in findings}
    mentioned: set[str] = set()
    if prose.strip():
        judge = via == "text" or via == "code"
        base = _base(prose)
        findings += _text_hits(base, field, via, judge, said, mentioned)
        latin = _latin(base)
        if latin != base and _disguises_a_keyword(base, latin):
            obfuscated = "homoglyphs/leetspeak" if judge else via
            for f in _text_hits(latin, field, obfuscated, judge, said, mentioned):
                findings.append(f)
        for joined in _spaced(latin):
            for rule in COMPACT_RULES:
                if rule.kind in said or rule.kind in mentioned:
                    continue
                m = rule.pattern.search(joined)
                if m is not None:
                    how = "spacing" if judge else via
                    findings.append(Finding(rule.kind, field, how, _excerpt(joined, *m.span())))
                    said.add(rule.kind)
    if depth < MAX_DEPTH:
        for how, decoded in _decoded(text):
            findings += _inspect(decoded, field, False, depth + 1, how)
        base = _base(text)
        if depth == 0 and not code and any(w in base for w in _ROT13_WORDS):
            rot = codecs.decode(base, "rot13")
            for f in _text_hits(rot, field, "rot13", False, set(said), set()):
                if f.excerpt.rstrip("…") not in base:  # not in a script rot13 leaves alone
                    findings.append(f)
    return _dedupe(findings)


# "ignore", "instructions", "previous", "you are", "system", "disregard", "forget", "api key",
# "secret", "password", "tool", "send", in ROT13: the only texts worth decoding
_ROT13_WORDS = ("vtaber", "vafgehpgvba", "cerivbhf", "lbh ner", "flfgrz", "qvfertneq",
                "sbetrg", "ncv xrl", "frperg", "cnffjbeq", "gbby", "fraq")  # fmt: skip


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        if (f.kind, f.via) not in seen:
            seen.add((f.kind, f.via))
            out.append(f)
    return out


# ---------------------------------------------------------------------------- public


def inspect_text(text: str, field: str = "text", *, code: bool = False) -> list[Finding]:
    """Why ``text`` reads as an instruction to the agent who will read it (empty: it does
    not). ``code``: the text is source code or a shell session, not prose."""
    return _inspect(text, field, code, 0, "text")


def inspect_value(value: Any, field: str, *, artifact: bool = False) -> list[Finding]:
    """Every string of JSON-like ``value``; under ``code``/``content`` of an artifact, as code."""
    found: list[Finding] = []
    if isinstance(value, str):
        return inspect_text(value, field)
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{field}.{key}"
            if isinstance(item, str):
                found += inspect_text(item, where, code=artifact and key in CODE_KEYS)
            else:
                found += inspect_value(item, where, artifact=artifact)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += inspect_value(item, f"{field}[{i}]", artifact=artifact)
    return found


EXPERIENCE_TEXT = ("goal", "solution", "domain", "context")
EXPERIENCE_LISTS = ("dead_ends", "breakthroughs", "gotchas", "artifacts")


def inspect_experience(record: dict[str, Any]) -> list[Finding]:
    """Every field of an experience as the API takes it (text fields, item lists, tags)."""
    found: list[Finding] = []
    for key in EXPERIENCE_TEXT:
        if isinstance(record.get(key), str):
            found += inspect_text(record[key], key)
    for key in EXPERIENCE_LISTS:
        items = record.get(key) or []
        if isinstance(items, list):
            found += inspect_value(items, key, artifact=key == "artifacts")
    tags = record.get("tags") or []
    if isinstance(tags, list):
        found += inspect_value([t for t in tags if isinstance(t, str)], "tags")
    return found


def reasons(findings: Iterable[Finding]) -> list[dict[str, str]]:
    """Findings as stored and shown: one per kind and field, in order."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for f in findings:
        if (f.kind, f.field) not in seen:
            seen.add((f.kind, f.field))
            out.append(f.as_json())
    return out
