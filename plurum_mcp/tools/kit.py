"""What every tool shares: the backend client, the pulse hub, and how a result is finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ValidationError

from plurum_mcp.backend import PlurumAPI
from plurum_mcp.config import Settings
from plurum_mcp.errors import BackendError
from plurum_mcp.pulse import PulseHub
from plurum_mcp.render import tool_result

M = TypeVar("M", bound=BaseModel)

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
WRITE_IDEMPOTENT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)


@dataclass
class Kit:
    api: PlurumAPI
    hub: PulseHub
    settings: Settings
    # What the project in the working directory runs (names and versions), sent with
    # open_session, search and report_outcome; None when off or nothing was found.
    environment: dict[str, Any] | None = None

    def with_environment(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "environment": self.environment} if self.environment else body

    def finish(self, model: BaseModel, text: str) -> CallToolResult:
        """The tool's answer, with the pulse hint when the agent has unread events."""
        return tool_result(model, text, pulse_hint=self.hub.hint(), pending=self.hub.pending)


def parse(model: type[M], data: Any, **extra: Any) -> M:
    """Validate the backend's answer; a shape we do not understand is a clear tool error."""
    if not isinstance(data, dict):
        raise BackendError(
            f"The Plurum backend answered with an unexpected shape ({type(data).__name__})."
        )
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        raise BackendError(
            f"The Plurum backend answered with an unexpected shape (fields: {fields}). "
            "The MCP server and the backend may be different versions."
        ) from None


def drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
