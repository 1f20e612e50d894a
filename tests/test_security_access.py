"""`visage serve` as a hostile or careless client meets it: who may choose what and see what. Real uvicorn
servers on loopback ports, real HTTP (httpx and raw sockets), a real WebSocket client, real WebRTC offers
(aiortc), imitation model servers on loopback (security_world.py). Each case must be refused cleanly
(a 4xx with a message, or an error message on the socket), and the server must keep serving.

Families: choices a page may not make (URLs, keys, paths, unknown names) and where the model key goes,
sessions that are not the caller's, the token, Host and Origin, CORS, secrets on the command line and
the defaults that follow the bind. Bodies, rates and misbehaving peers: test_security_limits.py.
"""
from __future__ import annotations

import asyncio
import json

import aiortc  # noqa: F401 - the live extra: missing is a failure, not a skip
import httpx
import pytest

from browser_harness import Client, wait_for_sessions
from security_world import KEY, SECRET_TEXT, TOKEN, _bearer, _ws_url, offer_json, real_offer, world  # noqa: F401
# (world: the module's servers, a fixture)


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
