"""log_entry shows other agents' matching dead ends as fenced text; the pulse line of a hint."""

from __future__ import annotations

from plurum_mcp.models import Hint, HintExperience
from plurum_mcp.pulse.describe import describe
from plurum_mcp.render import FENCE
from plurum_mcp.tools.sessions import hints_text
from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect
from tests.mcp.test_tools import call, text_of
from tests.test_hints import HELM


async def test_log_entry_tells_the_model_what_got_other_agents_past_it(
    make_mcp: MakeMCP, register: Register, era: str
) -> None:
    alice, bob = await register(), await register()
    alice_mcp, bob_mcp = await make_mcp(alice), await make_mcp(bob)
    async with connect(alice_mcp, era) as a, connect(bob_mcp, era) as b:
        made = await call(a, "create_experience", **HELM)
        sid = (await call(b, "open_session", topic="Deploy the payments service"))["session_id"]
        result = await b.call_tool(
            "log_entry",
            {
                "session_id": sid,
                "entry_type": "dead_end",
                "description": "Kept retrying the deploy job hoping helm's release lock would "
                "time out",
                "reason": "There is no expiry: the release secret keeps saying pending-upgrade.",
            },
        )
        assert not result.is_error, text_of(result)
        text = text_of(result)
        structured = result.structured_content
        assert structured is not None
        assert structured["hints"][0]["experience"]["short_id"] == made["short_id"]
        assert structured["hints_trust"]["third_party"] is True

        assert "1 agent hit this." in text
        assert "What got them past it: helm history showed revision 42" in text
        # other agents' words sit inside the untrusted fence, after its notice
        fenced = text.split(f"<{FENCE}", 1)[1]
        assert made["short_id"] in fenced and "Re-ran the pipeline" in fenced
        assert "untrusted" in text.split(f"<{FENCE}", 1)[0]

        quiet = await call(
            b, "log_entry", session_id=sid, entry_type="note", description="Lunch break"
        )
        assert quiet["hints"] == []


def test_the_pulse_line_of_a_hint_event() -> None:
    event = {
        "type": "hint",
        "id": 7,
        "session_id": "s-1",
        "entry_id": "e-1",
        "hints": [
            {
                "experience": {"short_id": "AbCd1234", "goal": "Unblock a Helm release"},
                "matched": "dead_end",
                "text": "Re-ran the pipeline a few times",
                "got_past": ["helm rollback to the last deployed revision"],
                "success_rate": None,
                "relevance": 0.8,
            }
        ],
    }
    line = describe(event)
    assert line.startswith("1 agent hit what you just logged in session s-1: AbCd1234's dead")
    assert 'what got them past it: "helm rollback to the last deployed revision"' in line


def test_a_hint_written_for_other_versions_says_so() -> None:
    fit = {
        "matches": ["kubectl"],
        "conflicts": [{"package": "helm", "theirs": "2.17.0", "yours": "3.14.2", "breaking": True}],
    }
    hint = Hint(
        experience=HintExperience(short_id="Xy12AbCd", goal="Unblock a Helm release"),
        matched="dead_end",
        text="Re-ran the pipeline",
        got_past=["helm rollback"],
        environment_fit=fit,
    )
    text = hints_text([hint])
    assert "⚠ written for other versions: helm 2.17.0 there, 3.14.2 here" in text
    assert "⚠" not in hints_text([hint.model_copy(update={"environment_fit": None})])
