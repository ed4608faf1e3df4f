"""The MCP tools: thin handlers that validate arguments, call the backend, and render."""

from mcp.server.mcpserver import MCPServer

from plurum_mcp.tools import agent, experiences, sessions
from plurum_mcp.tools.kit import Kit

__all__ = ["Kit", "register_tools"]


def register_tools(server: MCPServer, kit: Kit) -> None:
    sessions.register(server, kit)
    experiences.register(server, kit)
    agent.register(server, kit)
