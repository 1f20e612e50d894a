"""FunASR models, SenseVoiceSmall by default: strong on Mandarin, Cantonese, English, Japanese and
Korean, and fast enough on a CPU to transcribe a whole utterance the moment it ends.

SenseVoice is not a streaming model, so this recogniser gives no partials: it collects the utterance
and transcribes it on `finish()`. Weights are not bundled: `model` is a local model directory or a
ModelScope/Hugging Face name (e.g. "iic/SenseVoiceSmall") that FunASR downloads on first use.
"""
from __future__ import annotations

import logging
import os
import re
import threading

import numpy as np

from visage.backends.asr import check_model_dir, mono_float32, registry
from visage.backends.asr.base import SAMPLE_RATE, ASRStream, SpeechRecognizer, Transcript
from visage.errors import BackendError, InputError, require

# SenseVoice's language tokens, and the visage language codes that map to them.
LANGUAGES = {"auto": "auto", "zh": "zh", "cmn": "zh", "zh-cn": "zh", "mandarin": "zh", "chinese": "zh",
             "yue": "yue", "zh-hk": "yue", "cantonese": "yue", "en": "en", "english": "en", "ja": "ja",
             "ko": "ko"}
_TAG = re.compile(r"<\|([^|]*)\|>")  # SenseVoice prefixes text with <|lang|><|EMOTION|><|Event|><|itn|>


def sensevoice_language(language: str | None) -> str:
    code = (language or "auto").strip().lower().replace("_", "-")
    found = LANGUAGES.get(code) or LANGUAGES.get(code.split("-")[0])
    if found is None:
        raise InputError(f"SenseVoice recognises Mandarin, Cantonese, English, Japanese and Korean, not "
                         f"{language!r}; use faster-whisper for other languages")
    return found


@registry.register("funasr")
class FunASRRecognizer(SpeechRecognizer):
    """`hub` is where names are looked up: "ms" (ModelScope, FunASR's default) or "hf"."""

    name = "funasr"

    def __init__(self, model: str = "iic/SenseVoiceSmall", device: str = "cpu", hub: str = "ms",
                 use_itn: bool = True) -> None:
        self.model_spec = str(model)
        self.device, self.hub, self.use_itn = device, hub, use_itn
        self._model = None
        self._lock = threading.Lock()  # one generate() at a time: FunASR models are not thread-safe

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            funasr = require("funasr", self.name, "funasr")
            spec = check_model_dir(
                self.model_spec,
                f"FunASR model directory at {os.path.expanduser(self.model_spec)}: give a downloaded model "
                "directory (e.g. SenseVoiceSmall) or a model name such as 'iic/SenseVoiceSmall'",
            )
            root = logging.getLogger()
            level, handlers = root.level, list(root.handlers)
            try:
                self._model = funasr.AutoModel(model=spec, device=self.device, hub=self.hub, disable_update=True,
                                               disable_pbar=True, log_level="ERROR")
            except Exception as exc:  # download, file and model-building errors all mean "no usable model"
                raise BackendError(
                    f"FunASR could not load the model {self.model_spec!r}: {str(exc).rstrip('.')}. "
                    "Names download on first use (network needed); or pass the path of a downloaded model directory"
                ) from exc
            finally:  # AutoModel calls logging.basicConfig(); give the application its logging back
                root.setLevel(level)
                root.handlers[:] = handlers

    def stream(self, language: str = "en") -> ASRStream:
        code = sensevoice_language(language)
        self.load()
        return FunASRStream(self, code)

    def transcribe(self, audio: np.ndarray, language: str) -> tuple[str, str]:
        """(text, language) of one utterance, with SenseVoice's tags removed."""
        if len(audio) < SAMPLE_RATE // 10:
            return "", language if language != "auto" else "en"
        with self._lock:
            try:
                result = self._model.generate(input=audio, cache={}, language=language, use_itn=self.use_itn,
                                              batch_size_s=60, disable_pbar=True)
            except Exception as exc:
                raise BackendError(f"FunASR failed to transcribe an utterance: {exc}") from exc
        raw = " ".join(str(r.get("text", "")) for r in result or [])
        tags = _TAG.findall(raw)
        detected = tags[0] if tags and tags[0] in LANGUAGES.values() else language
        return " ".join(_TAG.sub("", raw).split()), detected if detected != "auto" else "en"


class FunASRStream(ASRStream):
    """Collects audio; the transcript comes whole on finish()."""

    def __init__(self, recognizer: FunASRRecognizer, language: str) -> None:
        self._recognizer = recognizer
        self._language = language
        self._chunks: list[np.ndarray] = []
        self._final: Transcript | None = None
        self._lock = threading.Lock()

    def feed(self, samples) -> Transcript | None:
        x = mono_float32(samples)
        with self._lock:
            if self._final is not None:
                raise InputError("this utterance has finished; start a new stream for the next one")
            self._chunks.append(x)
        return None

    def finish(self) -> Transcript:
        with self._lock:
            if self._final is None:
                audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
                text, language = self._recognizer.transcribe(audio, self._language)
                self._final = Transcript(text, final=True, language=language)
                self._chunks = []
            return self._final
