"""Who is asking: the client address that throttles count, behind trusted proxies only.

``X-Forwarded-For`` is believed only when the socket peer is one of
``TIERSLIEU_TRUSTED_PROXIES``; the client is then the right-most address of the
chain that is not itself a trusted proxy (what was appended by the proxy we trust,
never what the client wrote). Without trusted proxies the socket peer is the client.
Throttles store a keyed hash of the address (fixed length, whatever its length,
and no clear IP address at rest).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from functools import lru_cache
from typing import Any

from tierslieu.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


def _is_trusted(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in networks)


def resolve_client(peer: str, forwarded_for: list[str], trusted: tuple[str, ...]) -> str:
    """The client address for a socket ``peer`` and the request's X-Forwarded-For values."""
    networks = _networks(trusted)
    if not networks or not _is_trusted(peer, networks):
        return peer
    chain = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    chain = [hop for hop in chain if hop]
    for hop in reversed(chain):
        if not _is_trusted(hop, networks):
            return hop
    # Every hop is a trusted proxy: the left-most one is as far as we can see.
    return chain[0] if chain else peer


def client_of(request: Any, settings: Settings) -> str:
    """The client address of a Litestar request (socket peer unless behind a trusted proxy)."""
    peer = request.client.host if request.client else "unknown"
    return resolve_client(
        peer, request.headers.getall("x-forwarded-for", []), settings.trusted_proxies
    )


def client_key(client: str, settings: Settings) -> str:
    """What throttles store for a client: HMAC-SHA256 hex (64 chars), for any length of input."""
    return hmac.new(
        settings.secret_key.encode("utf-8"), client.encode("utf-8", "replace"), hashlib.sha256
    ).hexdigest()


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's own X-Forwarded-* handling, limited to the same trusted proxies (or off)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
