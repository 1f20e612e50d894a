"""ICE without STUN on a host whose only network is the loopback.

The server answers WebRTC offers without STUN or TURN servers: on a LAN, or on the same machine, host
candidates are all a connection needs, and an offline server cannot reach a STUN server anyway. But
aioice leaves 127.0.0.1 out of its host candidates, so on a machine with no other address (a container
without networking, a CI sandbox) it offers no candidate at all and every connection fails. This helper
lets aioice fall back to 127.0.0.1 there, and only there: a host with a real address keeps offering
exactly what it offered before, so browsers on other machines still reach it.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
_installed = False


def install_loopback_fallback() -> bool:
    """Make aioice offer 127.0.0.1 when the host has no other address. Idempotent; returns whether the
    fallback is active now (the host has no non-loopback address), for /health and the logs."""
    global _installed
    import aioice.ice

    if not _installed:
        original = aioice.ice.get_host_addresses

        def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
            if not addresses and use_ipv4:
                return [LOOPBACK]
            return addresses

        host_addresses.visage_original = original  # type: ignore[attr-defined]
        aioice.ice.get_host_addresses = host_addresses
        _installed = True
    active = loopback_only()
    if active:
        log.info("no network address besides the loopback: WebRTC will use %s (same-machine clients only)", LOOPBACK)
    return active


def loopback_only() -> bool:
    """Whether aioice finds no host address but the loopback (IPv4 or IPv6)."""
    import aioice.ice

    original = getattr(aioice.ice.get_host_addresses, "visage_original", aioice.ice.get_host_addresses)
    return not original(use_ipv4=True, use_ipv6=True)
