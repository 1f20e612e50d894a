"""What the server tests, the browser test and bench/bench_live.py share: a real uvicorn server on an
ephemeral loopback port (in a thread), a WebRTC client in Python (aiortc) that talks to it like the page,
a spoken question as a WAV file, and headless Chromium that takes that file as its microphone."""
from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
QUESTION = "Hello, what can you do?"


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1 in a background thread; `url` once started. Its own event
    loop, so the test's loop (an aiortc client) and the server's are as separate as two processes."""

    def __init__(self, app, host: str = "127.0.0.1") -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5, ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


@contextlib.contextmanager
def live_server(home: str | Path, services_kwargs: dict | None = None, **app_kwargs):
    """A ServerThread of the real app with VISAGE_HOME at `home`, yielded once its services have loaded
    (the shared start-up of the browser, drawing and 3D-head tests)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("VISAGE_HOME", str(home))
    from visage.live.services import LiveServices
    from visage.server.app import create_app

    try:
        with ServerThread(create_app(LiveServices(**(services_kwargs or {})), **app_kwargs)) as running:
            deadline = time.monotonic() + 180
            while httpx.get(running.url + "/health").json()["status"] == "loading":
                assert time.monotonic() < deadline, "the services did not load"
                time.sleep(0.2)
            yield running
    finally:
        mp.undo()


def question_wav(path: str | Path, text: str = QUESTION, lead: float = 2.5, tail: float = 7.0,
                 rate: int = 48000) -> tuple[float, float]:
    """Write `text` spoken by the embedded voice between `lead` s and `tail` s of silence, as 16-bit mono
    WAV (Chromium loops it as the microphone, so every lead + speech + tail seconds is one question).
    Returns (speech start, speech end) in seconds into the file."""
    from visage.backends.tts import create_tts
    from visage.core.audio import encode_wav, resample
    from visage.core.types import SpeechRequest

    tts = create_tts("espeak")
    tts.load()
    chunks = list(tts.stream(SpeechRequest(text)))
    speech = resample(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, rate)
    loud = np.flatnonzero(np.abs(speech) > 0.01)
    speech = speech[loud[0]: loud[-1] + 1] * (0.5 / max(1e-6, float(np.abs(speech).max())))
    samples = np.concatenate([np.zeros(int(lead * rate)), speech, np.zeros(int(tail * rate))]).astype(np.float32)
    Path(path).write_bytes(encode_wav(samples, rate))
    return lead, lead + len(speech) / rate


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class Chromium:
    """Headless Chromium driven by Selenium, with `wav` as its microphone and a fresh profile."""

    def __init__(self, wav: str | Path | None, size: tuple[int, int] = (1280, 900), mobile: bool = False,
                 deny_microphone: bool = False) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="visage-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--use-fake-device-for-media-stream",
                     "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
                     "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                     f"--user-data-dir={self.profile}", f"--window-size={size[0]},{size[1]}"):
            options.add_argument(flag)
        if deny_microphone:  # as if the person had clicked "Block" on the permission prompt
            options.add_experimental_option("prefs", {"profile.default_content_setting_values.media_stream_mic": 2})
        else:
            options.add_argument("--use-fake-ui-for-media-stream")
        if wav is not None:
            options.add_argument(f"--use-file-for-fake-audio-capture={wav}")
        if mobile:
            options.add_experimental_option("mobileEmulation", {
                "deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 3.0}})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_script_timeout(30)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition: str, timeout: float, what: str, poll: float = 0.1):
        """Wait until the JavaScript expression `condition` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(f"return ({condition});")
            if value:
                return value
            time.sleep(poll)
        page = self.js("return [document.getElementById('notice').textContent, "
                       "window.visageStats && window.visageStats.summary()];")
        raise TimeoutError(f"{what} did not happen within {timeout:.0f} s (page notice: {page[0]!r}, stats: {page[1]})")

    def close(self) -> None:
        try:
            self.driver.get("about:blank")  # the page's goodbye (pagehide) frees its session at once
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Client:
    """A WebRTC client like the page: receives video and audio, sends a (silent) microphone, talks JSON
    over the "events" data channel."""

    def __init__(self, url: str) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection

        self.url = url
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.events: list[dict] = []
        self.tracks: dict = {}
        self.counts = {"video": 0, "audio": 0, "loud_audio": 0}
        self.size = None
        self._readers: list[asyncio.Task] = []

    async def connect(self, options: dict | None = None) -> dict:
        from aiortc import RTCSessionDescription
        from aiortc.mediastreams import AudioStreamTrack

        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTrack(AudioStreamTrack())  # silence, as from a muted microphone
        self.channel = self.pc.createDataChannel("events")
        self.channel.on("message", lambda m: self.events.append(json.loads(m)))
        self.pc.on("track", self._on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient(timeout=60) as http:
            r = await http.post(self.url + "/api/offer", json={
                "sdp": self.pc.localDescription.sdp, "type": "offer", "options": options or {}})
        if r.status_code != 200:
            return r.json() | {"status": r.status_code}
        answer = r.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await self.until(lambda: self.channel.readyState == "open", 20, "the data channel opens")
        return answer

    def _on_track(self, track) -> None:
        self.tracks[track.kind] = track
        self._readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                frame = await track.recv()
                self.counts[track.kind] += 1
                if track.kind == "video":
                    self.size = (frame.width, frame.height)
                elif np.abs(frame.to_ndarray()).max() > 300:
                    self.counts["loud_audio"] += 1
        except MediaStreamError:
            pass

    def send(self, message: dict) -> None:
        self.channel.send(json.dumps(message))

    def kinds(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def until(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s; events {self.kinds()}, counts {self.counts}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await self.pc.close()


async def wait_for_sessions(url: str, count: int, timeout: float = 15.0) -> None:
    """Wait until the server at `url` reports `count` active sessions."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while (await http.get(url + "/health")).json()["sessions"]["active"] != count:
            assert time.monotonic() < deadline, f"the server did not get to {count} sessions"
            await asyncio.sleep(0.1)
