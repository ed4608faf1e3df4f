"""Rate limits at the HTTP boundary: who the client is, and the RateLimit header fields.

The client address is the socket's peer, unless that peer is a configured trusted proxy
(``PLURUM_TRUSTED_PROXIES``): then ``X-Forwarded-For`` is read from the right, skipping
trusted hops, and the first address not trusted is the client. A client cannot pick its own
address by sending the header, because an untrusted peer's header is never read.

Headers follow draft-ietf-httpapi-ratelimit-headers-10: every answer of a limited route
carries ``RateLimit-Policy: "writes";q=1200;w=60`` and ``RateLimit: "writes";r=1187;t=42``
(r: requests left in the window, t: seconds until the oldest counted one leaves it); a 429
also carries ``Retry-After``.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

from plurum_backend.errors import RateLimited
from plurum_backend.runtime import Plurum
from plurum_backend.services.limits import Decision, PolicyName
from plurum_backend.store.models import Agent

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request, trusted: tuple[str, ...]) -> str:
    peer = request.client.host if request.client else "unknown"
    networks = _networks(trusted)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # a trusted proxy never writes this: keep the last address it vouched for
        client = hop
        if not _trusted(hop, networks):
            break
    return client


def headers(decision: Decision) -> dict[str, str]:
    name, policy = decision.policy.name, decision.policy
    return {
        "RateLimit-Policy": f'"{name}";q={policy.quota};w={policy.window_s}',
        "RateLimit": f'"{name}";r={decision.remaining};t={decision.reset_s}',
    }


async def enforce(
    plurum: Plurum, policy: PolicyName, request: Request, agent: Agent | None
) -> dict[str, str]:
    """Count this request against its quota: the headers to send, or RateLimited."""
    if agent is not None and policy != "registrations":
        partition = str(agent.id)
    else:
        partition = "ip:" + client_address(request, plurum.settings.trusted_proxies)
    decision = await plurum.limits.hit(policy, partition)
    if decision is None:
        return {}
    fields = headers(decision)
    if not decision.allowed:
        p = decision.policy
        raise RateLimited(
            f"Too many {p.name}: at most {p.quota} every {p.window_s} seconds; "
            f"try again in {decision.reset_s} seconds.",
            retry_after=decision.reset_s,
            headers=fields,
        )
    return fields
