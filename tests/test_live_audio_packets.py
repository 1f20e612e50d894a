"""The voice track's own Opus packets (live/audio_packets.py): the same voice as aiortc's encoding of
frames would carry, timestamps contiguous from the first frame sent, and silence as one cached packet
once the encoder has settled, never while speech is still fading out."""
from __future__ import annotations

import asyncio

import numpy as np
from av import CodecContext
from av.packet import Packet

from aiortc.codecs.opus import OpusEncoder

from visage.live.audio_packets import SETTLE, OpusPackets, pcm_frame, silence_payload
from visage.live.output import AUDIO_RATE

N = AUDIO_RATE // 50


def decode(payloads: list[bytes]) -> np.ndarray:
    decoder = CodecContext.create("libopus", "r")
    decoder.format, decoder.layout, decoder.sample_rate = "s16", "mono", AUDIO_RATE
    out = [f.to_ndarray().ravel() for p in payloads for f in decoder.decode(Packet(p))]
    return np.concatenate(out).astype(np.float32) / 32768.0


def test_speech_round_trips_and_silence_is_the_cached_packet():
    t = np.arange(N * 40) / AUDIO_RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (t < 0.4)).astype(np.float32)  # 0.4 s of tone, 0.4 s silence
    pcm = (tone * 32767).astype(np.int16)
    packets = OpusPackets()
    out = [packets.packet(pcm[i: i + N], i) for i in range(0, len(pcm), N)]
    assert [p.pts for p in out] == list(range(0, len(pcm), N))  # contiguous, from 0
    payloads = [bytes(p) for p in out]
    silent = [i for i, p in enumerate(payloads) if p == silence_payload()]
    # the 20 tone frames are encoded, then SETTLE silent frames are (the encoder itself reaches the
    # silent packet within them: what the cached one stands for), then the cached packet takes over
    assert silent[0] >= 20 and silent[-(40 - 20 - SETTLE):] == list(range(20 + SETTLE, 40)), silent
    assert packets.encoded == 20 + SETTLE and packets.cached == 20 - SETTLE
    # what aiortc would have sent for the same frames: its encoder, fed every frame
    reference = OpusEncoder()
    theirs = [reference.encode(pcm_frame(pcm[i: i + N], i))[0][-1] for i in range(0, len(pcm), N)]
    assert payloads[: 20 + SETTLE] == theirs[: 20 + SETTLE]  # the voice: the very same bytes
    heard, expected = decode(payloads), decode(theirs)
    assert np.abs(heard - expected).max() < 1e-3  # and after it, the same silence
    rms = lambda x: float(np.sqrt((x ** 2).mean()))  # noqa: E731
    assert rms(heard[: 19 * N]) > 0.1  # (the tone is there)
    assert rms(heard[-10 * N:]) < 1e-3  # the cached packets decode to silence


def test_the_track_gives_packets_only_when_its_sender_asks(tmp_path):
    from visage.core.motion.engine import MotionEngine
    from visage.live.output import AvatarOutput
    from visage.live.tracks import AvatarAudioTrack

    async def pull(encoded: bool):
        track = AvatarAudioTrack(AvatarOutput(MotionEngine(fps=25), None, 25))
        if encoded:
            track.send_encoded()
        return [await track.recv() for _ in range(5)]

    frames = asyncio.run(pull(False))
    assert all(hasattr(f, "to_ndarray") for f in frames)  # AudioFrames, for aiortc or a test to encode
    packets = asyncio.run(pull(True))
    assert all(isinstance(p, Packet) for p in packets)
    assert [p.pts for p in packets] == [i * N for i in range(5)]  # counted from the first frame sent


def test_a_reply_starts_in_the_next_packet_the_track_sends():
    """Speech placed at `start_time()` is heard from the first frame the track has not read yet (or
    the one after, when that one is due within PLACE_MARGIN), not LEAD (30 ms) ahead of now."""
    from visage.core.motion.engine import MotionEngine
    from visage.core.types import SpeechChunk
    from visage.live.output import LEAD, PLACE_MARGIN, AvatarOutput
    from visage.live.tracks import AUDIO_PTIME, AvatarAudioTrack

    async def main():
        output = AvatarOutput(MotionEngine(fps=25), None, 25)
        assert output.start_time() >= output.now() + LEAD - 1e-3  # no track reading yet: the plain lead
        track = AvatarAudioTrack(output)
        for _ in range(3):
            await track.recv()
        await asyncio.sleep(0.007)  # somewhere inside the next frame's 20 ms
        now, start = output.now(), output.start_time()
        read_until = output.audio_read
        assert now + PLACE_MARGIN - 1e-6 <= start <= now + PLACE_MARGIN + AUDIO_PTIME + 1e-6
        assert abs((start - read_until) / AUDIO_PTIME - round((start - read_until) / AUDIO_PTIME)) < 1e-6
        tone = 0.5 * np.ones(AUDIO_RATE // 10, np.float32)
        output.schedule(SpeechChunk(samples=tone, sample_rate=AUDIO_RATE, start=0.0), start)
        times, levels = [], []
        for _ in range(4):
            frame = await track.recv()
            times.append(frame.pts / AUDIO_RATE)
            levels.append(np.abs(frame.to_ndarray()).max())
        first = times[[i for i, v in enumerate(levels) if v > 1000][0]]
        assert abs(first - start) < 1e-6  # the first loud frame begins exactly where the reply does
        assert start - now <= LEAD + 1e-6  # never later than the plain lead would have started it

    asyncio.run(main())
