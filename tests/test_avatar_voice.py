"""An avatar speaks with the voice stored with it, in every door: the precedence rule (config/speaker.py),
and a real server on a loopback port whose live sessions and motion stream speak with each avatar's
voice and pitch, measured on the audio they send (median F0, as tests/test_voice_neural.py does)."""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import json

import httpx
import numpy as np
import pytest

from browser_harness import Client, live_server
from visage.config.speaker import resolve_speaker
from visage.core.types import PitchStyle
from visage.errors import InputError

OFFERED = ["joe-female", "joe", "male1", "female2"]
QUESTION = "Hello, what can you do?"


def median_f0(x: np.ndarray, rate: int) -> float:
    import pyworld as pw

    f0, _ = pw.harvest(x.astype(np.float64), rate, f0_floor=60, f0_ceil=600, frame_period=10)
    return float(np.median(f0[f0 > 0]))


# -- the rule ---------------------------------------------------------------------------------------
def test_an_explicit_choice_beats_the_avatars_which_beats_the_default():
    stored = {"voice": "joe", "pitch": "low"}
    assert resolve_speaker(stored, offered=OFFERED) == resolve_speaker(stored, "default", None, OFFERED)
    speaker = resolve_speaker(stored, offered=OFFERED)
    assert (speaker.voice, speaker.pitch, speaker.voice_from, speaker.pitch_from) == ("joe", PitchStyle.LOW,
                                                                                      "avatar", "avatar")
    speaker = resolve_speaker(stored, "Female2", "high", OFFERED)  # each field on its own; spelt as offered
    assert (speaker.voice, speaker.pitch, speaker.voice_from) == ("female2", PitchStyle.HIGH, "chosen")
    speaker = resolve_speaker(stored, None, "normal", OFFERED)  # an explicit normal is a choice too
    assert (speaker.voice, speaker.pitch, speaker.pitch_from) == ("joe", PitchStyle.NORMAL, "chosen")
    speaker = resolve_speaker({}, offered=OFFERED)
    assert (speaker.voice, speaker.pitch, speaker.voice_from, speaker.warning) == (None, PitchStyle.NORMAL,
                                                                                   "default", None)


def test_a_stored_voice_that_is_gone_is_a_warning_and_an_explicit_one_an_error():
    speaker = resolve_speaker({"voice": "bob", "pitch": "squeaky"}, offered=OFFERED, avatar="the avatar 'x'")
    assert speaker.voice is None and speaker.pitch == PitchStyle.NORMAL
    assert "'bob'" in speaker.warning and "the avatar 'x'" in speaker.warning and "squeaky" in speaker.warning
    with pytest.raises(InputError, match="unknown voice 'bob'; choose one of: joe-female"):
        resolve_speaker({"voice": "joe"}, "bob", None, OFFERED)
    with pytest.raises(InputError, match="unknown pitch"):
        resolve_speaker({}, None, "shrill", OFFERED)
    # a backend that lists no voices judges the name itself
    assert resolve_speaker({"voice": "alloy"}, offered=[]).voice == "alloy"


def test_serve_takes_a_voice_and_pitch_for_every_conversation_and_checks_the_voice_first():
    from visage.cli.main import build_parser
    from visage.cli.serve import conversation_defaults
    from visage.live.options import LiveOptions

    defaults = conversation_defaults(build_parser().parse_args(["serve", "--voice", "joe", "--pitch", "high"]))
    options = LiveOptions(**defaults)
    assert (options.voice, options.pitch) == ("joe", PitchStyle.HIGH)
    assert LiveOptions().pitch is None  # not chosen: each avatar's own
    with pytest.raises(InputError, match="unknown voice 'nobody'"):
        conversation_defaults(build_parser().parse_args(["serve", "--voice", "nobody"]))


# -- a real server ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A VISAGE_HOME whose store holds "deep" (joe, low pitch) and "lost" (a voice no longer offered)."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("VISAGE_HOME", str(home))
    from visage.backends.renderers.avatar_store import AvatarStore

    store = AvatarStore()
    base = store.default_avatar()
    for name, voice in (("deep", {"voice": "joe", "pitch": "low"}), ("lost", {"voice": "bob", "pitch": "low"})):
        store.save(dataclasses.replace(base, name=name, info={**base.info, **voice}))
    mp.undo()
    return home


@pytest.fixture(scope="module")
def server(home):
    with live_server(home, {"asr": "pocketsphinx"}) as running:
        yield running


def test_the_python_facade_speaks_with_the_avatars_voice(home, monkeypatch):
    import visage

    monkeypatch.setenv("VISAGE_HOME", str(home))
    request = next(visage._requests("Hello.", visage.VoiceSettings(), "neutral", 0.6, "deep"))
    assert (request.voice, request.pitch) == ("joe", PitchStyle.LOW)
    request = next(visage._requests("Hello.", visage.VoiceSettings(voice="female2"), "neutral", 0.6, "deep"))
    assert (request.voice, request.pitch) == ("female2", PitchStyle.LOW)
    request = next(visage._requests("Hello.", visage.VoiceSettings(), "neutral", 0.6, "lost"))
    assert (request.voice, request.pitch) == (None, PitchStyle.LOW)


