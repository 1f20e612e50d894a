"""A live session without a browser: a real microphone track (a recording played in real time), the
real VAD, ASR, brain, voice, motion engine and renderer, and the avatar's tracks read as WebRTC would."""
import asyncio
import fractions
import time

import numpy as np
import pytest
from aiortc import MediaStreamTrack
from av import AudioFrame

from visage.backends.llm.sessions import SessionStore
from visage.core.audio import resample
from visage.core.types import SpeechRequest
from visage.live.events import LiveEvent
from visage.live.options import LiveOptions
from visage.live.services import LiveServices
from visage.live.session import LiveSession


class RecordingTrack(MediaStreamTrack):
    """A microphone that plays `samples` (48 kHz mono) in real time, then silence."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self.samples, self.index, self.t0 = samples, 0, None

    async def recv(self) -> AudioFrame:
        self.t0 = self.t0 or time.monotonic()
        start = self.index * 960
        wait = self.t0 + start / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self.samples[start : start + 960]
        chunk = np.pad(chunk, (0, 960 - len(chunk)))
        frame = AudioFrame.from_ndarray((chunk * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, start, fractions.Fraction(1, 48000)
        self.index += 1
        return frame


def speech_48k(espeak, text: str) -> np.ndarray:
    chunks = list(espeak.stream(SpeechRequest(text)))
    return resample(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, 48000)


@pytest.fixture(scope="module")
def services(tmp_path_factory, default_avatar):
    s = LiveServices(SessionStore(tmp_path_factory.mktemp("live") / "s.sqlite"))
    s._avatars[None] = default_avatar
    return s


async def play(session, seconds):
    """Pull the avatar's audio and video as a peer would; return (audio blocks, video frames, events)."""
    audio, video, events = [], [], []

    async def pull_audio():
        while True:
            frame = await session.audio.recv()
            audio.append((time.monotonic(), np.abs(frame.to_ndarray()).max() / 32768))

    async def pull_video():
        while True:
            video.append(await session.video.recv())

    async def pull_events():
        async for e in session.events():
            assert isinstance(e, LiveEvent), e  # typed; the page reads its message
            events.append((time.monotonic(), e.to_message()))

    tasks = [asyncio.ensure_future(f()) for f in (pull_audio, pull_video, pull_events)]
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    return audio, video, events


def test_a_spoken_question_is_heard_and_answered(espeak, services):
    async def scenario():
        session = LiveSession(LiveOptions(size=256), services)
        await session.start()
        mic = np.concatenate([np.zeros(24000), speech_48k(espeak, "Hello, what can you do?"), np.zeros(96000)])
        await session.add_microphone(RecordingTrack(mic.astype(np.float32)))
        result = await play(session, 6.0)
        await session.close()
        return result

    audio, video, events = asyncio.run(scenario())
    kinds = [e["type"] for _, e in events]
    finals = [e["text"] for _, e in events if e["type"] == "user" and e["final"]]
    assert finals and "what" in finals[0].lower(), finals
    assert "reply" in kinds and "latency" in kinds
    latency = next(e for _, e in events if e["type"] == "latency")
    assert 0 < latency["total_to_first_sound_sent"] < 1.5
    assert max(level for _, level in audio) > 0.05  # the avatar's voice went out
    assert len(video) > 5 * 20  # the face kept moving (≥ 20 fps) the whole time
    states = [e["state"] for _, e in events if e["type"] == "state"]
    assert states[:1] == ["listening"] and "thinking" in states and "speaking" in states


def test_speaking_over_the_avatar_stops_it_within_300_ms(espeak, services):
    async def scenario():
        session = LiveSession(LiveOptions(size=256), services)
        await session.start()
        await session.say_text("What is visage? Tell me everything about it.")
        interrupter = np.concatenate([np.zeros(int(48000 * 2.5)), speech_48k(espeak, "Stop please stop."),
                                      np.zeros(48000)]).astype(np.float32)
        mic = RecordingTrack(interrupter)
        await session.add_microphone(mic)
        audio, _, events = await play(session, 5.0)
        await session.close()
        return audio, events, mic.t0

    audio, events, mic_start = asyncio.run(scenario())
    barge = next(t for t, e in events if e["type"] == "state" and e.get("barge_in"))
    speech_onset = mic_start + 2.5
    assert barge - speech_onset < 0.3, f"stopped {barge - speech_onset:.3f} s after the user began"
    after = [level for t, level in audio if t > barge + 0.06 and t < barge + 0.8]
    assert after and max(after) < 0.01  # and the avatar is silent from then on
    before = [level for t, level in audio if speech_onset - 1.0 < t < speech_onset]
    assert max(before) > 0.05  # it was talking until then


