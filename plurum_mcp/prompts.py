"""MCP prompts read from Markdown files with a small front matter.

A prompt file looks like::

    ---
    name: start_task
    title: Start a task with Plurum
    description: One sentence shown in the host's prompt picker.
    arguments:
      - name: task
        description: What you are about to do.
        required: true
    ---
    Body in Markdown. {{task}} is replaced by the argument's value; a line that mentions an
    optional argument that was not given is left out.

The front matter is a deliberately small YAML subset (``key: value`` pairs and the
``arguments`` list of such pairs), parsed here so the server needs no YAML library.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument, UserMessage

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_ARGUMENT_CHARS = 4000


class PromptFileError(ValueError):
    pass


@dataclass(frozen=True)
class PromptArg:
    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class PromptFile:
    name: str
    title: str | None
    description: str
    body: str
    arguments: list[PromptArg] = field(default_factory=list)

    def render(self, values: dict[str, str]) -> str:
        known = {arg.name for arg in self.arguments}
        missing = [a.name for a in self.arguments if a.required and not values.get(a.name)]
        if missing:
            raise ValueError(f"Missing required argument(s): {', '.join(missing)}")
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown argument(s): {', '.join(unknown)}")
        for key, value in values.items():
            if len(value) > MAX_ARGUMENT_CHARS:
                raise ValueError(f"Argument {key} is longer than {MAX_ARGUMENT_CHARS} characters")
        lines = []
        for line in self.body.splitlines():
            names = PLACEHOLDER.findall(line)
            if any(not values.get(n) for n in names):
                continue
            lines.append(PLACEHOLDER.sub(lambda m: values[m.group(1)].strip(), line))
        return "\n".join(lines).strip() + "\n"


def default_prompts_dir() -> Path:
    """``$PLURUM_MCP_PROMPTS_DIR``, else ``prompts/`` of the source tree, else the installed copy
    (``<prefix>/share/plurum/prompts``, where a wheel's data files put it)."""
    configured = os.environ.get("PLURUM_MCP_PROMPTS_DIR")
    if configured:
        return Path(configured)
    source = Path(__file__).resolve().parent.parent / "prompts"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "plurum" / "prompts"


def load_dir(directory: Path) -> list[PromptFile]:
    prompts = [
        parse_prompt_file(path.read_text(encoding="utf-8"), path)
        for path in sorted(directory.glob("*.md"))
    ]
    names = [p.name for p in prompts]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PromptFileError(f"Duplicate prompt names in {directory}: {', '.join(duplicates)}")
    return prompts


def register_prompts(server: MCPServer, directory: Path | None = None) -> list[PromptFile]:
    directory = directory or default_prompts_dir()
    if not directory.is_dir():
        log.warning("no prompts directory at %s; serving no prompts", directory)
        return []
    prompts = load_dir(directory)
    for prompt in prompts:
        server.add_prompt(
            Prompt(
                name=prompt.name,
                title=prompt.title,
                description=prompt.description,
                arguments=[
                    PromptArgument(
                        name=a.name, description=a.description or None, required=a.required
                    )
                    for a in prompt.arguments
                ],
                fn=_renderer(prompt),
            )
        )
    return prompts


def _renderer(prompt: PromptFile) -> Callable[..., list[Message]]:
    def render(**values: str) -> list[Message]:
        return [UserMessage(prompt.render({k: str(v) for k, v in values.items()}))]

    return render


def parse_prompt_file(text: str, path: Path | str = "<prompt>") -> PromptFile:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise PromptFileError(f"{path}: must start with a '---' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise PromptFileError(f"{path}: the front matter has no closing '---'") from None
    meta, arguments = _parse_front_matter(lines[1:end], path)
    name = meta.get("name", "")
    if not NAME.match(name):
        raise PromptFileError(f"{path}: 'name' must be lowercase snake_case, got {name!r}")
    description = meta.get("description", "")
    if not description:
        raise PromptFileError(f"{path}: 'description' is required")
    body = "\n".join(lines[end + 1 :]).strip()
    prompt = PromptFile(name, meta.get("title"), description, body, arguments)
    declared = {a.name for a in arguments}
    used = set(PLACEHOLDER.findall(body))
    if used - declared:
        raise PromptFileError(f"{path}: undeclared placeholder(s) {sorted(used - declared)}")
    return prompt


def _parse_front_matter(
    lines: list[str], path: Path | str
) -> tuple[dict[str, str], list[PromptArg]]:
    meta: dict[str, str] = {}
    raw_args: list[dict[str, str]] = []
    in_arguments = False
    for number, line in enumerate(lines, start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            key, value = _pair(line, path, number)
            in_arguments = key == "arguments"
            if in_arguments:
                if value:
                    raise PromptFileError(f"{path}:{number}: 'arguments' takes a list below it")
            else:
                meta[key] = value
            continue
        if not in_arguments:
            raise PromptFileError(f"{path}:{number}: unexpected indentation")
        stripped = line.strip()
        if stripped.startswith("- "):
            raw_args.append({})
            stripped = stripped[2:]
        if not raw_args:
            raise PromptFileError(f"{path}:{number}: an argument must start with '- '")
        key, value = _pair(stripped, path, number)
        raw_args[-1][key] = value
    return meta, [_argument(raw, path) for raw in raw_args]


def _pair(line: str, path: Path | str, number: int) -> tuple[str, str]:
    key, sep, value = line.partition(":")
    if not sep or not key.strip():
        raise PromptFileError(f"{path}:{number}: expected 'key: value'")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key.strip(), value


def _argument(raw: dict[str, str], path: Path | str) -> PromptArg:
    name = raw.get("name", "")
    if not NAME.match(name):
        raise PromptFileError(f"{path}: argument name must be lowercase snake_case, got {name!r}")
    required = raw.get("required", "false").lower()
    if required not in ("true", "false"):
        raise PromptFileError(f"{path}: argument {name}: 'required' must be true or false")
    return PromptArg(name, raw.get("description", ""), required == "true")
