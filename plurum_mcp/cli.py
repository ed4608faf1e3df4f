"""``plurum-mcp``: serve Plurum to an MCP host over stdio (default), SSE or streamable HTTP."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence

import anyio
from mcp.server.transport_security import TransportSecuritySettings

from plurum_mcp import __version__
from plurum_mcp.config import Settings
from plurum_mcp.errors import ConfigError
from plurum_mcp.server import PlurumMCP, create_server

log = logging.getLogger("plurum_mcp")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
DEFAULT_PORT = 8001


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="plurum-mcp",
        description="Plurum's MCP server. Configure with PLURUM_API_URL and PLURUM_API_KEY "
        "(or `plurum register`).",
    )
    parser.add_argument("--transport", choices=("stdio", "sse", "streamable-http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP transports: address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP transports: port")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="also accept this Host header (DNS-rebinding protection stays on); repeatable",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept this Origin header, e.g. https://app.example; repeatable",
    )
    parser.add_argument(
        "--channels",
        action="store_true",
        help="send pulse events as Claude Code channel notifications (claude/channel)",
    )
    parser.add_argument(
        "--no-autostart", action="store_true", help="never start a local `plurum serve`"
    )
    parser.add_argument("--no-pulse", action="store_true", help="do not listen to the pulse")
    parser.add_argument(
        "--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    parser.add_argument("--version", action="version", version=f"plurum-mcp {__version__}")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be a port number, got {args.port}")
    return args


def transport_security(
    host: str, port: int, extra_hosts: Sequence[str], extra_origins: Sequence[str]
) -> TransportSecuritySettings:
    """DNS-rebinding protection, always on: loopback names plus what the operator adds."""
    names = list(LOOPBACK_HOSTS)
    if host not in WILDCARD_HOSTS and host not in ("127.0.0.1", "localhost", "::1"):
        names.append(f"[{host}]" if ":" in host else host)
    hosts = [f"{name}:*" for name in names] + [f"{name}:{port}" for name in names]
    hosts += list(extra_hosts)
    origins = [f"http://{name}:*" for name in names] + list(extra_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="plurum-mcp %(levelname)s %(message)s"
    )
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"plurum-mcp: {exc}", file=sys.stderr)
        return 2
    settings = settings.with_overrides(
        channels=settings.channels or args.channels,
        autostart=settings.autostart and not args.no_autostart,
        pulse=not args.no_pulse,
    )
    if settings.api_key is None:
        log.warning(
            "no API key configured: read-only tools work, the rest will explain how to register"
        )
    app = create_server(settings)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(_serve, app, args)
    return 0


async def _serve(app: PlurumMCP, args: argparse.Namespace) -> None:
    try:
        if args.transport == "stdio":
            await app.server.run_stdio_async()
        else:
            await _serve_http(app, args)
    finally:
        await app.aclose()


async def _serve_http(app: PlurumMCP, args: argparse.Namespace) -> None:
    import uvicorn

    if args.host in WILDCARD_HOSTS:
        log.warning(
            "listening on all interfaces: anyone who can reach port %s acts as this agent",
            args.port,
        )
    security = transport_security(args.host, args.port, args.allowed_host, args.allowed_origin)
    if args.transport == "sse":
        starlette_app = app.server.sse_app(transport_security=security, host=args.host)
        path = "/sse"
    else:
        starlette_app = app.server.streamable_http_app(transport_security=security, host=args.host)
        path = "/mcp"
    config = uvicorn.Config(
        starlette_app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        lifespan="on",
    )
    print(
        f"plurum-mcp {args.transport} on http://{args.host}:{args.port}{path} "
        f"(backend {app.settings.api_url})",
        file=sys.stderr,
        flush=True,
    )
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    sys.exit(main())
