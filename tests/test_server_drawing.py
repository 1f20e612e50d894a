"""Browser drawing, server side: a conversation with no video, whose face's motion frames go down the
"motion" channel on the audio's clock, the face payload route, and the limit kept apart from video's."""
from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import numpy as np
import pytest

from browser_harness import live_server, ServerThread
from drawing_client import DrawingClient


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("home"), {"asr": "pocketsphinx"}, defaults={"tts": "espeak"},
                     max_drawn_sessions=1) as running:
        yield running


def test_a_drawn_conversation_sends_voice_and_motion_frames_on_one_clock(server):
    async def run():
        client = DrawingClient(server.url)
        answer = await client.connect({})
        assert "session" in answer, answer
        try:
            await client.until(lambda: client.origin is not None, 10, "the clock event")
            avatar = next(e for _, e in client.events if e["type"] == "avatar")
            assert avatar["drawing"] == "browser" and avatar["face_url"].startswith("/api/faces/default?size=512&v=")
            # a second drawn conversation is over this server's limit of one; its refusal names the kind
            second = await DrawingClient(server.url).connect({})
            assert second["status"] == 503 and "browser-drawn" in second["error"]
            client.send({"type": "text", "text": "Hello, what can you do?"})
            await client.until(lambda: "latency" in client.kinds(), 30, "the reply")
            await asyncio.sleep(2.0)
            return client.audio_times(), np.array(client.frames), client
        finally:
            await client.close()

    audio, frames, client = asyncio.run(run())
    assert "video" not in {r.track.kind for r in client.pc.getReceivers() if r.track}, "a video track was sent"
    assert len(frames) > 50
    gaps = np.diff(frames[:, 1])
    assert np.median(gaps) == pytest.approx(0.04, abs=1e-6), "frames are not 1/fps apart"
    # the clock: audio and frames of the same output time leave together (arrival - t alike, at best:
    # a loaded machine delays some of either)
    late_audio = np.percentile(audio[:, 0] - audio[:, 1], 10)
    late_frames = np.percentile(frames[:, 0] - frames[:, 1], 10)
    # quiet: ~20 ms (Opus and the jitter buffer); a wrong origin or start would be whole seconds off;
    # on a loaded machine the audio's encoder thread adds a few hundred ms
    assert abs(late_audio - late_frames) < 0.5, (late_audio, late_frames)
    # the mouth opens when the voice sounds: jawOpen where the audio of that time is loud
    loud = audio[audio[:, 2] > 0.02, 1]
    assert len(loud) > 20, "the reply was not heard"
    speaking = np.isin(np.round(frames[:, 1] / 0.02).astype(int), np.round(loud / 0.02).astype(int))
    assert frames[speaking, 2].mean() > frames[~speaking, 2].mean() + 0.05


def test_the_face_payload_is_served_once_versioned_and_private(server):
    r = httpx.get(server.url + "/api/faces/default?size=512", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    payload = r.json()
    assert payload["format"] == "visage-face/1" and payload["size"] == 512
    etag = r.headers["etag"].strip('"')
    assert r.headers["cache-control"] == "private, no-cache"
    versioned = httpx.get(server.url + f"/api/faces/default?size=512&v={etag}")
    assert "immutable" in versioned.headers["cache-control"] and json.loads(versioned.content) == payload
    assert httpx.get(server.url + "/api/faces/default?size=512", headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    assert httpx.get(server.url + "/api/faces/nobody").status_code == 404
    assert httpx.get(server.url + "/api/faces/default?size=9999").status_code == 422
    assert len(gzip.compress(r.content)) < len(r.content)  # sanity: the JSON itself is not tiny


def test_the_face_payload_asks_the_token_like_the_page(tmp_path, monkeypatch):
    monkeypatch.setenv("VISAGE_HOME", str(tmp_path))
    from visage.live.services import LiveServices
    from visage.server.access import Access
    from visage.server.app import create_app

    with ServerThread(create_app(LiveServices(asr="pocketsphinx"), access=Access("secret-token-123456"))) as locked:
        assert httpx.get(locked.url + "/api/faces/default").status_code == 401


def test_pages_connecting_at_once_share_one_build_of_the_face(server, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from visage.server.faces import FaceCache

    builds = []
    real_build = FaceCache._build

    def counted(services, name, size):
        builds.append(size)
        return real_build(services, name, size)

    monkeypatch.setattr(FaceCache, "_build", staticmethod(counted))
    with ThreadPoolExecutor(8) as pool:  # a size no other test asked for: nothing is kept yet
        answers = list(pool.map(lambda _: httpx.get(server.url + "/api/faces/default?size=384", timeout=60), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.headers["etag"] for a in answers}) == 1
    assert builds == [384]  # eight pages, one build