class VoiceClient(Client):
    """The page's client, keeping the avatar's audio (48 kHz mono) as it arrives."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.audio: list[np.ndarray] = []

    async def _read(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                frame = await track.recv()
                if track.kind == "audio":
                    pcm = frame.to_ndarray().astype(np.float32).reshape(-1, len(frame.layout.channels))
                    self.audio.append(pcm.mean(axis=1) / 32768)
                    self.counts["loud_audio"] += int(np.abs(pcm).max() > 300)
        except MediaStreamError:
            pass


async def conversation(url: str, options: dict) -> VoiceClient:
    """One browser-drawn conversation (no video to render) that types QUESTION and hears the reply."""
    client = VoiceClient(url)
    answer = await client.connect({"drawing": "browser", **options})
    assert answer.get("session"), answer
    try:
        client.send({"type": "text", "text": QUESTION})
        await client.until(lambda: "latency" in client.kinds(), 60, "the reply starts")
        state = lambda: [e.get("state") for e in client.events if e["type"] == "state"]  # noqa: E731
        await client.until(lambda: state()[-1] == "listening" and "speaking" in state(), 60, "the reply ends")
    finally:
        await client.close()
    return client


def spoken_f0(client: VoiceClient) -> float:
    audio = np.concatenate(client.audio)
    assert client.counts["loud_audio"] > 25, "the reply was not heard"
    return median_f0(audio, 48000)


def test_the_listing_shows_each_avatars_voice(server):
    choices = httpx.get(server.url + "/api/options").json()
    voices = choices["avatar_voices"]
    assert voices["deep"] == {"voice": "joe", "pitch": "low", "voice_from": "avatar", "pitch_from": "avatar"}
    assert voices["default"]["voice"] == "joe-female" and voices["default"]["voice_from"] == "default"
    assert voices["lost"]["voice"] == "joe-female" and "'bob'" in voices["lost"]["warning"]
    assert choices["voices"][:3] == ["default", "joe-female", "joe"]


def test_each_live_session_speaks_with_its_avatars_stored_voice(server):
    async def talk():
        default = await conversation(server.url, {})
        deep = await conversation(server.url, {"avatar": "deep"})
        chosen = await conversation(server.url, {"avatar": "deep", "voice": "joe-female", "pitch": "normal"})
        return default, deep, chosen

    default, deep, chosen = asyncio.run(talk())
    f0 = {"default": spoken_f0(default), "deep": spoken_f0(deep), "chosen": spoken_f0(chosen)}
    # joe (~176 Hz) at the low register (x0.85) against the female default (~219 Hz): about x0.68
    assert f0["deep"] < 0.8 * f0["default"], f0
    assert f0["deep"] < 165, f0  # a low man's voice
    # the page's explicit voice and pitch win over the avatar's: the default's voice again
    assert f0["chosen"] == pytest.approx(f0["default"], rel=0.08), f0
    assert not [e for e in deep.events if e["type"] == "error"]


def test_a_session_whose_avatar_voice_is_gone_is_warned_and_speaks_with_the_default(server):
    async def talk():
        return await conversation(server.url, {"avatar": "lost"})

    lost = asyncio.run(talk())
    errors = [e["message"] for e in lost.events if e["type"] == "error"]
    assert errors and "'bob'" in errors[0] and "default voice" in errors[0]
    f0 = spoken_f0(lost)
    assert f0 < 0.92 * 219 and f0 > 150, f0  # the default voice at the avatar's own low pitch (x0.85)
    assert httpx.get(server.url + "/health").json()["status"] == "ok"  # the server keeps serving


def say_over_websocket(url: str, options: dict) -> tuple[list[dict], np.ndarray, int]:
    import websockets

    async def talk():
        async with websockets.connect(url.replace("http://", "ws://") + "/ws/motion", max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "say", "text": "I would be glad to help you today.",
                                      "options": options}))
            messages = []
            while not messages or messages[-1]["type"] not in ("end", "error"):
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
            return messages

    messages = asyncio.run(talk())
    audio = [m for m in messages if m["type"] == "audio"]
    assert messages[-1]["type"] == "end", messages[-1]
    pcm = np.concatenate([np.frombuffer(base64.b64decode(a["pcm16_base64"]), "<i2") for a in audio])
    return messages, pcm.astype(np.float32) / 32768, audio[0]["sample_rate"]


def test_the_motion_stream_speaks_with_the_avatars_voice_unless_told_otherwise(server):
    _, default, rate = say_over_websocket(server.url, {})
    _, deep, _ = say_over_websocket(server.url, {"avatar": "deep"})
    _, normal, _ = say_over_websocket(server.url, {"avatar": "deep", "pitch": "normal"})
    messages, lost, _ = say_over_websocket(server.url, {"avatar": "lost"})
    f0 = {k: median_f0(v, rate) for k, v in
          {"default": default, "deep": deep, "normal": normal, "lost": lost}.items()}
    assert f0["deep"] < 0.8 * f0["default"], f0
    assert f0["normal"] > 1.08 * f0["deep"], f0  # joe at his normal register: the explicit pitch won
    assert f0["lost"] == pytest.approx(0.85 * f0["default"], rel=0.08), f0  # default voice, stored low pitch
    assert messages[1]["type"] == "warning" and "'bob'" in messages[1]["message"]
