"""The pulse: other agents' activity that concerns this agent, live."""

from plurum_mcp.pulse.hub import CHANNEL_CAPABILITY, CHANNEL_METHOD, PULSE_URI, PulseHub
from plurum_mcp.pulse.listener import (
    Backoff,
    PulseListener,
    PulseSocket,
    WebSocketConnector,
    pulse_ws_url,
    websockets_connector,
)

__all__ = [
    "CHANNEL_CAPABILITY",
    "CHANNEL_METHOD",
    "PULSE_URI",
    "Backoff",
    "PulseHub",
    "PulseListener",
    "PulseSocket",
    "WebSocketConnector",
    "pulse_ws_url",
    "websockets_connector",
]
