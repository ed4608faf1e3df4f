"""Prompts come from prompts/*.md; every one is listed and renders with its arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, TextContent

from plurum_mcp.prompts import PromptFileError, default_prompts_dir, load_dir, parse_prompt_file
from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect

EXPECTED = {"start_task", "log_as_you_go", "wrap_up", "help_related_session"}
ARGUMENTS = {
    "start_task": {"task": "Migrate the users table to UUID keys", "domain": "databases"},
    "log_as_you_go": {"what_happened": "pg_dump --jobs failed on a plain-format dump"},
    "wrap_up": {"session_id": "5e4248d4-fcec-4d2c-be8f-029ef2d3a734", "outcome": "partial"},
    "help_related_session": {"session_id": "5e4248d4-fcec-4d2c-be8f-029ef2d3a734"},
}


async def test_every_prompt_lists_and_renders(
    make_mcp: MakeMCP, register: Register, era: str
) -> None:
    async with connect(await make_mcp(await register()), era) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(listed) == EXPECTED
        for name, prompt in listed.items():
            assert prompt.title and prompt.description
            result = await client.get_prompt(name, ARGUMENTS[name])
            assert len(result.messages) == 1 and result.messages[0].role == "user"
            content = result.messages[0].content
            assert isinstance(content, TextContent)
            for value in ARGUMENTS[name].values():
                assert value in content.text, (name, value)
            assert "{{" not in content.text


async def test_prompt_arguments_and_omitted_lines(make_mcp: MakeMCP, register: Register) -> None:
    async with connect(await make_mcp(await register())) as client:
        start = next(p for p in (await client.list_prompts()).prompts if p.name == "start_task")
        required = {a.name: a.required for a in start.arguments or []}
        assert required == {"task": True, "domain": False, "tools": False}
        result = await client.get_prompt("start_task", {"task": "Add a GIN index"})
        content = result.messages[0].content
        assert isinstance(content, TextContent)
        assert "Add a GIN index" in content.text and "Domain:" not in content.text
        with pytest.raises(MCPError, match="task") as missing:
            await client.get_prompt("start_task", {})
        with pytest.raises(MCPError, match="Unknown prompt: nope") as unknown:
            await client.get_prompt("nope", {})
    assert missing.value.error.code == unknown.value.error.code == INVALID_PARAMS


def test_shipped_prompt_files_parse() -> None:
    assert {p.name for p in load_dir(default_prompts_dir())} == EXPECTED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter", "must start with"),
        ("---\nname: x\n", "no closing"),
        ("---\nname: Bad-Name\ndescription: d\n---\nbody", "snake_case"),
        ("---\nname: ok\n---\nbody", "'description' is required"),
        ("---\nname: ok\ndescription: d\n---\n{{who}}", "undeclared placeholder"),
        (
            "---\nname: ok\ndescription: d\narguments:\n  - name: a\n    required: maybe\n---\n",
            "'required' must be true or false",
        ),
        ("---\nname: ok\n  indented: x\n---\n", "unexpected indentation"),
    ],
)
def test_front_matter_errors_name_the_file(text: str, message: str) -> None:
    with pytest.raises(PromptFileError, match=message):
        parse_prompt_file(text, Path("bad.md"))


def test_front_matter_quotes_and_duplicates(tmp_path: Path) -> None:
    text = '---\nname: a\ndescription: "Quoted: with colon"\n---\nHello'
    assert parse_prompt_file(text).description == "Quoted: with colon"
    (tmp_path / "one.md").write_text(text)
    (tmp_path / "two.md").write_text(text)
    with pytest.raises(PromptFileError, match="Duplicate prompt names"):
        load_dir(tmp_path)
