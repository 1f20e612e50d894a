"""Shared fixtures: real voices and real audio, nothing mocked."""
from __future__ import annotations

from pathlib import Path

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


_FRESH_ESPEAK = """
import json, sys
import numpy as np
from visage.backends.tts import create_tts
from visage.core.types import SpeechRequest
tts = create_tts("espeak")
out, said = {}, json.loads(sys.argv[1])
for i, (text, voice) in enumerate(said):
    chunks = list(tts.stream(SpeechRequest(text, language="en", voice=voice)))
    out[f"s{i}"] = np.concatenate([c.samples for c in chunks]).astype(np.float32)
    out["rate"] = np.array(chunks[0].sample_rate)
np.savez(sys.argv[2], **out)
"""


def speak_in_fresh_espeak(said: list[tuple[str, str]], folder) -> tuple[list[np.ndarray], int]:
    """Each (text, voice) of `said`, in order, by an espeak in a new process: espeak's pitch flutter runs
    on from one sentence to the next inside a process, so only a fresh one makes audio that does not
    depend on what was said before. Returns the samples of each and their rate."""
    import json
    import os
    import subprocess
    import sys

    out = Path(folder) / f"fresh-espeak-{os.getpid()}-{abs(hash(tuple(said)))}.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _FRESH_ESPEAK, json.dumps(said), str(out)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    with np.load(out) as got:
        return [got[f"s{i}"] for i in range(len(said))], int(got["rate"])


@pytest.fixture(scope="session")
def default_avatar(tmp_path_factory):
    """The built-in avatar (the public-domain astronaut portrait), analysed into a temporary store."""
    from visage.backends.renderers.avatar_store import AvatarStore

    return AvatarStore(tmp_path_factory.mktemp("avatars")).default()
