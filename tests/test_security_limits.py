"""`visage serve` as a hostile or careless client meets it: what it is sent and how much. Real uvicorn
servers on loopback ports, real HTTP (httpx and raw sockets), a real WebSocket client, real WebRTC offers
(aiortc), imitation model servers on loopback (security_world.py). Each case must be refused cleanly
(a 4xx with a message, or an error message on the socket), and the server must keep serving.

Families: model servers that misbehave (down, hanging up, streaming forever, flooding), body sizes and
rates, unusable SDP, WebSocket abuse, abandoned work and uploads, and ten clients at once. Who may
choose and see what: test_security_access.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import aiortc  # noqa: F401 - the live extra: missing is a failure, not a skip
import httpx
import pytest

from browser_harness import Client, wait_for_sessions
from llm_servers import LocalChatServer
from security_world import _bearer, _ws_url, assert_served, offer_json, real_offer, world  # noqa: F401
# (world: the module's servers, a fixture)


def test_a_model_server_down_or_hanging_up_gives_the_same_answer(world):
    """No port-scanner oracle: refused and reset read the same to the page."""
    sdp = real_offer()
    down, hangup = offer_json(world.open, {"brain": "down"}, sdp), offer_json(world.open, {"brain": "hangup"}, sdp)
    assert down.status_code == hangup.status_code == 500
    assert down.json() == hangup.json()
    assert "refused" not in down.text.lower() and "127.0.0.1" not in down.text
    assert_served(world.open)


def test_a_model_server_that_streams_forever_is_cut(world, monkeypatch):
    from visage.backends.llm import create_brain
    from visage.backends.llm import openai_chat
    from visage.backends.llm.base import Conversation

    monkeypatch.setattr(openai_chat, "MAX_REPLY_SECONDS", 2.0)
    with LocalChatServer(tokens=["word "] * 100_000, mode="slow", delay=0.002) as endless:
        brain = create_brain("openai", base_url=endless.url, model="m", max_tokens=None)
        began = time.monotonic()
        text = " ".join(s.text for s in brain.reply(Conversation("c"), "talk forever"))
        took = time.monotonic() - began
        brain.close()
    assert took < 6, f"the reply ran {took:.1f} s"
    assert len(text) <= openai_chat.MAX_REPLY_CHARS + 200


def test_a_model_server_that_floods_characters_is_cut(world):
    from visage.backends.llm import create_brain
    from visage.backends.llm import openai_chat
    from visage.backends.llm.base import Conversation

    with LocalChatServer(tokens=["la la la. "] * 50_000) as flood:
        brain = create_brain("openai", base_url=flood.url, model="m", max_tokens=None)
        sentences = list(brain.reply(Conversation("c"), "sing"))
        brain.close()
    assert sum(len(s.text) for s in sentences) <= openai_chat.MAX_REPLY_CHARS + 200


# -- 4. limits ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["declared", "chunked"])
def test_a_huge_offer_is_refused_unread(world, how):
    body = json.dumps({"sdp": "v=0\r\n" + "a=x\r\n" * 200_000, "type": "offer"}).encode()
    if how == "declared":
        r = httpx.post(world.open.url + "/api/offer", content=body, headers={"Content-Type": "application/json"})
    else:
        def chunks():
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]
        r = httpx.post(world.open.url + "/api/offer", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_offers_per_minute_are_limited_with_retry_after(world):
    statuses = [offer_json(world.locked, {"fps": 1000}, headers=_bearer()) for _ in range(5)]
    codes = [r.status_code for r in statuses]
    assert codes[:3] == [422] * 3 and codes[3] == 429, codes
    assert int(statuses[3].headers["retry-after"]) > 0


def test_sessions_are_limited_by_default():
    from visage.server.access import default_max_sessions
    from visage.server.app import create_app

    import os
    app = create_app()
    assert app.state.peers.max_sessions == default_max_sessions() == max(2, os.cpu_count() or 2)


def test_an_offer_never_connected_is_freed(world):
    peers = world.open.app.state.peers
    peers.connect_timeout = 1.0
    try:
        r = offer_json(world.open, {"size": 256}, sdp=real_offer())
        assert r.status_code == 200, r.text
        assert peers.active
        asyncio.run(wait_for_sessions(world.open.url, 0, timeout=10))
    finally:
        peers.connect_timeout = 30.0


def test_a_typed_turn_too_long_or_not_a_string_is_refused(world):
    async def talk():
        client = Client(world.open.url)
        await client.connect({"size": 256})
        for text in ("x" * 2001, None, {"a": 1}, 42, "   "):
            client.send({"type": "text", "text": text})
        client.send({"type": "unknown"})
        await client.until(lambda: client.kinds().count("error") >= 6, 10, "six errors")
        said = [e for e in client.events if e["type"] == "user"]
        await client.close()
        return said

    assert asyncio.run(talk()) == []  # nothing was spoken, "None" least of all
    asyncio.run(wait_for_sessions(world.open.url, 0))


# -- 5. unusable SDP ----------------------------------------------------------------------------------
SDP_CASES = {
    "garbage": "v=0 nonsense",
    "empty_session": "v=0\r\n",
    "binary": "\x00\x01\x02\xff" * 50,
    "no_rtpmap": "DROP:a=rtpmap",
    "no_fingerprint": "DROP:a=fingerprint",
    "no_ice_credentials": "DROP:a=ice-ufrag",
    "no_media": "DROP:m=",
    "truncated": "TRUNCATE",
}


@pytest.mark.parametrize("case", SDP_CASES)
def test_an_unusable_sdp_is_a_400_with_a_reason(world, case):
    spec = SDP_CASES[case]
    if spec.startswith("DROP:"):
        sdp = real_offer(spec[5:])
    elif spec == "TRUNCATE":
        sdp = real_offer()[:300]
    else:
        sdp = spec
    r = offer_json(world.open, {"size": 256}, sdp=sdp)
    assert r.status_code == 400, (case, r.status_code, r.text)
    assert "offer" in r.json()["error"]
    assert not world.open.app.state.peers.active
    assert_served(world.open)


@pytest.mark.parametrize("body", ['{"sdp": 5}', '[1, 2]', '"offer"', '{"sdp": "v=0", "type": "answer"}', '{'])
def test_an_offer_that_is_not_an_offer_is_refused(world, body):
    r = httpx.post(world.open.url + "/api/offer", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["error"]


# -- WebSocket abuse ----------------------------------------------------------------------------------
WS_BAD = {
    "binary": b"\x00\x01binary",
    "not_json": "not json",
    "json_array": "[1, 2]",
    "text_null": json.dumps({"type": "say", "text": None}),
    "text_dict": json.dumps({"type": "say", "text": {"a": 1}}),
    "text_number": json.dumps({"type": "say", "text": 5}),
    "text_too_long": json.dumps({"type": "say", "text": "word " * 1200}),
    "unknown_type": json.dumps({"type": "hack"}),
    "base_url_option": json.dumps({"type": "say", "text": "hi", "options": {"base_url": "http://127.0.0.1:9"}}),
    "language_xx": json.dumps({"type": "say", "text": "hi", "options": {"language": "xx"}}),
    "style_path": json.dumps({"type": "say", "text": "hi", "options": {"style": "/etc/hosts.yaml"}}),
}


@pytest.mark.parametrize("case", WS_BAD)
def test_a_bad_websocket_message_gets_an_error_and_the_socket_stays_open(world, case):
    import websockets

    async def talk():
        async with websockets.connect(_ws_url(world.open), max_size=2**22) as ws:
            await ws.send(WS_BAD[case])
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "say", "text": "Still here?"}))
            second = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return first, second

    first, second = asyncio.run(talk())
    assert first["type"] == "error" and first["message"], first
    assert second["type"] == "header"


def test_a_client_that_leaves_mid_say_frees_the_work(world):
    import websockets

    state = world.open.app.state.visage

    async def talk():
        async with websockets.connect(_ws_url(world.open), max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "say", "text": "A long story, sentence after sentence. " * 120}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "header"
        deadline = time.monotonic() + 10
        while state.motion_streams and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return state.motion_streams

    assert asyncio.run(talk()) == 0


def test_messages_per_minute_are_limited_on_the_socket(world):
    import websockets

    async def talk():
        async with websockets.connect(_ws_url(world.locked), additional_headers=_bearer()) as ws:
            replies = []
            for _ in range(6):
                await ws.send(json.dumps({"type": "stop"}))
                await ws.send(json.dumps({"type": "say", "text": "Hi."}))
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if m["type"] in ("header", "error"):
                        replies.append(m)
                        break
            return replies

    replies = asyncio.run(talk())
    assert any(m["type"] == "error" and "too many" in m["message"] for m in replies), replies


# -- uploads ------------------------------------------------------------------------------------------
def test_an_upload_whose_client_leaves_logs_no_traceback(world, caplog):
    caplog.set_level(logging.WARNING)
    with socket.create_connection(("127.0.0.1", world.open.port)) as s:
        s.sendall(b"POST /api/avatars HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                  b"boundary=x\r\nContent-Length: 500000\r\n\r\n--x\r\n" + b"0" * 1000)
    time.sleep(1.0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert_served(world.open)


def test_an_upload_that_is_not_multipart_is_refused(world):
    r = httpx.post(world.open.url + "/api/avatars", content=b"photo", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422


# -- load: 10 clients x 20 says (the figures) -------------------------------------------------
@pytest.mark.slow
def test_ten_clients_saying_twenty_times_all_finish_and_health_stays_fast(world):
    import websockets

    async def client(first_frames: list[float]):
        async with websockets.connect(_ws_url(world.open), max_size=2**22) as ws:
            for _ in range(20):
                began = time.perf_counter()
                await ws.send(json.dumps({"type": "say", "text": "Hello there. How are you today?"}))
                seen = False
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if m["type"] == "frame" and not seen:
                        first_frames.append(time.perf_counter() - began)
                        seen = True
                    if m["type"] in ("end", "error"):
                        assert m["type"] == "end", m
                        break

    async def probe(lags: list[float], done: asyncio.Event):
        async with httpx.AsyncClient() as http:
            while not done.is_set():
                began = time.perf_counter()
                await http.get(world.open.url + "/health")
                lags.append(time.perf_counter() - began)
                await asyncio.sleep(0.2)

    async def run():
        firsts, lags, done = [], [], asyncio.Event()
        prober = asyncio.ensure_future(probe(lags, done))
        await asyncio.gather(*(client(firsts) for _ in range(10)))
        done.set()
        await prober
        return firsts, lags

    firsts, lags = asyncio.run(run())
    firsts.sort()
    lags.sort()
    p50, p95 = firsts[len(firsts) // 2], lags[int(0.95 * (len(lags) - 1))]
    print(f"\n200 says: first frame p50 {1000 * p50:.0f} ms; /health p95 {1000 * p95:.1f} ms ({len(lags)} probes)")
    assert len(firsts) == 200
