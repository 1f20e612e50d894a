"""Whisper through faster-whisper (CTranslate2): accurate and multilingual, on the CPU in int8.

Whisper reads whole utterances, not streams, so partials come from re-transcribing the growing
utterance every `partial_every` seconds of new audio with greedy search (cheap, and a partial may be
rough), and the final from one beam search over the whole utterance when it ends. Weights are not
bundled: `model` is a directory holding a CTranslate2-converted Whisper model, or a size name
("small") or Hugging Face model id that faster-whisper downloads on first use.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from visage.backends.asr import check_model_dir, mono_float32, registry
from visage.backends.asr.base import SAMPLE_RATE, ASRStream, SpeechRecognizer, Transcript
from visage.errors import BackendError, InputError, require

PARTIAL_EVERY = 0.5  # seconds of new audio between partial transcriptions
ALIASES = {"cmn": "zh", "mandarin": "zh", "chinese": "zh", "cantonese": "yue", "english": "en"}


def whisper_language(language: str | None) -> str | None:
    """Whisper's language code for a visage language ("zh-CN" -> "zh"); None means detect it."""
    code = (language or "auto").strip().lower().replace("_", "-")
    if code in ("auto", ""):
        return None
    if code in ("zh-hk", "zh-yue"):
        return "yue"
    return ALIASES.get(code, code.split("-")[0])


@registry.register("faster-whisper")
class FasterWhisperRecognizer(SpeechRecognizer):
    name = "faster-whisper"

    def __init__(self, model: str = "small", device: str = "cpu", compute_type: str = "int8",
                 download_root: str | None = None, local_files_only: bool = False, beam_size: int = 5,
                 partial_every: float = PARTIAL_EVERY, cpu_threads: int = 0) -> None:
        self.model_spec = str(model)
        self.device, self.compute_type = device, compute_type
        self.download_root, self.local_files_only = download_root, local_files_only
        self.beam_size = beam_size
        self.partial_every = partial_every
        self.cpu_threads = cpu_threads
        self._model = None
        self._load_lock = threading.Lock()

    def load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            fw = require("faster_whisper", self.name, "whisper")
            spec = check_model_dir(
                self.model_spec,
                f"Whisper model directory at {os.path.expanduser(self.model_spec)}: give a directory holding a "
                "CTranslate2-converted Whisper model (model.bin, config.json, tokenizer.json), or a size name "
                "such as 'small' that faster-whisper downloads from the Hugging Face Hub",
            )
            try:
                self._model = fw.WhisperModel(
                    spec, device=self.device, compute_type=self.compute_type, cpu_threads=self.cpu_threads,
                    download_root=self.download_root, local_files_only=self.local_files_only,
                )
            except Exception as exc:  # download, file and CTranslate2 errors all mean "no usable weights"
                raise BackendError(
                    f"faster-whisper could not load the Whisper model {self.model_spec!r}: {str(exc).rstrip('.')}. "
                    "Sizes and Hub ids download on first use (network needed, and local_files_only=False) into "
                    "download_root or the Hugging Face cache; or pass the path of a downloaded model directory"
                ) from exc

    def stream(self, language: str = "en") -> ASRStream:
        self.load()
        return WhisperStream(self, whisper_language(language))

    def transcribe(self, audio: np.ndarray, language: str | None, beam_size: int) -> tuple[str, str]:
        """(text, language) of one utterance; the text has Whisper's segments joined."""
        if len(audio) < SAMPLE_RATE // 10:  # under 0.1 s: nothing Whisper could read
            return "", language or "en"
        try:
            segments, info = self._model.transcribe(
                audio, language=language, beam_size=beam_size, condition_on_previous_text=False,
                without_timestamps=True, vad_filter=False,
            )
            text = " ".join(s.text.strip() for s in segments)  # segments is lazy: decoding happens here
        except ValueError as exc:  # an unknown language code
            raise InputError(f"faster-whisper cannot transcribe language {language!r}: {exc}") from exc
        return " ".join(text.split()), info.language


class WhisperStream(ASRStream):
    def __init__(self, recognizer: FasterWhisperRecognizer, language: str | None) -> None:
        self._recognizer = recognizer
        self._language = language
        self._chunks: list[np.ndarray] = []
        self._length = 0
        self._decoded_at = 0  # utterance length (samples) at the last partial
        self._text = ""
        self._final: Transcript | None = None
        self._lock = threading.Lock()

    def _audio(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)

    def feed(self, samples) -> Transcript | None:
        x = mono_float32(samples)
        with self._lock:
            if self._final is not None:
                raise InputError("this utterance has finished; start a new stream for the next one")
            self._chunks.append(x)
            self._length += len(x)
            if self._length - self._decoded_at < self._recognizer.partial_every * SAMPLE_RATE:
                return None
            self._decoded_at = self._length
            text, language = self._recognizer.transcribe(self._audio(), self._language, beam_size=1)
            if not text or text == self._text:
                return None
            self._text = text
            return Transcript(text, final=False, language=language)

    def finish(self) -> Transcript:
        with self._lock:
            if self._final is None:
                r = self._recognizer
                text, language = r.transcribe(self._audio(), self._language, r.beam_size)
                self._final = Transcript(text, final=True, language=language)
                self._chunks = []
            return self._final
