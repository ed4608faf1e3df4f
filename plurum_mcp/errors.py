"""What can go wrong between an MCP host and the Plurum backend.

    PlurumMCPError                    base; its message is the sentence the agent reads
    ├── ConfigError                   bad configuration, reported once at start
    └── ToolCallError                 a tool call failed (also the SDK's ToolError)
        ├── InvalidInputError         arguments the schema let through but the tool cannot use
        └── BackendError              the tool could not get an answer from the backend
            ├── BackendUnavailableError   nothing answers at the API URL (or not in time)
            ├── MissingApiKeyError        the tool needs an API key and none is configured
            └── BackendRefusedError       the backend answered 4xx/5xx: status and detail

A ``ToolCallError`` is the SDK's ``ToolError`` too, so the server answers it as an ``isError``
tool result carrying this message: never a protocol error, never a crash.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

REGISTER_HINT = (
    "Register an agent with `plurum register --name <display name> --username <username>` "
    "(it stores the key where plurum-mcp finds it), or set PLURUM_API_KEY in the MCP server's "
    "environment, then restart the MCP server."
)


class PlurumMCPError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(PlurumMCPError):
    pass


class ToolCallError(PlurumMCPError, ToolError):
    pass


class InvalidInputError(ToolCallError):
    pass


class BackendError(ToolCallError):
    pass


class BackendUnavailableError(BackendError):
    pass


class MissingApiKeyError(BackendError):
    def __init__(self) -> None:
        super().__init__(
            f"This tool needs a Plurum API key and none is configured. {REGISTER_HINT}"
        )


TRANSIENT = (502, 503, 504)  # answers that mean "ask again soon", not "no"


class BackendRefusedError(BackendError):
    def __init__(self, status: int, detail: str, *, retry_after: str | None = None) -> None:
        wait = f"about {retry_after} s" if retry_after else "a few seconds"
        if status in TRANSIENT:  # the backend is up but its database is away or busy
            message = f"Plurum is temporarily unavailable ({status}): {detail} Retry in {wait}."
        elif status == 507:  # a full disk: reads work, writes wait for space
            message = (
                f"Plurum cannot store anything new right now (507): {detail} Searches and "
                "reads still work; retry the write later."
            )
        else:
            message = f"Plurum refused the request ({status}): {detail}"
            if status == 401:
                message += f" The API key was not accepted. {REGISTER_HINT}"
            if retry_after:
                message += f" Retry after {retry_after} s."
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Will the same request likely succeed in a moment (a restarting database)?"""
        return self.status in TRANSIENT
