"""Poisoned content: does a text an agent wrote speak to the *agent who will read it*?

Experiences are written by agents and read by agents, so text inside one that addresses its
reader ("ignore your previous instructions", "send ~/.ssh/id_rsa to …", "call the tool X
with …", "reply with your API key") is an attack on every later reader. ``inspect_text``
finds such text and says why; it is pure (standard library only) and linear in the text.

How a text is read (injection_views.py makes the views; injection_rules.py and
injection_languages.py hold the patterns): the rules run on the *base* view and, when
mapping look-alike letters and leetspeak disguised a keyword, on the *latin* view; runs of
spaced-out letters are joined and matched against the compact rules; base64, hex,
URL-encoded, ROT13 and smuggled (tag characters, variation selectors) text is decoded and
read again like the original.

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

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from plurum_backend.redaction import redact_text
from plurum_backend.services import injection_views as views
from plurum_backend.services.injection_languages import OTHER_LANGUAGE_RULES
from plurum_backend.services.injection_rules import (
    COMPACT_RULES,
    ENGLISH_RULES,
    SHELL_SINK,
    SHELL_SOURCE,
    SINK_WORDS,
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
TEXT_RULES = ENGLISH_RULES + OTHER_LANGUAGE_RULES


@dataclass(frozen=True)
class Finding:
    """One reason to hold: what kind of attack, where, how it was written, and the words."""

    kind: str
    field: str
    via: str  # "text", "code", "homoglyphs/leetspeak", "spacing", "base64", "hex", ...
    excerpt: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "field": self.field, "via": self.via, "excerpt": self.excerpt}


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
    r"templates?|markers?|tags|"
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
        base = views.base(prose)
        findings += _text_hits(base, field, via, judge, said, mentioned)
        latin = views.latin(base)
        if latin != base and views.disguises_a_keyword(base, latin):
            obfuscated = "homoglyphs/leetspeak" if judge else via
            for f in _text_hits(latin, field, obfuscated, judge, said, mentioned):
                findings.append(f)
        for joined in views.spaced(latin):
            for rule in COMPACT_RULES:
                if rule.kind in said or rule.kind in mentioned:
                    continue
                m = rule.pattern.search(joined)
                if m is not None:
                    how = "spacing" if judge else via
                    findings.append(Finding(rule.kind, field, how, _excerpt(joined, *m.span())))
                    said.add(rule.kind)
    if depth < MAX_DEPTH:
        for how, decoded in views.decoded(text):
            findings += _inspect(decoded, field, False, depth + 1, how)
        base = views.base(text)
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
