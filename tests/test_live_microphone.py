"""The microphone path of a live session: 48 kHz WebRTC frames -> 16 kHz mono, batched for the listener.

The streaming decimator must give the listener what resample_poly of the whole stream gives (only
delayed by half the filter), and the VAD must decide the same turns from it as from that audio.
"""
from __future__ import annotations

import av
import numpy as np
import pytest
from scipy.signal import resample_poly

from visage.backends.vad import create_vad
from visage.core.audio import _lowpass, resample
from visage.core.types import SpeechRequest
from visage.live.microphone import Decimator, MicBatcher, MicrophoneResampler

from conftest import speak

DELAY = 10  # output samples: half of resample_poly's 61-tap filter at 48 -> 16 kHz


@pytest.fixture(scope="module")
def speech48(espeak):
    """A sentence between silences, at the rate a WebRTC microphone arrives (48 kHz)."""
    samples, rate, _, _ = speak(espeak, SpeechRequest("Could you tell me the way to the station, please?"))
    x = resample(samples, rate, 48000) * 0.8
    pad = np.zeros(48000, np.float32)
    return np.concatenate([pad, x, pad, pad]).astype(np.float32)


def whole(x48: np.ndarray) -> np.ndarray:
    return resample_poly(x48.astype(np.float64), 1, 3, window=_lowpass(1, 3)).astype(np.float32)


def frames(x: np.ndarray, n: int) -> list[np.ndarray]:
    return [x[i:i + n] for i in range(0, len(x), n)]


def test_streaming_equals_resampling_the_whole_stream(speech48):
    reference = whole(speech48)
    for size in (960, 480, 1111):  # 20 ms frames, 10 ms, and ragged ones
        dec = Decimator(48000, 16000)
        out = np.concatenate([dec(f) for f in frames(speech48, size)])
        assert len(out) == len(reference)
        err = np.abs(out[DELAY:] - reference[:-DELAY]).max()
        assert err < 1e-5, (size, err)
    # resampling each 20 ms frame alone (the old path) is off at every frame boundary
    per_frame = np.concatenate([whole(f) for f in frames(speech48, 960)])
    assert np.abs(per_frame - reference).max() > 100 * 1e-5


def test_vad_decides_the_same_turns(speech48):
    reference = create_vad().process(whole(speech48))
    dec, vad = Decimator(48000, 16000), create_vad()
    streamed = [e for f in frames(speech48, 960) for e in vad.process(dec(f))]
    assert [e.kind for e in streamed] == [e.kind for e in reference] == ["start", "end"]
    for a, b in zip(streamed, reference):
        assert abs(a.time - b.time) <= 0.02 + 1e-9  # within one VAD frame (the delay is 0.6 ms)


def test_webrtc_frames_stereo_packed_and_mono(speech48):
    """aiortc hands the microphone over as packed stereo s16 at 48 kHz; mono also works."""
    pcm = np.round(speech48[:9600] * 32767).astype(np.int16)
    expected = Decimator(48000, 16000)(pcm.astype(np.float32) / 32768)
    for layout in ("stereo", "mono"):
        channels = 2 if layout == "stereo" else 1
        to_16k = MicrophoneResampler(16000)
        out = []
        for f in frames(pcm, 960):
            frame = av.AudioFrame.from_ndarray(np.repeat(f, channels)[None, :], format="s16", layout=layout)
            frame.sample_rate = 48000
            out.append(to_16k(frame))
        assert np.abs(np.concatenate(out) - expected).max() < 1e-5, layout
    frame = av.AudioFrame.from_ndarray(pcm[None, :320], format="s16", layout="mono")
    frame.sample_rate = 16000  # already the listener's rate: passed through
    assert np.allclose(MicrophoneResampler(16000)(frame), pcm[:320] / 32768)


def test_batches_only_while_idle():
    batch = MicBatcher(16000)
    chunk = np.ones(320, np.float32)
    sizes = []
    for i in range(12):
        batch.add(chunk)
        if batch.ready(listener_idle=i < 8):
            sizes.append(len(batch.take()))
    assert sizes == [1600, 1280, 320, 320, 320]  # 5 frames together; when busy, what waited and then each
    assert not batch.ready(listener_idle=False)
