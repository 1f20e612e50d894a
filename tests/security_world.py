"""The servers the security tests attack (test_security_access.py, test_security_limits.py): `visage serve`
apps on loopback ports sharing one LiveServices, imitation model servers that record the Authorization
headers they are sent, and the helpers that make offers, tokens and WebSocket URLs."""
from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time

import aiortc  # noqa: F401 - the live extra: missing is a failure, not a skip
import httpx
import pytest

from browser_harness import ServerThread
from llm_servers import LocalChatServer, closed_port_url

KEY = "sk-the-servers-own-secret-key"
TOKEN = "a-test-token-that-is-long-enough"
SECRET_TEXT = "TOP-SECRET-LINE-42"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Three servers sharing one LiveServices: `open` (loopback, no token, like `visage serve`), `locked`
    (a token, one allowed CORS origin, low rates) and the model servers behind their named brains."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("VISAGE_HOME", str(home))
    mp.delenv("OPENAI_API_KEY", raising=False)
    from visage.config.settings import BrainSettings
    from visage.live.services import LiveServices
    from visage.server.access import Access, Limits
    from visage.server.app import create_app
    from visage.server.catalog import OfferSettings

    secret_yaml = home / "secret.yaml"
    secret_yaml.write_text(f"head_scale: 1.0\nnote: {SECRET_TEXT}\n")
    (home / "secret.md").write_text(f"# Q\nWhat is the secret?\n\n{SECRET_TEXT}\n")
    model, attacker = LocalChatServer(tokens=["Hello", " from", " the", " model."]), LocalChatServer()
    refusing = socket.socket()  # a port that accepts, then hangs up: a different failure from "refused"
    refusing.bind(("127.0.0.1", 0))
    refusing.listen(8)
    threading.Thread(target=_hang_up, args=(refusing,), daemon=True).start()
    offer = OfferSettings(brains={
        "local": BrainSettings(brain="openai", base_url=model.url, model="m", api_key=KEY),
        "down": BrainSettings(brain="openai", base_url=closed_port_url(), model="m", api_key=KEY),
        "hangup": BrainSettings(brain="openai", base_url=f"http://127.0.0.1:{refusing.getsockname()[1]}/v1",
                                model="m", api_key=KEY)})
    services = LiveServices()
    with model, attacker:
        open_app = create_app(services, max_sessions=4, offer=offer,
                              limits=Limits(offers_per_minute=1000, messages_per_minute=10_000))
        locked_app = create_app(services, access=Access(TOKEN, None, ("https://app.example.org",)),
                                limits=Limits(offers_per_minute=3, messages_per_minute=4))
        with ServerThread(open_app) as open_server:
            _loaded(open_server, open_app)  # one load at a time: the shared services are loaded once
            with ServerThread(locked_app) as locked_server:
                _loaded(locked_server, locked_app)
                yield argparse.Namespace(open=open_server, locked=locked_server, model=model, attacker=attacker,
                                         home=home, secret_yaml=secret_yaml)
    refusing.close()
    mp.undo()


def _loaded(running, app) -> None:
    running.app = app
    deadline = time.monotonic() + 180
    while (status := httpx.get(running.url + "/health", headers=_bearer()).json()["status"]) == "loading":
        assert time.monotonic() < deadline, "the services did not load"
        time.sleep(0.2)
    assert status == "ok", app.state.visage.loading.exception()


def _hang_up(listener: socket.socket) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        connection.close()


def _bearer(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def offer_json(server, options: dict, sdp: str = "v=0\r\n", **kw) -> httpx.Response:
    return httpx.post(server.url + "/api/offer", json={"sdp": sdp, "type": "offer", "options": options},
                      timeout=60, **kw)


def real_offer(drop: str | None = None) -> str:
    """A WebRTC offer as the page makes it, optionally without the lines starting with `drop`."""
    async def make():
        from aiortc import RTCPeerConnection

        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        pc.createDataChannel("events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(make())
    if drop:
        sdp = "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(drop))
    return sdp


def assert_served(server) -> None:
    """The server still answers."""
    assert httpx.get(server.url + "/health", headers=_bearer()).json()["status"] == "ok"



def _ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/ws/motion"
