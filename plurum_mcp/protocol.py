"""Protocol pieces MCPServer has no high-level API for, wired for the pulse.

- ``resources/subscribe`` / ``unsubscribe`` and ``logging/setLevel``, kept per connection;
- unknown prompts and missing prompt arguments answered as ``-32602`` (invalid params);
- middleware that remembers handshake-era connections (so pulse events can reach them) and
  declares the ``claude/channel`` experimental capability when channels are on.
"""

from __future__ import annotations

from typing import Any

from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    EmptyResult,
    GetPromptRequestParams,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from plurum_mcp.pulse import CHANNEL_CAPABILITY, PulseHub
from plurum_mcp.pulse.hub import LOG_LEVEL_STATE, SUBSCRIPTIONS_STATE


def install_handlers(server: MCPServer[Any]) -> None:
    _add_protocol_handlers(_lowlevel(server))
    _answer_bad_prompt_requests_as_invalid_params(server)


def middleware(hub: PulseHub, *, channels: bool) -> list[ServerMiddleware[Any]]:
    return [_track_connections(hub), _advertise_channel(channels)]


def _lowlevel(server: MCPServer[Any]) -> Server[Any]:
    # MCPServer keeps its protocol-level Server private (the SDK's own Client reads it the
    # same way); subscribe/unsubscribe and logging/setLevel have no high-level API.
    lowlevel: Server[Any] = server._lowlevel_server
    return lowlevel


def _connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    # ServerSession exposes no public handle on its Connection yet (SDK TODO L54).
    connection: Connection = ctx.session._connection
    return connection


def _add_protocol_handlers(lowlevel: Server[Any]) -> None:
    async def subscribe(
        ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
    ) -> EmptyResult:
        state = _connection(ctx).state
        state.setdefault(SUBSCRIPTIONS_STATE, set()).add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(
        ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        _connection(ctx).state.setdefault(SUBSCRIPTIONS_STATE, set()).discard(str(params.uri))
        return EmptyResult()

    async def set_level(
        ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        _connection(ctx).state[LOG_LEVEL_STATE] = params.level
        return EmptyResult()

    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


def _answer_bad_prompt_requests_as_invalid_params(server: MCPServer[Any]) -> None:
    """An unknown prompt or missing argument is the caller's error: -32602, not a bare error."""
    lowlevel = _lowlevel(server)
    entry = lowlevel.get_request_handler("prompts/get")
    assert entry is not None
    inner = entry.handler

    async def get_prompt(
        ctx: ServerRequestContext[Any, Any], params: GetPromptRequestParams
    ) -> Any:
        names = {prompt.name for prompt in await server.list_prompts()}
        if params.name not in names:
            raise MCPError(INVALID_PARAMS, f"Unknown prompt: {params.name}")
        try:
            return await inner(ctx, params)
        except ValueError as exc:
            raise MCPError(INVALID_PARAMS, str(exc)) from None

    lowlevel.add_request_handler("prompts/get", GetPromptRequestParams, get_prompt)


def _track_connections(hub: PulseHub) -> ServerMiddleware[Any]:
    """Middleware: remember each handshake-era connection so pulse events can reach it."""

    async def track(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            connection = _connection(ctx)
            if connection.has_standalone_channel:
                hub.attach(connection)
        return result

    return track


def _advertise_channel(enabled: bool) -> ServerMiddleware[Any]:
    """Middleware: declare the ``claude/channel`` experimental capability when channels are on."""

    async def advertise(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if enabled and ctx.method in ("initialize", "server/discover") and isinstance(result, dict):
            capabilities = result.setdefault("capabilities", {})
            capabilities.setdefault("experimental", {})[CHANNEL_CAPABILITY] = {}
        return result

    return advertise
