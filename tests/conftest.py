"""Shared fixtures: real voices and real audio, nothing mocked."""
from __future__ import annotations

import numpy as np
import pytest

from visage.backends.tts import create_tts
from visage.core.types import SpeechRequest


@pytest.fixture(scope="session")
def espeak():
    tts = create_tts("espeak")
    tts.load()
    return tts


@pytest.fixture(scope="session")
def neural():
    """The default install's neural voice (Piper joe from its package), its female shaping included."""
    tts = create_tts("neural")
    tts.load()
    return tts


@pytest.fixture(params=["espeak", "neural"])
def timed_voice(request):
    """Each voice that reports its own timings, for the contract tests every such voice passes."""
    return request.getfixturevalue(request.param)


def speak(tts, request: SpeechRequest):
    """Speak one sentence; return (samples, rate, phonemes, words)."""
    chunks = list(tts.stream(request))
    samples = np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, np.float32)
    rate = chunks[0].sample_rate
    phonemes = [p for c in chunks for p in c.phonemes]
    words = [w for c in chunks for w in c.words]
    return samples, rate, phonemes, words


@pytest.fixture(scope="session")
def default_avatar(tmp_path_factory):
    """The built-in avatar (the public-domain astronaut portrait), analysed into a temporary store."""
    from visage.backends.renderers.avatar_store import AvatarStore

    return AvatarStore(tmp_path_factory.mktemp("avatars")).default()
