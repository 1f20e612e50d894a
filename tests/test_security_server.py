"""`visage serve` as a hostile or careless client meets it: real uvicorn servers on loopback ports, real
HTTP (httpx and raw sockets), a real WebSocket client, real WebRTC offers (aiortc), and imitation model
servers on loopback that record the Authorization headers they are sent. Each case must be refused
cleanly (a 4xx with a message, or an error message on the socket), and the server must keep serving.

Families: choices a page may not make (URLs, keys, paths, unknown names), sessions that are not the
caller's, the token, Host and Origin, content types and body sizes, rates, unusable SDP, WebSocket
abuse, model servers that misbehave, abandoned work, secrets on the command line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import threading
import time

import aiortc  # noqa: F401 - the live extra: missing is a failure, not a skip
import httpx
import pytest

from browser_harness import Client, ServerThread, wait_for_sessions
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


# -- 1. a page chooses among what the server offers, never a path, a URL or a key ---------------------
REFUSED_OPTIONS = {
    "base_url": {"base_url": "http://127.0.0.1:9/v1"},
    "openai_with_base_url": {"brain": "openai", "base_url": "http://127.0.0.1:9/v1"},
    "api_key": {"api_key": "mine"},
    "model": {"model": "gpt-4"},
    "brain_not_offered": {"brain": "openai"},
    "brain_path": {"brain": "../../etc/passwd"},
    "knowledge_file": {"knowledge": "/etc/passwd"},
    "knowledge_folder": {"knowledge": "/etc"},
    "knowledge_md": {"knowledge": "SECRET_MD"},
    "knowledge_missing": {"knowledge": "/no/such/file.md"},
    "style_file": {"style": "SECRET_YAML"},
    "style_missing": {"style": "/no/such/style.yaml"},
    "language_xx": {"language": "xx"},
    "language_not_a_string": {"language": ["en"]},
    "fps_1000": {"fps": 1000},
    "size_huge": {"size": 10**9},
    "voice_path": {"voice": "../../../etc/passwd"},
    "tts_not_offered": {"tts": "openai"},
    "session_of_another": {"session_id": "0123456789abcdef0123456789abcdef"},
    "session_with_bad_token": {"session_id": "0123456789abcdef", "session_token": "guess"},
    "avatar_path": {"avatar": "../../etc"},
    "persona_too_long": {"persona": "x" * 5000},
    "options_a_list": ["brain", "openai"],
}


@pytest.mark.parametrize("case", REFUSED_OPTIONS)
def test_a_page_cannot_name_a_url_a_key_a_path_or_an_unoffered_choice(world, case):
    options = json.loads(json.dumps(REFUSED_OPTIONS[case]).replace("SECRET_YAML", str(world.secret_yaml))
                         .replace("SECRET_MD", str(world.home / "secret.md")))
    r = offer_json(world.open, options, sdp=real_offer())
    assert r.status_code == 422, (case, r.status_code, r.text)
    error = r.json()["error"]
    assert SECRET_TEXT not in error and "head_scale" not in error
    assert "exist" not in error.lower() and "no such" not in error.lower()  # no file-exists oracle
    assert not world.attacker.requests


def test_options_list_names_only_and_no_secret(world):
    o = httpx.get(world.open.url + "/api/options").json()
    assert o["brains"] == ["embedded", "local", "down", "hangup"]
    text = json.dumps(o) + json.dumps(httpx.get(world.open.url + "/health").json())
    assert KEY not in text and world.model.url not in text and "127.0.0.1:" not in text


def test_the_key_goes_only_to_the_server_it_was_configured_for(world):
    async def talk():
        client = Client(world.open.url)
        answer = await client.connect({"size": 256, "brain": "local"})
        assert answer.get("session"), answer
        client.send({"type": "text", "text": "Hello?"})
        await client.until(lambda: "reply" in client.kinds(), 30, "a reply from the model")
        await client.close()

    asyncio.run(talk())
    asyncio.run(wait_for_sessions(world.open.url, 0))
    chats = [r for r in world.model.requests if r.path.endswith("/chat/completions")]
    assert chats and all(r.headers["authorization"] == f"Bearer {KEY}" for r in chats)
    assert not world.attacker.requests


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


# -- 2. sessions belong to whoever created them ---------------------------------------------------------
def test_sessions_are_unguessable_and_only_their_page_closes_or_resumes_them(world):
    async def talk():
        first = Client(world.open.url)
        answer = await first.connect({"size": 256})
        sid, secret = answer["session"], answer["secret"]
        assert len(sid) >= 20 and len(secret) >= 20
        async with httpx.AsyncClient(timeout=30) as http:
            url = f"{world.open.url}/api/sessions/{sid}/close"
            for body in ({}, {"secret": "guess"}, {"secret": None}, {"secret": ["x"]}):
                r = await http.post(url, json=body)
                assert r.status_code == 404 and not r.json()["closed"], r.text
            r = await http.post(url, content="secret=" + secret, headers={"Content-Type": "text/plain"})
            assert r.status_code == 415
            assert (await http.get(world.open.url + "/health")).json()["sessions"]["active"] == 1
            conversation, token = answer["conversation_id"], answer["conversation_token"]
            wrong = await http.post(world.open.url + "/api/offer", json={"sdp": "v=0\r\n", "type": "offer", "options": {
                "session_id": conversation, "session_token": token[::-1]}})
            assert wrong.status_code == 422
            assert (await http.post(url, json={"secret": secret})).json()["closed"]
        await first.close()
        await wait_for_sessions(world.open.url, 0)
        again = Client(world.open.url)
        resumed = await again.connect({"size": 256, "session_id": conversation, "session_token": token})
        await again.close()
        return conversation, resumed

    conversation, resumed = asyncio.run(talk())
    assert resumed["conversation_id"] == conversation
    asyncio.run(wait_for_sessions(world.open.url, 0))


# -- 3. token, Host, Origin, CORS -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/options", "/health", "/static/app.js"])
def test_a_foreign_host_name_is_refused_on_a_loopback_server(world, path):
    r = httpx.get(world.open.url + path, headers={"Host": "evil.example"})
    assert r.status_code == 400 and "host name" in r.json()["error"]


def test_loopback_names_are_served(world):
    port = world.open.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert httpx.get(world.open.url + "/api/options", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.evil.example",
                                    "file://"])
def test_posts_from_other_sites_are_refused(world, origin):
    r = offer_json(world.open, {}, headers={"Origin": origin})
    assert r.status_code == 403, r.text
    files = {"photo": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")}
    r = httpx.post(world.open.url + "/api/avatars", files=files, data={"replace": "1", "name": "default2"},
                   headers={"Origin": origin})
    assert r.status_code == 403


def test_the_same_origin_is_served(world):
    r = offer_json(world.open, {"fps": 1000}, headers={"Origin": world.open.url})
    assert r.status_code == 422  # past the guard, refused by the settings' rule


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""])
def test_offers_must_be_json(world, kind):
    body = json.dumps({"sdp": real_offer(), "type": "offer"})
    r = httpx.post(world.open.url + "/api/offer", content=body, headers={"Content-Type": kind} if kind else {})
    assert r.status_code == 415


def test_the_page_and_api_need_the_token(world):
    url = world.locked.url
    assert httpx.get(url + "/").status_code == 401 and "token" in httpx.get(url + "/").text
    assert httpx.get(url + "/api/options").status_code == 401
    assert httpx.get(url + "/api/options", headers=_bearer("wrong-token-of-enough-length")).status_code == 401
    assert httpx.get(url + "/?token=wrong").status_code == 401
    assert offer_json(world.locked, {}).status_code == 401
    assert httpx.get(url + "/health").json() == {"status": "ok"}  # a probe sees the status, nothing more
    assert "versions" in httpx.get(url + "/health", headers=_bearer()).json()
    assert httpx.get(url + "/api/options", headers=_bearer()).status_code == 200


def test_a_first_visit_with_the_token_sets_a_strict_cookie(world):
    with httpx.Client(base_url=world.locked.url) as browser:
        page = browser.get(f"/?token={TOKEN}")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert browser.get("/api/options").status_code == 200  # the cookie is the token from now on


def test_cors_is_explicit(world):
    allowed = httpx.options(world.locked.url + "/api/options", headers={
        "Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"})
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example.org"
    other = httpx.get(world.locked.url + "/api/options", headers={"Origin": "https://evil.example", **_bearer()})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    plain = httpx.get(world.open.url + "/api/options", headers={"Origin": world.open.url})
    assert "access-control-allow-origin" not in plain.headers  # no CORS unless the operator allows it


def _ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/ws/motion"


@pytest.mark.parametrize("case", ["foreign_origin", "no_token", "wrong_token"])
def test_the_motion_socket_checks_origin_and_token(world, case):
    import websockets

    server, kw = {"foreign_origin": (world.open, {"origin": "https://evil.example"}),
                  "no_token": (world.locked, {}),
                  "wrong_token": (world.locked, {"additional_headers": _bearer("not-the-token-at-all!")})}[case]

    async def attempt():
        async with websockets.connect(_ws_url(server), **kw) as ws:
            await ws.send("{}")

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 403


def test_the_motion_socket_works_with_the_token(world):
    import websockets

    async def talk():
        async with websockets.connect(_ws_url(world.locked), additional_headers=_bearer(),
                                      origin="https://app.example.org") as ws:
            await ws.send(json.dumps({"type": "say", "text": "Hi."}))
            return json.loads(await asyncio.wait_for(ws.recv(), 30))["type"]

    assert asyncio.run(talk()) == "header"


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


# -- 6. secrets not on the command line; defaults by bind --------------------------------------------
def _serve_args(*argv):
    from visage.cli.main import build_parser

    return build_parser().parse_args(["serve", *argv])


def test_the_token_defaults_follow_the_bind(monkeypatch, tmp_path):
    from visage.cli.serve import access_from

    monkeypatch.delenv("VISAGE_TOKEN", raising=False)
    assert access_from(_serve_args()).token is None  # loopback: like today
    wide = access_from(_serve_args("--host", "0.0.0.0"))
    assert wide.token and len(wide.token) >= 24 and wide.allowed_hosts is None
    assert access_from(_serve_args("--host", "0.0.0.0", "--no-token")).token is None
    monkeypatch.setenv("VISAGE_TOKEN", TOKEN)
    assert access_from(_serve_args()).token == TOKEN
    (tmp_path / "t").write_text("from-a-file-0123456789\n")
    assert access_from(_serve_args("--token-file", str(tmp_path / "t"))).token == "from-a-file-0123456789"


@pytest.mark.parametrize("argv, words", [(["--token-file", "/no/such/file"], "cannot read"),
                                         (["--api-key-file", "/no/such/file"], "cannot read")])
def test_unreadable_secret_files_are_clear_errors(argv, words):
    from visage.cli.serve import access_from, defaults_from
    from visage.errors import InputError

    with pytest.raises(InputError, match=words):
        args = _serve_args(*argv)
        access_from(args)
        defaults_from(args)


def test_the_api_key_is_read_from_a_file_and_the_flag_warns(tmp_path, capsys):
    from visage.cli.serve import defaults_from

    (tmp_path / "key").write_text(KEY + "\n")
    assert defaults_from(_serve_args("--api-key-file", str(tmp_path / "key")))["api_key"] == KEY
    assert defaults_from(_serve_args("--api-key", "sk-x"))["api_key"] == "sk-x"
    assert "visible" in capsys.readouterr().err


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
