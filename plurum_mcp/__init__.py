"""Plurum's MCP server: the collective memory as tools, prompts, resources and pulse events.

``plurum_mcp.credentials`` is importable on its own (the backend CLI writes the file it
defines); the server parts load the MCP SDK only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["PlurumMCP", "Settings", "__version__", "create_server"]

if TYPE_CHECKING:
    from plurum_mcp.config import Settings
    from plurum_mcp.server import PlurumMCP, create_server


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from plurum_mcp.config import Settings

        return Settings
    if name in ("PlurumMCP", "create_server"):
        from plurum_mcp import server

        return getattr(server, name)
    raise AttributeError(f"module 'plurum_mcp' has no attribute {name!r}")
