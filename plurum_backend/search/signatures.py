"""Canonical signatures of error output, so the same error pasted twice is recognised.

Two agents hitting one error paste different text: paths, line numbers, addresses, ids,
timestamps, hostnames, ports and versions differ, the error does not. A signature keeps what
names the error and replaces what varies:

- the *kind* of output (python, node, go, rust, java, postgres, kubernetes, npm, shell, …);
- the *type*: exception class (``KeyError``, ``java.lang.NullPointerException``), error code
  (``E0382``, ``ERR_MODULE_NOT_FOUND``, ``ERESOLVE``, a SQLSTATE) or condition
  (``CrashLoopBackOff``, ``command not found``);
- the *message*, normalised: volatile parts become placeholders (``<path>``, ``<n>``, ``<hex>``,
  ``<uuid>``, ``<time>``, ``<host>``, ``<ip>``, ``<version>``, ``<pod>``);
- the top frames' function names where a trace shows them (at most ``FRAMES``, innermost
  first). Only frames in library code count for Python and Node (site-packages,
  node_modules, the runtime's own files): an agent's own functions differ from one project to
  the next, the library's do not.

``signatures(text)`` finds every error in a text (an entry, an experience, a query) and
returns one ``Signature`` per distinct error; ``Signature.id`` (16 hex digits) is what is
stored, compared and used in ``GET /errors/{signature}``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

FRAMES = 2
MAX_TEXT = 100_000  # longer texts are scanned up to here: errors are near the start or end

__all__ = [
    "FRAMES",
    "Signature",
    "experience_signatures",
    "lookup_keys",
    "normalize_message",
    "signatures",
    "stored_keys",
]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Signature:
    """One error. ``kind`` says where it came from and is shown, not compared: a bare
    ``TypeError: …`` line is the same error whether or not a traceback came with it."""

    kind: str
    type: str
    message: str
    frames: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        """Type, message and top frames: what is stored and looked up."""
        return _digest(self.type, self.message, *self.frames)

    @property
    def base(self) -> str:
        """Type and message only: an error pasted without its trace still matches."""
        return _digest(self.type, self.message)

    def same_error(self, other: Signature) -> bool:
        """Equal ids, or equal bases where one side shows no frames to compare."""
        if self.id == other.id:
            return True
        return self.base == other.base and not (self.frames and other.frames)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "type": self.type,
            "message": self.message,
            "frames": list(self.frames),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Signature:
        return cls(value["kind"], value["type"], value["message"], tuple(value["frames"]))

    @property
    def label(self) -> str:
        """A short readable form, e.g. ``python KeyError: 'user_id'``."""
        head = f"{self.kind} {self.type}"
        return f"{head}: {self.message}" if self.message else head


# --- normalisation of the volatile parts --------------------------------------------------

_VOLATILE: list[tuple[re.Pattern[str], str]] = [
    # timestamps and dates before anything eats their digits
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<time>",
    ),
    (re.compile(r"\b\d{4}[-/]\d{2}[-/]\d{2}\b"), "<time>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (
        re.compile(
            r"\[[0-9a-fA-F:]+:[0-9a-fA-F:]*\](?::\d+)?|(?<![\w:])::(?::|[0-9a-fA-F:]*:)\d+\b"
        ),
        "<ip>",
    ),
    # a Deployment's pod: <name>-<replicaset hash>-<5 random characters>
    (re.compile(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)*?-[a-z0-9]{8,10}-[a-z0-9]{5}\b"), "<pod>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    # URLs and file paths (with their :line:col); keep the file's base name out too
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"`)>\]]+"), "<url>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]+){2,}[\\/]?(?::\d+)*"), "<path>"),
    (re.compile(r"(?<![\w/])\.{1,2}/[\w.@+~/-]+(?::\d+)*"), "<path>"),
    (
        re.compile(
            r"\b[\w-]+\.(?:py|js|mjs|cjs|ts|tsx|jsx|go|rs|java|kt|rb|c|cc|cpp|h|sql|sh|yaml|yml|json|toml)(?::\d+)+"
        ),
        "<path>",
    ),
    # host names: dotted names ending in a domain-like label
    (
        re.compile(
            r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|net|org|io|dev|internal|local|lan|cloud|"
            r"svc|cluster|ai|app|co|us|eu|amazonaws|corp|example)\b(?:\.[a-z]+)*(?::\d+)?",
            re.IGNORECASE,
        ),
        "<host>",
    ),
    (re.compile(r"\bv?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?\b"), "<version>"),
    (
        re.compile(
            r"\b[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*\b"
        ),
        "<hexid>",
    ),
    (re.compile(r"[\"'](?:[\w.-]*<path>[\w.-]*|[\w-]+\.[a-z]{2,5})[\"']"), "<file>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:ms|s|m|h)\b"), "<duration>"),
    (re.compile(r"\b(pid|port|uid|gid|row|line) \d+\b"), r"\1 <n>"),
    (re.compile(r"\[\d+\]"), "[<n>]"),  # an index, a pid in a log prefix
    (re.compile(r"\b(length|size|len|capacity|index) \d+\b"), r"\1 <n>"),
    (re.compile(r"\b\d{4,}\b"), "<n>"),
    (re.compile(r"(?<=:)\d+\b"), "<n>"),
]
_HEXID_MIN = 8
_SPACES = re.compile(r"\s+")


def _hexid(match: re.Match[str]) -> str:
    text = match.group(0)
    return "<hex>" if len(text) >= _HEXID_MIN else text


_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]'\"])\.\s+(?=[A-Z])|\n")
_GENERIC = re.compile(
    # wrappers that say a step failed, not why: every failing job prints them
    r"^(?:Process completed with exit code|Job failed: exit code|exit status|"
    r"Command failed with exit code|Script failed with exit code|"
    r"Command .* returned non-zero exit status|Job failed: execution took longer)",
    re.IGNORECASE,
)


def normalize_message(message: str) -> str:
    """The message's first sentence with its volatile parts replaced, whitespace collapsed.

    Later sentences are advice the tool adds ("Instead change the require of …"), which a
    pasted excerpt often leaves out; quoting characters differ between a terminal and prose.
    """
    text = _SENTENCE_END.split(message.strip(), maxsplit=1)[0].replace("`", "")
    for pattern, placeholder in _VOLATILE:
        if placeholder == "<hexid>":
            text = pattern.sub(_hexid, text)
        else:
            text = pattern.sub(placeholder, text)
    text = _SPACES.sub(" ", text).strip(" .")
    return text[:200]


# --- recognisers, one per kind of output ---------------------------------------------------

Found = tuple[int, Signature]  # (position in the text, signature) to keep the text's order
Recogniser = Callable[[str], Iterator[Found]]

_PY_EXC = (
    r"(?P<type>(?:[a-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Fault|"
    r"Failure|Violation|Timeout|NotFound|Denied|Refused)|StopIteration|KeyboardInterrupt)"
)
_PY_LAST = re.compile(r"(?m)^[ \t]*" + _PY_EXC + r"(?::[ \t]*(?P<msg>.*))?$")
_PY_FRAME = re.compile(r'(?m)^[ \t]*File "(?P<file>[^"]+)", line \d+, in (?P<func>[\w<>.]+)')
_LIBRARY_PATH = re.compile(
    r"site-packages|dist-packages|node_modules|/lib/python\d|/usr/lib/|/usr/local/lib/|"
    r"<frozen |\binternal/|node:|\.cargo/registry|/go/pkg/mod/|/rustc/"
)


_JVM_PACKAGES = ("java.", "javax.", "jakarta.", "kotlin.", "org.", "com.", "io.", "net.")


def _python(text: str) -> Iterator[Found]:
    for trace in re.finditer(r"Traceback \(most recent call last\):", text):
        after = text[trace.end() :]
        last = _PY_LAST.search(after)
        if last is None:
            continue
        frames_text = after[: last.start()]
        frames = [
            m.group("func")
            for m in _PY_FRAME.finditer(frames_text)
            if _LIBRARY_PATH.search(m.group("file"))
        ]
        yield (
            trace.start(),
            Signature(
                "python",
                last.group("type"),
                normalize_message(last.group("msg") or ""),
                tuple(reversed(frames))[:FRAMES],
            ),
        )
    for last in _PY_LAST.finditer(text):
        if last.group("type").startswith(_JVM_PACKAGES):
            continue  # a JVM exception line; _java reads it
        yield (
            last.start(),
            Signature("python", last.group("type"), normalize_message(last.group("msg") or "")),
        )


_JS_ERROR = re.compile(
    r"(?m)^[ \t]*(?:Uncaught )?(?P<type>(?:[A-Z]\w*)?Error)"
    r"(?: \[(?P<code>[A-Z][A-Z0-9_]+)\])?: (?P<msg>.+)$"
    r"(?P<frames>(?:\n[ \t]+at .+)*)"
)
_JS_FRAME = re.compile(r"(?m)^[ \t]+at (?:(?P<func>[\w$.<>\[\] ]+?) \()?(?P<where>[^()\s]+)\)?$")


def _node(text: str) -> Iterator[Found]:
    for m in _JS_ERROR.finditer(text):
        frames_text = m.group("frames") or ""
        frames = [
            f.group("func").strip()
            for f in _JS_FRAME.finditer(frames_text)
            if f.group("func") and _LIBRARY_PATH.search(f.group("where"))
        ]
        if not frames_text and m.group("code") is None and m.group("type") == "Error":
            kind = "error"  # a bare "Error: …" line: any tool prints those
        else:
            kind = "node"
        error_type = m.group("code") or m.group("type")
        yield (
            m.start(),
            Signature(kind, error_type, normalize_message(m.group("msg")), tuple(frames[:FRAMES])),
        )


_NPM = re.compile(r"(?m)^npm (?:ERR!|error) code (?P<code>[A-Z0-9_]+)\s*$")
_NPM_DETAIL = re.compile(r"(?m)^npm (?:ERR!|error) (?!code )(?P<msg>\S.*)$")


def _npm(text: str) -> Iterator[Found]:
    for m in _NPM.finditer(text):
        detail = _NPM_DETAIL.search(text, m.end())
        message = normalize_message(detail.group("msg")) if detail else ""
        yield m.start(), Signature("npm", m.group("code"), message)


_GO_PANIC = re.compile(r"(?m)^panic: (?P<msg>.+)$")
_GO_FRAME = re.compile(r"(?m)^(?P<func>[\w./*()-]+\.[\w$]+)\((?:[^)]*)\)\s*$")
_GO_COMPILE = re.compile(r"(?m)^(?:#\s\S+\n)?\S+\.go:\d+:\d+: (?P<msg>.+)$")
_GO_TOOL = re.compile(r"(?m)^go: (?P<msg>.+)$")


def _go(text: str) -> Iterator[Found]:
    for m in _GO_PANIC.finditer(text):
        after = text[m.end() : m.end() + 4000]
        frames = [
            f.group("func").split("/")[-1]
            for f in _GO_FRAME.finditer(after)
            if not f.group("func").startswith(("runtime.", "panic("))
        ]
        yield (
            m.start(),
            Signature("go", "panic", normalize_message(m.group("msg")), tuple(frames[:FRAMES])),
        )
    for m in _GO_COMPILE.finditer(text):
        yield m.start(), Signature("go", "compile", normalize_message(m.group("msg")))
    for m in _GO_TOOL.finditer(text):
        yield m.start(), Signature("go", "go", normalize_message(m.group("msg")))


_RUST_ERROR = re.compile(r"(?m)^error\[(?P<code>E\d{4})\]: (?P<msg>.+)$")
_RUST_PANIC = re.compile(
    r"(?m)^thread '[^']*' panicked at (?:'(?P<old>[^\n]*)', \S+|\S+:\n(?P<msg>.+))$"
)


def _rust(text: str) -> Iterator[Found]:
    for m in _RUST_ERROR.finditer(text):
        yield m.start(), Signature("rust", m.group("code"), normalize_message(m.group("msg")))
    for m in _RUST_PANIC.finditer(text):
        message = m.group("msg") or m.group("old") or ""
        yield m.start(), Signature("rust", "panic", normalize_message(message))


_JAVA_EXC = re.compile(
    r"(?m)^(?:Exception in thread \"[^\"]*\" |Caused by: )?"
    r"(?P<type>(?:[a-z]\w*\.)+[A-Z]\w*(?:Exception|Error))(?:: (?P<msg>.*))?$"
    r"(?P<frames>(?:\n\s+at [\w$.<>]+\(.*\))*)"
)
_JAVA_FRAME = re.compile(r"at (?P<func>[\w$.<>]+)\(")


def _java(text: str) -> Iterator[Found]:
    for m in _JAVA_EXC.finditer(text):
        frames = [
            ".".join(f.group("func").split(".")[-2:])
            for f in _JAVA_FRAME.finditer(m.group("frames") or "")
        ]
        yield (
            m.start(),
            Signature(
                "java",
                m.group("type"),
                normalize_message(m.group("msg") or ""),
                tuple(frames[:FRAMES]),
            ),
        )


_PG = re.compile(
    # a bare line, psql's "psql:file:line: ", a server log's prefix, or a client's message
    r"(?m)^(?:[^\n]*?[\s:])?(?P<level>ERROR|FATAL|PANIC):\s+"
    r"(?:(?P<code>[0-9A-Z]{5}):\s+)?(?P<msg>.+)$"
)
_PG_SQLSTATE = re.compile(r"SQLSTATE[ =:]*\(?(?P<code>[0-9A-Z]{5})\)?")
_PSQL_CONNECT = re.compile(r"(?m)^psql: error: (?P<msg>.+)$")


def _postgres(text: str) -> Iterator[Found]:
    for m in _PG.finditer(text):
        state = _PG_SQLSTATE.search(text, m.start(), m.end() + 200)
        code = m.group("code") or (state.group("code") if state else m.group("level"))
        message = _PG_SQLSTATE.sub("", m.group("msg"))
        yield m.start(), Signature("postgres", code, normalize_message(message))
    for m in _PSQL_CONNECT.finditer(text):
        yield m.start(), Signature("postgres", "connect", normalize_message(m.group("msg")))


_K8S_SERVER = re.compile(r"(?m)^Error from server \((?P<type>\w+)\): (?P<msg>.+)$")
_K8S_REASON = re.compile(
    r"\b(?P<type>CrashLoopBackOff|ImagePullBackOff|ErrImagePull|OOMKilled|CreateContainerConfigError|"
    r"CreateContainerError|InvalidImageName|RunContainerError|ContainerCannotRun|Evicted|"
    r"FailedScheduling|FailedMount|FailedAttachVolume|BackOff|Unhealthy)\b(?P<rest>[^\n]*)"
)
_K8S_SCHEDULING = re.compile(r"\b\d+/\d+ nodes are available: (?P<msg>[^\n]+)")


def _kubernetes(text: str) -> Iterator[Found]:
    for m in _K8S_SERVER.finditer(text):
        yield m.start(), Signature("kubernetes", m.group("type"), normalize_message(m.group("msg")))
    for m in _K8S_SCHEDULING.finditer(text):
        reasons = re.sub(r"\b\d+ ", "", m.group("msg"))  # "3 Insufficient memory" -> counts vary
        yield m.start(), Signature("kubernetes", "FailedScheduling", normalize_message(reasons))
    for m in _K8S_REASON.finditer(text):
        if m.group("type") == "FailedScheduling" and _K8S_SCHEDULING.search(m.group("rest")):
            continue
        yield m.start(), Signature("kubernetes", m.group("type"), "")


_SHELL = re.compile(
    r"(?m)^(?:[\w./-]+: )?(?:line \d+: )?(?P<cmd>[\w.+-]+): (?:(?P<arg>[^:\n]+): )?"
    r"(?P<msg>command not found|No such file or directory|Permission denied|Is a directory|"
    r"Not a directory|Operation not permitted|Read-only file system|No space left on device|"
    r"Too many open files|Argument list too long|Text file busy|Connection refused|"
    r"cannot access '[^'\n]*': No such file or directory|unbound variable|bad substitution|"
    r"syntax error[^\n]*)\s*$"
)
_SHELL_DIAG = re.compile(r"(?m)^(?:(?P<cmd>[a-z][\w.+-]*): )?(?P<msg>(?:error|fatal|E): [^\n]+)$")
_ZSH_NOT_FOUND = re.compile(r"(?m)^zsh: command not found: (?P<cmd>\S+)$")
_DOCKER = re.compile(
    r"(?m)(?P<msg>Cannot connect to the Docker daemon at \S+?\.? Is the docker daemon running\?)"
    r"|Error response from daemon: (?P<daemon>[^\n]+)"
)
_SIGNAL = re.compile(r"\b(?:Killed|Segmentation fault|Bus error|Aborted)(?: \(core dumped\))?\b")


def _shell(text: str) -> Iterator[Found]:
    for m in _SHELL.finditer(text):
        message = re.sub(r"'[^']*'", "", m.group("msg")).strip()
        subject = m.group("cmd") if message == "command not found" else ""
        if message == "command not found" and m.group("arg"):
            subject = m.group("arg").strip()
        yield m.start(), Signature("shell", message, normalize_message(subject))
    for m in _ZSH_NOT_FOUND.finditer(text):
        yield m.start(), Signature("shell", "command not found", normalize_message(m.group("cmd")))
    for m in _SHELL_DIAG.finditer(text):
        tool = m.group("cmd") or "tool"
        yield m.start(), Signature("shell", tool, normalize_message(m.group("msg")))
    for m in _DOCKER.finditer(text):
        message = m.group("msg") or m.group("daemon")
        yield m.start(), Signature("docker", "daemon", normalize_message(message))


_RECOGNISERS: tuple[Recogniser, ...] = (
    _python,
    _node,
    _npm,
    _go,
    _rust,
    _java,
    _postgres,
    _kubernetes,
    _shell,
)


_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]{12,})`(?!`)")


def _segments(text: str) -> Iterator[tuple[int, str]]:
    """The text itself, then each inline code span on its own: prose quotes errors inline
    ("boto3 raised `botocore.exceptions.ClientError: …`"), and recognisers read lines."""
    yield 0, text
    for m in _INLINE_CODE.finditer(text):
        yield m.start(1), m.group(1)


def signatures(text: str) -> list[Signature]:
    """Every distinct error in ``text``, in the order they appear; [] for text without one."""
    text = text[:MAX_TEXT].replace("\r\n", "\n")
    found: list[Found] = []
    for offset, segment in _segments(text):
        for recognise in _RECOGNISERS:
            found.extend((offset + at, sig) for at, sig in recognise(segment))
    found = [f for f in found if not _GENERIC.match(f[1].message)]
    found.sort(key=lambda f: f[0])
    # A traceback's last line is also found on its own, and a Java or Node exception line
    # also reads as Python's: one error per (type, message), the one with the most frames.
    by_base: dict[str, Signature] = {}
    for _, sig in found:
        known = by_base.get(sig.base)
        if known is None or len(sig.frames) > len(known.frames):
            by_base[sig.base] = sig
    return list(by_base.values())


# --- lookup keys: ``same_error`` as an array overlap PostgreSQL can index -------------------
#
# A stored error is found by its id; by "b:<base>" from a query error without frames; and,
# when it has no frames itself, by "n:<base>" from a query error with frames.


def stored_keys(found: Iterable[Signature]) -> list[str]:
    keys: dict[str, None] = {}
    for sig in found:
        keys[sig.id] = None
        keys["b:" + sig.base] = None
        if not sig.frames:
            keys["n:" + sig.base] = None
    return list(keys)


def lookup_keys(found: Iterable[Signature]) -> list[str]:
    keys: dict[str, None] = {}
    for sig in found:
        if sig.frames:
            keys[sig.id] = None
            keys["n:" + sig.base] = None
        else:
            keys["b:" + sig.base] = None
    return list(keys)


def experience_signatures(
    goal: str, solution: str | None, context: str, items: Iterable[dict[str, Any]]
) -> list[Signature]:
    """The errors an experience quotes, wherever they appear (an entry's fields, artifacts)."""
    parts = [goal, solution or "", context]
    for item in items:
        parts += [v for v in item.values() if isinstance(v, str)]
    return signatures("\n".join(parts))
