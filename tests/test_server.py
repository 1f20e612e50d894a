"""The web server, without a browser: a real uvicorn on a loopback port, real HTTP, WebSocket and
WebRTC clients (httpx, websockets, aiortc), the real live services. Nothing is mocked."""
from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import subprocess
import sys
import time

import aiortc  # noqa: F401 - the live extra, which `make test` installs: missing is a failure, not a skip
import httpx
import numpy as np
import uvicorn  # noqa: F401
import pytest

from browser_harness import Client, ServerThread, wait_for_sessions

OUTSIDE = re.compile(r"""(src|href)=["']?(https?:)?//|url\(\s*["']?(https?:)?//|(from|import\(|fetch\()\s*["'](https?:)?//""")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module, its avatars and conversations kept in a temporary VISAGE_HOME."""
    mp = pytest.MonkeyPatch()
    mp.setenv("VISAGE_HOME", str(tmp_path_factory.mktemp("home")))
    from visage.live.services import LiveServices
    from visage.server.app import create_app

    app = create_app(LiveServices())
    with ServerThread(app) as running:
        deadline = time.monotonic() + 180
        while httpx.get(running.url + "/health").json()["status"] == "loading":
            assert time.monotonic() < deadline, "the services did not load"
            time.sleep(0.2)
        running.app = app
        yield running
    mp.undo()


def health(server) -> dict:
    return httpx.get(server.url + "/health").json()


# -- plain HTTP -------------------------------------------------------------------------------------
def test_health_tells_the_state(server):
    h = health(server)
    assert h["status"] == "ok", h
    assert h["sessions"]["active"] == 0
    assert h["services"]["loaded"] is True and h["services"]["recogniser_process"] == "running"
    assert {"visage", "python", "aiortc"} <= set(h["versions"])
    assert h["load"]["cpus"] >= 1


def test_the_page_and_its_files_are_served_without_outside_resources(server):
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "<video" in page.text
    assert "autoplay" in page.text and "playsinline" in page.text
    for name in ("app.js", "stats.js", "meter.js", "style.css"):
        r = httpx.get(f"{server.url}/static/{name}")
        assert r.status_code == 200, name
        assert not OUTSIDE.search(r.text), f"{name} loads something from outside"
    assert not OUTSIDE.search(page.text)


def test_options_list_what_the_settings_offer(server):
    o = httpx.get(server.url + "/api/options").json()
    assert o["brains"] == ["embedded"]  # an openai brain only when the operator sets one up
    assert {"en", "zh"} <= {lang["code"] for lang in o["languages"]}
    assert "friendly" in o["styles"] and "default" in o["avatars"] and o["voices"]
    assert not {"api_key", "base_url", "model", "knowledge"} & set(o["defaults"])


# -- photo uploads ----------------------------------------------------------------------------------
def upload(server, data: bytes, filename="me.jpg", content_type="image/jpeg", name=None):
    fields = {"name": name} if name else None
    return httpx.post(server.url + "/api/avatars", files={"photo": (filename, data, content_type)}, data=fields,
                      timeout=60)


def image_bytes(image: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format=fmt)
    return out.getvalue()


def test_a_photo_becomes_an_avatar(server):
    from skimage import data

    r = upload(server, image_bytes(data.astronaut(), "JPEG"), name="eileen")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "eileen" and r.json()["info"]["size"] >= 512
    assert "eileen" in httpx.get(server.url + "/api/options").json()["avatars"]
    again = upload(server, image_bytes(data.astronaut(), "PNG"), filename="x.png", content_type="image/png",
                   name="eileen")
    assert again.status_code == 409 and "already exists" in again.json()["error"]


def test_too_big_a_photo_is_refused_before_it_is_read(server):
    from visage.server.uploads import MAX_PHOTO_BYTES

    r = upload(server, b"\xff\xd8\xff" + bytes(MAX_PHOTO_BYTES))
    assert r.status_code == 413 and "limit is 10 MB" in r.json()["error"]


def test_a_file_that_is_not_a_photo_is_refused_by_its_bytes(server):
    r = upload(server, b"#!/bin/sh\necho not a photo\n", filename="me.jpg", content_type="image/jpeg")
    assert r.status_code == 415 and "JPEG, PNG or WebP" in r.json()["error"]
    gif = upload(server, b"GIF89a" + bytes(100), filename="a.gif", content_type="image/gif")
    assert gif.status_code == 415


def test_a_damaged_photo_and_a_photo_without_a_face_get_clear_errors(server):
    damaged = upload(server, b"\x89PNG\r\n\x1a\n" + bytes(200), filename="me.png", content_type="image/png")
    assert damaged.status_code == 422 and "not an image" in damaged.json()["error"]
    sky = np.zeros((300, 300, 3), np.uint8)
    sky[..., 2] = np.linspace(80, 255, 300, dtype=np.uint8)[:, None]
    faceless = upload(server, image_bytes(sky, "PNG"), filename="sky.png", content_type="image/png")
    assert faceless.status_code == 422 and "no face" in faceless.json()["error"]
    nameless = httpx.post(server.url + "/api/avatars", data={"name": "x"})
    assert nameless.status_code == 422


# -- motion over WebSocket --------------------------------------------------------------------------
def test_motion_streams_over_a_websocket(server):
    import websockets

    async def talk():
        url = server.url.replace("http://", "ws://") + "/ws/motion"
        async with websockets.connect(url, max_size=2**22) as ws:
            await ws.send("not json")
            assert json.loads(await ws.recv())["type"] == "error"
            await ws.send(json.dumps({"type": "say", "text": "Hello there! How are you?", "options": {"fps": 25}}))
            messages = []
            while not messages or messages[-1]["type"] not in ("end", "error"):
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
            return messages

    messages = asyncio.run(talk())
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "header" and kinds[-1] == "end", kinds[-3:]
    assert len(messages[0]["blendshape_names"]) == 52
    frames = [m for m in messages if m["type"] == "frame"]
    audio = [m for m in messages if m["type"] == "audio"]
    assert len(frames) >= 25 and len(frames[0]["blendshapes"]) == 52
    assert {"pitch", "yaw", "roll"} <= set(frames[0]["head"])
    pcm = np.concatenate([np.frombuffer(base64.b64decode(a["pcm16_base64"]), "<i2") for a in audio])
    assert len(pcm) > 0 and np.abs(pcm).max() > 1000  # the voice is in the audio (it may start with a pause)
    seconds = sum(len(base64.b64decode(a["pcm16_base64"])) / 2 / a["sample_rate"] for a in audio)
    assert frames[-1]["t"] >= seconds - 0.1  # the face moves for as long as the voice speaks
    assert kinds.count("sentence") == 2


def test_a_new_say_or_a_stop_cuts_the_stream_short(server):
    import websockets

    async def talk():
        url = server.url.replace("http://", "ws://") + "/ws/motion"
        async with websockets.connect(url, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "say", "text": "This is a long text. " * 20}))
            assert json.loads(await ws.recv())["type"] == "header"
            await ws.send(json.dumps({"type": "stop"}))
            kinds = []
            while "stopped" not in kinds:
                kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
            return kinds

    assert "end" not in asyncio.run(talk())


# -- WebRTC conversations ---------------------------------------------------------------------------
def test_a_typed_question_gets_an_answer_with_video_voice_and_events(server):
    async def talk():
        client = Client(server.url)
        answer = await client.connect({"size": 256})
        assert answer.get("session"), answer
        await client.until(lambda: client.counts["video"] >= 10, 20, "video frames arrive")
        client.send({"type": "text", "text": "Hello, what can you do?"})
        await client.until(lambda: "reply" in client.kinds(), 30, "a reply arrives")
        await client.until(lambda: client.counts["loud_audio"] >= 5, 20, "the reply is heard")
        await client.until(lambda: "latency" in client.kinds(), 20, "the latency is reported")
        client.send({"type": "ping", "t": 1})
        await client.until(lambda: "pong" in client.kinds(), 5, "a pong")
        await client.close()
        return client

    client = asyncio.run(talk())
    kinds = client.kinds()
    assert kinds[0] == "ready" and "avatar" in kinds and "state" in kinds
    assert client.size == (256, 256)
    user = next(e for e in client.events if e["type"] == "user")
    assert user["text"] == "Hello, what can you do?" and user["final"]
    reply = next(e for e in client.events if e["type"] == "reply")
    assert reply["text"] and reply["emotion"]
    latency = next(e for e in client.events if e["type"] == "latency")
    assert 0 < latency["total_to_first_sound_sent"] < 5
    assert all(0 <= v <= 1 for v in next(e for e in client.events if e["type"] == "avatar")["mouth_box"])
    asyncio.run(wait_for_sessions(server.url, 0))


def test_the_stop_button_silences_the_avatar(server):
    async def talk():
        client = Client(server.url)
        await client.connect({"size": 256})
        client.send({"type": "text", "text": "Tell me about yourself, please. What can you do?"})
        await client.until(lambda: client.counts["loud_audio"] >= 3, 30, "the reply starts")
        client.send({"type": "stop"})
        await asyncio.sleep(0.5)  # what was already on its way
        loud = client.counts["loud_audio"]
        await asyncio.sleep(1.0)
        after = client.counts["loud_audio"] - loud
        states = [e["state"] for e in client.events if e["type"] == "state"]
        await client.close()
        return after, states

    after, states = asyncio.run(talk())
    assert after == 0, f"{after} loud audio frames after the stop"
    assert states[-1] == "listening", states
    asyncio.run(wait_for_sessions(server.url, 0))


def test_a_client_that_leaves_mid_reply_frees_its_session(server):
    async def talk():
        client = Client(server.url)
        await client.connect({"size": 256})
        await wait_for_sessions(server.url, 1)
        client.send({"type": "text", "text": "Tell me about yourself, please. What can you do?"})
        await client.until(lambda: client.counts["loud_audio"] >= 2, 30, "the reply starts")
        await client.close()  # gone while the avatar speaks
        await wait_for_sessions(server.url, 0)

    asyncio.run(talk())
    services = server.app.state.services
    assert not services.active, "a closed session is still registered with the services"


def test_a_failing_session_does_not_disturb_another(server):
    async def talk():
        good = Client(server.url)
        await good.connect({"size": 256})
        before = good.counts["video"]
        bad = Client(server.url)
        refused = await bad.connect({"avatar": "nobody-by-this-name"})
        assert refused["status"] == 422 and "avatar" in refused["error"]
        async with httpx.AsyncClient(timeout=30) as http:
            for sdp in ("v=0 nonsense", "v=0\r\n"):
                garbage = await http.post(server.url + "/api/offer", json={"sdp": sdp, "type": "offer"})
                assert garbage.status_code == 400 and "offer" in garbage.json()["error"], garbage.text
        await bad.close()
        await good.until(lambda: good.counts["video"] >= before + 25, 10, "the good session keeps streaming")
        good.send({"type": "text", "text": "Are you still there?"})
        await good.until(lambda: "reply" in good.kinds(), 30, "the good session still answers")
        await good.close()

    asyncio.run(talk())
    asyncio.run(wait_for_sessions(server.url, 0))


def test_a_full_server_says_so(server):
    peers = server.app.state.peers
    peers.max_sessions = 1

    async def talk():
        first, second = Client(server.url), Client(server.url)
        await first.connect({"size": 256})
        busy = await second.connect({"size": 256})
        await first.close()
        await second.close()
        return busy

    try:
        busy = asyncio.run(talk())
    finally:
        peers.max_sessions = 0
    assert busy["status"] == 503 and "busy" in busy["error"]
    asyncio.run(wait_for_sessions(server.url, 0))


def test_a_forgotten_conversation_is_ended_and_the_page_told_why(server):
    peers = server.app.state.peers
    peers.idle_timeout = 1.5

    async def talk():
        client = Client(server.url)
        await client.connect({"size": 256})
        await client.until(lambda: "closed" in client.kinds(), 10, "the idle session is closed")
        await wait_for_sessions(server.url, 0)
        await client.close()
        return next(e for e in client.events if e["type"] == "closed")

    try:
        closed = asyncio.run(talk())
    finally:
        peers.idle_timeout = 15 * 60
    assert "nothing was said" in closed["reason"]


def test_shutting_down_closes_every_session(server):
    from visage.server.app import create_app

    services = server.app.state.services  # already loaded: a second server starts at once

    async def talk(url):
        client = Client(url)
        await client.connect({"size": 256})
        await client.until(lambda: client.counts["video"] >= 5, 20, "video frames arrive")
        return client

    with ServerThread(create_app(services)) as second:
        loop = asyncio.new_event_loop()
        client = loop.run_until_complete(talk(second.url))
        assert len(services.active) == 1
    try:
        loop.run_until_complete(client.until(lambda: "closed" in client.kinds(), 10, "the page is told"))
        assert "shutting down" in next(e for e in client.events if e["type"] == "closed")["reason"]
        assert not services.active
    finally:
        loop.run_until_complete(client.close())
        loop.close()


# -- `visage serve`'s recogniser and turn-taking flags ----------------------------------------------
def serve_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "visage.cli.main", "serve", "--port", "9", *args],
                          capture_output=True, text=True, timeout=120)


def test_serve_checks_the_recogniser_before_it_serves():
    result = serve_cli("--asr", "faster-whisper", "--asr-model", "/no/such/whisper-model")
    assert result.returncode != 0
    message = result.stderr.lower()
    assert "whisper" in message and ("pip install" in message or "/no/such/whisper-model" in message), result.stderr
    assert "traceback" not in message
    wrong = serve_cli("--asr", "pocketsphinx", "--asr-model", "/models/x")  # its model is bundled
    assert wrong.returncode != 0 and "pocketsphinx uses its bundled" in wrong.stderr
    missing = serve_cli("--asr-model", "/models/x")  # the default ear with a model that is not there
    assert missing.returncode != 0 and "/models/x" in missing.stderr and "traceback" not in missing.stderr.lower()
    silence = serve_cli("--end-silence", "0.05")
    assert silence.returncode != 0 and "--end-silence: Input should be greater than or equal to 0.2" in silence.stderr


def test_serve_passes_turn_taking_flags_to_every_session():
    from visage.cli.main import build_parser
    from visage.cli.serve import asr_options_from, defaults_from
    from visage.live.options import LiveOptions

    args = build_parser().parse_args(["serve", "--end-silence", "0.6", "--unfinished-hold", "0",
                                      "--asr", "funasr", "--asr-model", "/m/SenseVoiceSmall"])
    options = LiveOptions(**defaults_from(args))
    assert options.vad_silence == 0.6 and options.unfinished_hold == 0.0
    assert asr_options_from(args) == {"model": "/m/SenseVoiceSmall"}
    assert LiveOptions().vad_silence == 0.4  # the default the README's latency figures are for