def test_going_on_right_after_a_pause_is_answered_as_one_turn(espeak, services):
    """The user pauses longer than the end-of-turn silence, the avatar starts to answer, and the user
    goes on: the answer stops and the next one answers both parts together."""
    first, second = "I think that is right.", "I would like to go to the shop."

    async def scenario():
        session = LiveSession(LiveOptions(size=256, vad_silence=0.4), services)
        await session.start()
        trim = lambda x: np.trim_zeros(x, "b")  # noqa: E731 - espeak ends a sentence with 0.3 s of silence
        mic = np.concatenate([np.zeros(24000), trim(speech_48k(espeak, first)), np.zeros(int(48000 * 0.6)),
                              trim(speech_48k(espeak, second)), np.zeros(48000 * 2)]).astype(np.float32)
        await session.add_microphone(RecordingTrack(mic))
        _, _, events = await play(session, 7.5)
        await session.close()
        return events

    events = asyncio.run(scenario())
    finals = [e["text"] for _, e in events if e["type"] == "user" and e["final"]]
    assert any(e["type"] == "state" and e.get("barge_in") for _, e in events)
    assert len(finals) == 2 and finals[1].startswith(finals[0] + " ") and len(finals[1]) > len(finals[0]) + 5, finals
    replies = [e for _, e in events if e["type"] == "reply"]
    assert replies  # and it answered


def test_closing_frees_the_session(services):
    async def scenario():
        session = LiveSession(LiveOptions(size=256), services)
        await session.start()
        assert session in services.active
        await session.say_text("Hello!")
        await asyncio.sleep(0.3)
        await session.close()
        await session.close()  # idempotent
        return session

    session = asyncio.run(scenario())
    assert session not in services.active


class SlowVoice:
    """A voice that, like the neural one, takes a while to start each sentence and then gives it in two
    pieces: 0.5 s at 200 Hz, then 0.5 s at 300 Hz."""

    rate = 24000

    def stream(self, request):
        from visage.core.types import SpeechChunk

        time.sleep(0.3)
        t = np.arange(self.rate // 2) / self.rate
        for i, f0 in enumerate((200.0, 300.0)):
            yield SpeechChunk((0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), self.rate, 0.5 * i)


def test_a_slow_voice_is_played_whole_from_when_its_audio_exists(services):
    """A sentence is placed on the output clock when its first audio is made: placed before, its start
    lay in the past (0.3 s here), its first piece was moved to the present and the second, placed where
    it belonged, cut the first one's end off."""
    async def scenario():
        session = LiveSession(LiveOptions(size=256), services)
        session.tts = SlowVoice()
        await session.start()
        audio, events = [], []

        async def pull_audio():
            while True:
                frame = await session.audio.recv()
                audio.append(np.abs(frame.to_ndarray()).max() / 32768)

        async def pull_events():
            async for e in session.events():
                events.append(e.to_message())

        tasks = [asyncio.ensure_future(f()) for f in (pull_audio, pull_events)]
        await asyncio.sleep(0.5)
        await session.say_text("Hello.")
        await asyncio.sleep(6.0)
        for t in tasks:
            t.cancel()
        await session.close()
        return np.array(audio), events

    audio, events = asyncio.run(scenario())
    sentences = sum(1 for e in events if e["type"] == "reply")
    latency = next(e for e in events if e["type"] == "latency")
    assert latency["scheduled_playout"] > 0  # placed ahead of now, not behind it
    loud = np.flatnonzero(audio > 0.05)
    assert sentences >= 1 and len(loud)
    first_run = np.split(loud, np.flatnonzero(np.diff(loud) > 1) + 1)[0]  # frames of 20 ms
    assert len(first_run) * 0.02 >= 0.98, f"the first sentence played {len(first_run) * 0.02:.2f} s of its 1.0 s"
