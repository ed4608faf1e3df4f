"""Find credentials in text and replace them with ``[REDACTED:<kind>]``.

Agents send Plurum whatever their tools printed, so every string is scrubbed
before it is stored.  This module is pure (standard library ``re`` only) and
every pattern runs in linear time: token bodies use possessive quantifiers,
bodies that may run long are bounded or stop at a delimiter, and each pattern
begins with a literal (or a small set of letters) so the engine scans ahead
quickly.  A rule whose keywords do not occur in the text is skipped
altogether; a clean 1 MiB log scrubs in about a tenth of a second.

Kinds, in the order the rules run (more specific first):

``private_key``     ``-----BEGIN ... PRIVATE KEY-----`` blocks (RSA, EC, DSA,
                    OPENSSH, ENCRYPTED, PGP ``... BLOCK``), replaced whole, up to
                    the ``-----END`` line, or up to the end of the base64 body
                    when the output was cut off.
``jwt``             ``eyJ<header>.eyJ<payload>.<signature>``.
``anthropic_key``   ``sk-ant-...``.
``openai_key``      ``sk-proj-``/``sk-svcacct-``/``sk-admin-`` keys and legacy
                    ``sk-`` + 32 or more letters and digits.
``plurum_key``      ``plrm_live_``/``plrm_test_`` + base62.
``github_token``    ``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``.
``gitlab_token``    ``glpat-``, ``gldt-``, ``glrt-``, ``glptt-``.
``slack_webhook``   ``https://hooks.slack.com/services/...`` (whole URL).
``slack_token``     ``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xoxs-``, ``xoxe-``,
                    ``xapp-``.
``stripe_key``      ``sk_live_``, ``sk_test_``, ``rk_live_``, ``rk_test_``.
``google_api_key``  ``AIza`` + 35 characters.
``aws_access_key``  ``AKIA``/``ASIA``/``ABIA``/``ACCA`` + 16 upper-case letters
                    or digits.
``aws_secret_key``  a 40-character secret only in context: after a key named
                    like ``aws_secret_access_key``/``SecretAccessKey``, or right
                    after an access key id (``AKIA...,<secret>`` as in
                    ``credentials.csv``).  A bare 40-character string (a git
                    SHA, say) is never taken for one.
``url_password``    ``scheme://user:PASSWORD@host``; user and host are kept.
``basic_auth``      ``Authorization: Basic <credentials>``.
``bearer_token``    ``Authorization: Bearer <token>`` (also ``token``/``bot``
                    schemes) and a bare ``Bearer <token>`` of 20 or more
                    characters that contains a digit.
``password``        values of keys ending in ``password``/``passwd``/
                    ``passphrase``; also ``curl -u user:PASSWORD``,
                    ``sshpass -p PASSWORD``, ``docker login ... -p PASSWORD``
                    and ``~/.netrc`` lines (``machine h login u password P``).
``secret``          values of keys ending in ``secret``/``secret_key``/
                    ``secret_access_key``.
``token``           values of keys ending in ``token`` (not ``tokens``,
                    ``token_type``, ``max_tokens``).
``api_key``         values of keys ending in ``api_key``/``apikey``/
                    ``access_key``/``account_key`` (any of ``_``, ``-``, ``.``).

Key/value forms recognised for the last four kinds: ``KEY=value`` (env files,
shell, logfmt, query strings), ``key = "value"`` (code, ini, TOML), ``key:
value`` (YAML, HTTP headers), ``"key": "value"`` (JSON, also with escaped
quotes as in JSON embedded in JSON), ``key: Type = value`` (annotated code),
``key := value``, ``key => value``,
``--key value``/``--key=value``/``-Dkey=value`` (command lines) and
``<key>value</key>`` (XML).  Only the value is replaced; the key, quotes and
separator stay.  An unquoted value ends at whitespace, a quote, ``;``, ``&``,
``,``, ``)``, ``}`` or ``]`` (shell, query strings, mount options, Java's
``{k=v, ...}``); after ``key:`` at the start of a line (YAML) it runs on over
spaces to the end of the line or a `` #`` comment.

Decisions about what is *not* a secret (left byte for byte):

* Placeholders: empty values; values with no letter or digit (``***``,
  ``...``); values that begin with ``$`` followed by a name, ``{``, ``(``
  (``$PASSWORD``, ``${DB_PASSWORD}``, ``$(pass show db)``, ``${{ secrets.X }}``),
  or with ``%`` (``%s``, ``%(password)s``, ``%PASSWORD%``), ``{`` (templates,
  objects), ``<`` (``<password>``, ``<%= ... %>``), ``(`` or ``[``
  (``(sensitive value)``, ``[FILTERED]``, lists); values that contain
  ``${``, ``{{`` or ``<%``; ``None``/``null``/``nil``/``undefined``/``true``/
  ``false``; ``x``-runs (``xxxx``); ``[FILTERED]``/``[REDACTED]``/
  ``REDACTED``/``<redacted>``-style masks; values already redacted.  Literal
  strings that merely look like examples (``changeme``, ``password``,
  ``your-api-key``) *are* redacted: they cannot be told from real ones, and
  redacting them loses nothing.
* Code: an unquoted value that is a call or subscript (``get_token()``,
  ``os.environ["DB_PASSWORD"]``, ``ENV.fetch(...)``), an attribute path of
  letters and underscores (``self.password``, ``settings.SECRET_KEY``), or, after ``=`` with spaces
  or an annotation colon, a bare identifier made of letters and underscores
  only (``password = db_password``, ``def f(password: str)``).  A bare word
  without digits after ``key = `` is therefore *kept* (an ini file's
  ``password = letmein`` is missed); ``KEY=word`` without spaces (env files,
  logfmt, ``docker -e``, Java's ``{user=bob, password=letmein}``) is
  redacted unless it is followed by ``,`` or ``)`` outside braces (keyword
  arguments such as ``connect(password=pw)``) or repeats the key
  (``password=password``).  Query strings (``?token=...&``) are never taken
  for code.
* ``key: value`` with an unquoted key and unquoted value only counts where
  YAML or a header would put it: at the start of a line (after indentation,
  ``- `` or ``#``), or after ``{``, ``,``, ``(``, ``[``, a quote, ``>`` or
  ``<`` (``curl -v`` dumps).  So prose such as ``Invalid token: expected 3
  segments`` in the middle of a line is kept, while ``Password: hunter2`` at
  the start of a line is redacted.
* Unquoted numbers are kept for ``token``/``secret``/``api_key`` keys (counts,
  limits, ids) but redacted for ``password`` keys (PINs).
* Command-line values that are another flag (``--password --verbose``) or an
  upper-case metavar from ``--help`` (``--token TOKEN``) are kept.
* Prose mentioning passwords, git SHAs, sha256 digests (also
  ``sha256:...`` image digests), UUIDs and base64 in prose are never matched,
  because every token rule needs a vendor prefix and every other rule needs a
  key or header name.

:func:`redact_value` walks JSON-like data: every string is scrubbed, and a
non-placeholder string stored under a sensitive key (``password``, ``token``,
``apiKey``, ``X-Api-Key``, ``client_secret``, ...) is replaced whole by the
marker of its kind (or of the token inside, when the whole value is one known
token such as a ``ghp_`` token); an ``Authorization`` value keeps its scheme
(``"Bearer [REDACTED:bearer_token]"``).  Dictionary keys are not changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from plurum_backend.hidden import strip_hidden

__all__ = [
    "KINDS",
    "Redaction",
    "marker",
    "redact_text",
    "redact_value",
    "summarize",
]

MARKER_PREFIX = "[REDACTED:"


def marker(kind: str) -> str:
    """The text that replaces a secret of ``kind``."""
    return f"{MARKER_PREFIX}{kind}]"


@dataclass(frozen=True)
class Redaction:
    """How many secrets of one kind were replaced."""

    kind: str
    count: int


def summarize(counts: Mapping[str, int]) -> tuple[Redaction, ...]:
    """Counts as :class:`Redaction` records, sorted by kind."""
    return tuple(Redaction(kind, n) for kind, n in sorted(counts.items()) if n > 0)


# --------------------------------------------------------------------------
# Value classification (placeholders, code, sensitive key names)
# --------------------------------------------------------------------------

# fmt: off
_NULLISH = frozenset({
    "none", "null", "nil", "undefined", "true", "false", "redacted", "hidden", "masked",
    "filtered", "[redacted]", "[filtered]", "[hidden]", "[masked]", "<redacted>", "<hidden>",
})
# fmt: on
_X_RUN = re.compile(r"[xX]{3,}")
_SHELL_REF = re.compile(r"\$(?:[A-Za-z_{(]|$)")


def _is_placeholder(value: str) -> bool:
    """True for values that cannot be a literal secret (see module docstring)."""
    v = value.strip()
    if not v or v.startswith(MARKER_PREFIX):
        return True
    if not any(c.isalnum() for c in v):
        return True
    if _SHELL_REF.match(v) or v[0] in "%{<([":
        return True
    if "${" in v or "{{" in v or "<%" in v:
        return True
    return v.lower() in _NULLISH or _X_RUN.fullmatch(v) is not None


_CALL = re.compile(r"[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][\w$]*)*[(\[]")
_DOTTED = re.compile(r"[a-z_][A-Za-z_]*(?:\.[A-Za-z_]+)+")
_WORDY = re.compile(r"[a-z_][A-Za-z_]*")
# fmt: off
_TYPE_WORDS = frozenset({
    "str", "string", "String", "bytes", "SecretStr", "SecretBytes", "Secret", "int", "bool",
    "Any", "Optional", "text", "Text",
})
# fmt: on

_SENSITIVE_KEY = re.compile(
    r"(?P<password>pass(?:word|wd|phrase))"
    r"|(?P<secret>secret(?:[_.-]?(?:access[_.-]?)?key)?)"
    r"|(?P<token>token)"
    r"|(?P<api_key>(?:api|access|account)[_.-]?key)",
)


def _key_kind(key: str) -> str | None:
    """``password``/``secret``/``token``/``api_key`` when ``key`` names one, else None."""
    k = key.strip("\"'\\- \t").lower()
    for start in range(max(0, len(k) - 17), len(k)):
        m = _SENSITIVE_KEY.fullmatch(k, start)
        if m is not None:
            return m.lastgroup
    return None


def _prev_char(s: str, i: int) -> tuple[str, int]:
    """The nearest character before index ``i`` that is not a space or tab."""
    j = i - 1
    while j >= 0 and s[j] in " \t":
        j -= 1
    return (s[j], j) if j >= 0 else ("", -1)


def _next_char(s: str, i: int) -> str:
    """The first character at or after ``i`` that is not a space or tab."""
    n = len(s)
    while i < n and s[i] in " \t":
        i += 1
    return s[i] if i < n else ""


def _enclosing_bracket(s: str, i: int) -> str:
    """The innermost bracket still open before ``i`` on the same line (within 200 chars)."""
    depth = 0
    for j in range(i - 1, max(-1, i - 201), -1):
        c = s[j]
        if c == "\n":
            break
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                return c
            depth -= 1
    return ""


def _colon_context_ok(s: str, key_start: int) -> bool:
    """Whether ``key: value`` at ``key_start`` sits where YAML or a header would."""
    c, j = _prev_char(s, key_start)
    if c in ("", "\n", "\r") or c in "{,([\"'<>#":
        return True
    if c == "-":  # YAML list item "- password: x"
        c2, _ = _prev_char(s, j)
        return c2 in ("", "\n", "\r")
    return False


# --------------------------------------------------------------------------
# Replacement strategies
# --------------------------------------------------------------------------

Match = re.Match[str]
# A strategy returns (replacement for the whole match, kind), or None to keep it.
Strategy = Callable[[Match], tuple[str, str] | None]


def _splice(m: Match, group: str, replacement: str) -> str:
    """The whole match with only ``group`` replaced."""
    whole = m.group(0)
    a, b = m.span(group)
    off = m.start()
    return whole[: a - off] + replacement + whole[b - off :]


def _whole(kind: str) -> Strategy:
    def apply(m: Match) -> tuple[str, str] | None:
        return marker(kind), kind

    return apply


def _group(kind: str, accept: Callable[[Match], bool] | None = None) -> Strategy:
    """Replace the ``secret`` group, keep the rest of the match."""

    def apply(m: Match) -> tuple[str, str] | None:
        if _is_placeholder(m.group("secret")) or (accept is not None and not accept(m)):
            return None
        return _splice(m, "secret", marker(kind)), kind

    return apply


def _mixed_case(m: Match) -> bool:
    v = m.group("secret")
    return any(c.islower() for c in v) and any(c.isupper() for c in v)


def _has_digit(m: Match) -> bool:
    return any(c.isdigit() for c in m.group("secret"))


def _not_numeric(m: Match) -> bool:
    return not m.group("secret").isdigit()


def _authorization(m: Match) -> tuple[str, str] | None:
    scheme = (m.group("scheme") or "").lower()
    secret = m.group("secret")
    if _is_placeholder(secret):
        return None
    if not scheme and (len(secret) < 16 or not any(c.isdigit() for c in secret)):
        return None  # "authorization = request.headers.get(...)" and the like
    kind = "basic_auth" if scheme == "basic" else "bearer_token"
    return _splice(m, "secret", marker(kind)), kind


def _quoted_value(m: Match) -> tuple[str, str | None]:
    """(group name, value) of the quoted alternative that matched, else ("uq", ...)."""
    for name in ("dq", "sq", "eq"):
        v = m.group(name)
        if v is not None:
            return name, v
    return "uq", m.group("uq")


_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_KEY = 80


@dataclass(frozen=True)
class _Key:
    start: int  # where the key name begins
    name: str
    quote: str  # the quote before the key: "", '"', "'" or '\\"'


def _find_key(m: Match) -> _Key | None:
    """The whole key whose name ends with the matched ``word``, scanning backwards."""
    s = m.string
    end = m.end("word")
    i = m.start("word")
    limit = max(0, i - _MAX_KEY)
    while i > limit and s[i - 1] in _KEY_CHARS:
        i -= 1
    if i == limit and i > 0 and s[i - 1] in _KEY_CHARS:
        return None  # absurdly long "key": part of some blob
    name = s[i:end]
    if not (name[0].isalpha() or name[0] == "_"):
        return None  # "--password=x" is the command-line rule's; ".5token" is nothing
    quote = ""
    if i > 0 and s[i - 1] in "\"'":
        quote = s[i - 1]
        if i > 1 and s[i - 2] == "\\":
            quote = "\\" + quote
    return _Key(i, name, quote)


def _is_code(m: Match, key: _Key, value: str, colon: bool) -> bool:
    """Whether an unquoted ``value`` is an expression rather than a literal."""
    s = m.string
    if key.start > 0 and s[key.start - 1] in "?&":
        return False  # URL query string
    if _CALL.match(value) or _DOTTED.fullmatch(value):
        return True  # get_token(), os.environ[...], self.password
    after = _next_char(s, m.end())
    word = _WORDY.fullmatch(value) is not None
    if colon:
        if value.rstrip("!?") in _TYPE_WORDS or (word and after == "="):
            return True  # annotation: "password: str", "token: Secret = ..."
        return word and after in (",", ")", "}", "]")  # {password: pw}
    sep_start, sep_end = m.span("sep")
    spaced = m.group("sep") != "=" or s[sep_start - 1] in " \t" or s[sep_end] in " \t"
    if spaced:
        return word  # password = db_password
    # KEY=value without spaces: literal (env, logfmt, Java's {k=v, ...}) unless it
    # is a keyword argument: f(password=pw, ...)
    if not word:
        return False
    if value.lower() == key.name.lower():
        return True
    return after in (",", ")") and _enclosing_bracket(s, key.start) != "{"


def _keyed(m: Match) -> tuple[str, str] | None:
    """``key <sep> value``: redact the value unless it is a placeholder or code."""
    key = _find_key(m)
    if key is None:
        return None
    closing = m.group("kq")
    if closing is not None and closing != key.quote:
        return None
    kind = _key_kind(key.name)
    if kind is None:  # pragma: no cover - the word alternatives are all sensitive
        return None
    group, value = _quoted_value(m)
    if value is None or _is_placeholder(value):
        return None
    colon = m.group("colon") is not None
    if group == "uq":
        # (an unmatched quote before the key, as in -H "X-Api-Key: v", is context too)
        if colon and closing is None and not _colon_context_ok(m.string, key.start):
            return None
        if _is_code(m, key, value.split()[0], colon):
            return None
        if kind != "password" and value.replace(".", "", 1).isdigit():
            return None
    elif "f" in (m.group("sp") or "").lower() and "{" in value:
        return None  # f-string interpolation
    return _splice(m, group, marker(kind)), kind


_METAVAR = re.compile(r"[A-Z][A-Z0-9_]*")


def _cli_flag(m: Match) -> tuple[str, str] | None:
    kind = _key_kind(m.group("key"))
    if kind is None:  # pragma: no cover
        return None
    group, value = _quoted_value(m)
    if value is None or _is_placeholder(value):
        return None
    if group == "uq" and (value.startswith("-") or _METAVAR.fullmatch(value)):
        return None  # next flag, or a --help metavar
    if group == "uq" and kind != "password" and value.isdigit():
        return None
    return _splice(m, group, marker(kind)), kind


def _xml_element(m: Match) -> tuple[str, str] | None:
    kind = _key_kind(m.group("key"))
    if kind is None or _is_placeholder(m.group("secret")):
        return None
    return _splice(m, "secret", marker(kind)), kind


# --------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------
# Every pattern begins with a literal (or a small set of letters) so that the
# regex engine can skip ahead quickly; "starts a word" checks are lookbehinds
# placed *after* that literal.

# The last word of a sensitive key name.
# (A case-sensitive first letter lets the regex engine skip ahead; the rest
# ignores case.)
_KEY_WORD = (
    r"[AaPpSsTt](?i:(?<=p)ass(?:word|wd|phrase)"
    r"|(?<=s)ecret(?:[_.-]?(?:access[_.-]?)?key)?"
    r"|(?<=t)oken"
    r"|(?<=a)(?:pi|ccess|ccount)[_.-]?key)"
)
# The same, as lookbehinds: "a sensitive key name ends right here".
_KEY_END = (
    r"(?:(?<=password)|(?<=passwd)|(?<=passphrase)"
    r"|(?<=secret)|(?<=secret[_.-]key)|(?<=secretkey)"
    r"|(?<=token)"
    r"|(?<=api[_.-]key)|(?<=apikey)|(?<=access[_.-]key)|(?<=accesskey)"
    r"|(?<=account[_.-]key)|(?<=accountkey))"
)
# Any of these (lower-cased) occurs in every text a key/value rule can match.
_KEY_HINTS = ("pass", "secret", "token", "key")

# A quoted value: "..." / '...' (optionally with a Python prefix) or \"...\".
_QUOTED = (
    r"(?P<sp>[rRbBuUfF]{0,2})"
    r"(?:\"(?P<dq>[^\"\\\n]*+(?:\\.[^\"\\\n]*+)*+)\""
    r"|'(?P<sq>[^'\\\n]*+(?:\\.[^'\\\n]*+)*+)'"
    r"|\\\"(?P<eq>[^\"\\\n]*+(?:\\[^\"\n][^\"\\\n]*+)*+)\\\")"
)
# An unquoted value ends at whitespace, a quote or ; & , ) } ]
_UNQUOTED_CHAR = r"[^\s\"'`;&,)}\]]"

# key = value, key: value, "key": "value", key := value, key => value.
# The match starts at the last word of the key; _find_key scans back for the rest.
# A type annotation between key and "=": API_KEY: Final[str] = "...", x: str | None = ...
_TYPE = r"[A-Za-z_][\w.]*+(?:\[[^\]\n]{0,100}+\])?+"
_ANNOTATED = r":[ \t]*" + _TYPE + r"(?:[ \t]*\|[ \t]*" + _TYPE + r")*+[ \t]*=(?![=~>])"

_KEYED = (
    r"(?P<word>" + _KEY_WORD + r")(?P<kq>\\?[\"'])?"
    r"[ \t]*(?P<sep>" + _ANNOTATED + r"|(?P<colon>:)(?![:=/])|:=|=>|=(?![=~>]))[ \t]*"
    r"(?:" + _QUOTED + r"|(?P<uq>" + _UNQUOTED_CHAR + r"++"
    # after a colon (YAML) the value runs to the end of the line or a comment
    r"(?(colon)(?:[ \t]++[^\s\"'`;&,)}\]#]" + _UNQUOTED_CHAR + r"*+)*+)))"
)

# --password value, --password=value, -Dspring.datasource.password=value
_CLI_FLAG = (
    r"-(?<![\w.-]-)(?P<key>-?[A-Za-z][\w.-]{0,80}+)" + _KEY_END + r"(?:=|[ \t]++)"
    r"(?:" + _QUOTED + r"|(?P<uq>[^\s\"'`;&|]++))"
)

# <password>value</password>
_XML_ELEMENT = (
    r"<(?P<key>[A-Za-z_][\w.:-]{0,80}+)" + _KEY_END + r">(?P<secret>[^<\n]{1,1024}+)</(?P=key)>"
)


@dataclass(frozen=True)
class _Rule:
    kind: str  # the kind it reports ("a|b" when it depends on the match)
    pattern: re.Pattern[str]
    apply: Strategy
    hints: tuple[str, ...]  # skip the rule unless one occurs in the lower-cased text


def _rule(
    kind: str, hints: tuple[str, ...], pattern: str, apply: Strategy, flags: int = 0
) -> _Rule:
    return _Rule(kind, re.compile(pattern, flags), apply, hints)


_I = re.IGNORECASE
_BY_KEY = "password|secret|token|api_key"

_RULES: tuple[_Rule, ...] = (
    _rule(
        "private_key",
        ("private key",),
        r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        # the body runs to the next "-----", which must start the END line ...
        r"(?:[^-]*+(?:-(?!----)[^-]*+)*+-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        # ... or, in cut-off output, header and base64 lines up to the first other line
        r"|(?:(?:\r?\n|\\r?\\n){1,2}+[ \t]*(?:[A-Za-z-]++:[^\r\n\\]*+|[A-Za-z0-9+/=]++))*+)",
        _whole("private_key"),
    ),
    _rule(
        "jwt",
        ("eyj",),
        r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{5,}+\.eyJ[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*+",
        _whole("jwt"),
    ),
    _rule(
        "anthropic_key",
        ("sk-ant-",),
        r"sk-ant-(?<![\w-]sk-ant-)[A-Za-z0-9_-]{20,}+",
        _whole("anthropic_key"),
    ),
    _rule(
        "openai_key",
        ("sk-",),
        r"sk-(?<![\w-]sk-)(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}+"
        r"|[A-Za-z0-9]{32,}+(?![\w-]))",
        _whole("openai_key"),
    ),
    _rule(
        "plurum_key",
        ("plrm_",),
        r"plrm_(?<![\w-]plrm_)(?:live|test)_[A-Za-z0-9]{16,}+",
        _whole("plurum_key"),
    ),
    _rule(
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"g(?<![\w-]g)(?:h[pousr]_[A-Za-z0-9]{36,}+|ithub_pat_[A-Za-z0-9_]{22,}+)",
        _whole("github_token"),
    ),
    _rule(
        "gitlab_token",
        ("glpat-", "gldt-", "glrt-", "glptt-"),
        r"gl(?<![\w-]gl)(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,}+"
        r"(?:\.[A-Za-z0-9]{2}\.[A-Za-z0-9_-]++)?",
        _whole("gitlab_token"),
    ),
    _rule(
        "slack_webhook",
        ("hooks.slack.com",),
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]++",
        _whole("slack_webhook"),
    ),
    _rule(
        "slack_token",
        ("xox", "xapp-"),
        r"x(?<![\w-]x)(?:ox[abeprs]-(?=[A-Za-z0-9-]{0,40}\d)[A-Za-z0-9-]{10,}+"
        r"|app-\d-[A-Za-z0-9-]{10,}+)",
        _whole("slack_token"),
    ),
    _rule(
        "stripe_key",
        ("k_live_", "k_test_"),
        r"[sr]k_(?<![\w-][sr]k_)(?:live|test)_[A-Za-z0-9]{16,}+",
        _whole("stripe_key"),
    ),
    _rule(
        "google_api_key",
        ("aiza",),
        r"AIza(?<![\w-]AIza)[A-Za-z0-9_-]{35}(?![\w-])",
        _whole("google_api_key"),
    ),
    _rule(
        "aws_access_key",
        ("akia", "asia", "abia", "acca"),
        r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])",
        _whole("aws_access_key"),
    ),
    _rule(
        "aws_secret_key",
        ("secret",),
        r"[AaSs](?i:(?<=a)ws[_.-]?secret[_.-]?(?:access[_.-]?)?key|(?<=s)ecret[_.-]?access[_.-]?key)"
        r"\\?[\"']?[ \t]*(?:[:=]|=>)?[ \t]*\\?[\"']?"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        _group("aws_secret_key"),
    ),
    _rule(
        "aws_secret_key",  # right after an access key id, as in credentials.csv
        ("[redacted:aws_access_key]",),
        r"\[REDACTED:aws_access_key\][ \t,;:|\"'=]{1,8}"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        _group("aws_secret_key", _mixed_case),
    ),
    _rule(
        "url_password",
        ("://",),
        r"://(?<=[A-Za-z0-9]://)[^\s:/@'\"<>]{0,256}+:(?P<secret>[^\s@/'\"<>]{1,256}+)@",
        _group("url_password"),
    ),
    _rule(
        "bearer_token|basic_auth",
        ("authorization",),
        r"[Aa](?i:uthorization)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[ \t]*"
        r"(?:(?P<scheme>(?i:bearer|token|basic|bot))[ \t]+)?"
        r"(?P<secret>[A-Za-z0-9._~+/=-]{8,}+)",
        _authorization,
    ),
    _rule(
        "bearer_token",
        ("bearer",),
        r"[Bb]earer(?<![\w-][Bb]earer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{20,}+=*)",
        _group("bearer_token", _has_digit),
    ),
    _rule(
        "password",  # curl -u user:password
        ("-u",),
        r"-(?<![\w-]-)(?:u|-user)(?:[ \t]+|=)(?P<q>[\"']?)[^\s:\"'$]{1,256}+:"
        r"(?P<secret>[^\s\"']{1,256}+)(?P=q)",
        _group("password", _not_numeric),
    ),
    _rule(
        "password",  # sshpass -p X, docker login -u u -p X
        ("sshpass", " login"),
        r"(?:sshpass|(?:docker|podman|buildah|skopeo) login)[^\n]{0,200}?"
        r"[ \t]-p[ \t]*(?P<q>[\"']?)(?P<secret>[^\s\"']{1,256}+)(?P=q)",
        _group("password"),
    ),
    _rule(
        "password",  # ~/.netrc
        ("machine",),
        r"machine[ \t]+\S++[ \t\r\n]+login[ \t]+\S++[ \t\r\n]+password[ \t]+(?P<secret>\S++)",
        _group("password"),
    ),
    _rule(_BY_KEY, _KEY_HINTS, _XML_ELEMENT, _xml_element, _I),
    _rule(_BY_KEY, _KEY_HINTS, _CLI_FLAG, _cli_flag, _I),
    _rule(_BY_KEY, _KEY_HINTS, _KEYED, _keyed),
)

KINDS: tuple[str, ...] = (
    "private_key",
    "jwt",
    "anthropic_key",
    "openai_key",
    "plurum_key",
    "github_token",
    "gitlab_token",
    "slack_webhook",
    "slack_token",
    "stripe_key",
    "google_api_key",
    "aws_access_key",
    "aws_secret_key",
    "url_password",
    "basic_auth",
    "bearer_token",
    "password",
    "secret",
    "token",
    "api_key",
)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _run(rule: _Rule, text: str, counts: dict[str, int]) -> str:
    def replace(m: Match) -> str:
        result = rule.apply(m)
        if result is None:
            return m.group(0)
        replacement, kind = result
        counts[kind] = counts.get(kind, 0) + 1
        return replacement

    return rule.pattern.sub(replace, text)


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """``text`` with every credential replaced and every hidden character removed
    (``plurum_backend.hidden``), and how many of each kind."""
    text, counts = strip_hidden(text)
    lowered: str | None = None
    for rule in _RULES:
        if lowered is None:
            lowered = text.lower()
        if not any(hint in lowered for hint in rule.hints):
            continue
        before = sum(counts.values())
        text = _run(rule, text, counts)
        if sum(counts.values()) != before:
            lowered = None  # the text changed: hints are checked on a fresh copy
    return text, counts


def _merge(into: dict[str, int], counts: Mapping[str, int]) -> None:
    for kind, n in counts.items():
        into[kind] = into.get(kind, 0) + n


_ONE_MARKER = re.compile(r"\[REDACTED:\w+\]")
_AUTH_VALUE = re.compile(r"(?i)(?P<scheme>bearer|token|basic|bot)[ \t]+(?P<secret>\S+)")


def _redact_under_key(key: str, value: str, counts: dict[str, int]) -> str | None:
    """The replacement for a string stored under a sensitive key.

    None when the key is not sensitive or the value is a placeholder: the
    caller then scrubs the string like any other.
    """
    if _is_placeholder(value):
        return None
    if key.strip().lower() in ("authorization", "proxy-authorization"):
        m = _AUTH_VALUE.fullmatch(value.strip())
        if m is None:
            _merge(counts, {"bearer_token": 1})
            return marker("bearer_token")
        if _is_placeholder(m.group("secret")):
            return None
        kind = "basic_auth" if m.group("scheme").lower() == "basic" else "bearer_token"
        _merge(counts, {kind: 1})
        return f"{m.group('scheme')} {marker(kind)}"
    key_kind = _key_kind(key)
    if key_kind is None:
        return None
    scrubbed, found = redact_text(value)
    if _ONE_MARKER.fullmatch(scrubbed.strip()):
        _merge(counts, found)  # the whole value is one known token: keep its kind
        return scrubbed
    _merge(counts, {key_kind: 1})
    return marker(key_kind)


def _walk(value: object, counts: dict[str, int]) -> object:
    if isinstance(value, str):
        text, found = redact_text(value)
        _merge(counts, found)
        return text
    if isinstance(value, dict):
        out: dict[object, object] = {}
        for k, v in value.items():
            if isinstance(k, str) and isinstance(v, str) and v:
                replaced = _redact_under_key(k, v, counts)
                if replaced is not None:
                    out[k] = replaced
                    continue
            out[k] = _walk(v, counts)
        return out
    if isinstance(value, list):
        return [_walk(v, counts) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, counts) for v in value)
    return value


def redact_value(value: object) -> tuple[object, dict[str, int]]:
    """A copy of JSON-like ``value`` with every string scrubbed, and the counts.

    Dicts, lists and tuples are walked; numbers, booleans and ``None`` are
    returned as they are.  See the module docstring for sensitive keys.
    """
    counts: dict[str, int] = {}
    return _walk(value, counts), counts
