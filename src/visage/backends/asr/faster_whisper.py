"""Whisper through faster-whisper (CTranslate2): the default recogniser, accurate and multilingual, on
the CPU in int8.

The model is the Whisper base packaged for visage (`whisper_package.py`: joined once into the user's
data folder, checked against its SHA-256, never downloaded), or `model`: the user's own directory with
a CTranslate2-converted Whisper model, or a size name ("small") or Hugging Face id that faster-whisper
downloads on first use.

Live turns are short, so they are decoded with the encoder's window cut to the utterance
(`whisper_decode.py`: ten times less work for a 3-second turn than faster-whisper's padded 30 s).
Whisper reads whole utterances, not streams: a partial transcript is the growing utterance decoded
again, at most once per `partial_every` seconds of new audio and only while the user is speaking
(the last 0.2 s not quiet), so that when the user stops the decoder is idle and the final starts at
once. Recordings (`transcribe_recording`) go through faster-whisper's full pipeline instead: any
length, Silero VAD to skip silence, beam search and word timestamps.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from visage.backends.asr import check_model_dir, mono_float32, registry
from visage.backends.asr.base import (SAMPLE_RATE, ASRStream, HeardWord, RecordingTranscript, SpeechRecognizer,
                                      Transcript)
from visage.backends.asr.whisper_decode import FULL_WINDOW, PROMPTS, WINDOW_MARGIN, decode_short
from visage.errors import BackendError, InputError, require

PARTIAL_EVERY = 0.6  # s of new audio between partial transcriptions
FINAL_BEAM = 5  # beam search for finals (partials are greedy): WER 0.126 -> 0.111 (noisy half 0.196 -> 0.165)
# on the 40 utterances of bench/bench_ear.py, for about twice the decoder's time
SURE_SCORE = -0.3  # a greedy final whose mean token log-probability is above this is kept, unbeamed: on
# bench_ear's 40 utterances 30 were (greedy and beam differed in 7 of 40, and in the 6 where one was
# better, greedy had scored -0.26 to -0.95), WER 0.090 against beam's 0.093; on the 20 held out, 18
# kept and 0.038 either way. The beam pass is most of a final's time (0.19 of 0.42 s for a 2.5 s turn).
# English only: Mandarin is decoded greedily (below), other languages are not measured (beam 5 always).
SURE_LANGUAGES = ("en",)
# On bench_ear's 10 Mandarin utterances greedy finals read better than beam 5 (character error rate
# 0.435 against 0.556; beam search ran on into repeated characters more often) in less time (p50 288
# ms against 377); greedy first, then beam when unsure, took the beam's errors and twice the time.
GREEDY_LANGUAGES = ("zh",)
QUIET_TAIL = 0.2  # s at the end of the audio that must hold speech for a partial to be worth decoding
QUIET_RATIO = 0.15  # below this fraction of the utterance's loudest 100 ms (RMS), the tail is quiet
SILENT_END = 0.06  # s: a quiet end this long means the speaker may have stopped: no partial is started
# then, as the turn's final (started early, in the silence) would queue behind it in the child
ALIASES = {"cmn": "zh", "mandarin": "zh", "chinese": "zh", "cantonese": "yue", "english": "en"}


def whisper_language(language: str | None) -> str | None:
    """Whisper's language code for a visage language ("zh-CN" -> "zh"); None means detect it."""
    code = (language or "auto").strip().lower().replace("_", "-")
    if code in ("auto", ""):
        return None
    if code in ("zh-hk", "zh-yue"):
        return "yue"
    return ALIASES.get(code, code.split("-")[0])


@registry.register("whisper")
@registry.register("faster-whisper")
class FasterWhisperRecognizer(SpeechRecognizer):
    """`model=None`: the packaged Whisper base. `margin`: seconds of silence in the cut encoder window
    (None: faster-whisper's full 30 s window for live turns too, slower). `beam_size`: of finals.
    `denoise`: steady background noise subtracted from the cut window's features (whisper_features.py).
    `sure_score`: a final is decoded greedily first and kept when its mean token log-probability is
    above this, beamed only when less sure (None: always beamed)."""

    name = "whisper"

    def __init__(self, model: str | None = None, device: str | None = "cpu", compute_type: str = "int8",
                 download_root: str | None = None, local_files_only: bool = False, beam_size: int = FINAL_BEAM,
                 partial_every: float = PARTIAL_EVERY, cpu_threads: int = 0,
                 margin: float | None = WINDOW_MARGIN, denoise: bool = True,
                 sure_score: float | None = SURE_SCORE) -> None:
        self.model_spec = None if model is None else str(model)
        self.device, self.compute_type = device or "cpu", compute_type
        self.download_root, self.local_files_only = download_root, local_files_only
        self.beam_size = beam_size
        self.partial_every = partial_every
        self.cpu_threads = cpu_threads
        self.margin = margin
        self.denoise = denoise
        self.sure_score = sure_score
        self._model = None
        self._load_lock = threading.Lock()
        self._decode_lock = threading.Lock()  # one decode at a time: each uses every thread it is given

    @property
    def model_label(self) -> str:
        return self.model_spec or "whisper-base (packaged)"

    def load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            fw = require("faster_whisper", self.name, "whisper")
            if self.model_spec is None:
                from visage.backends.asr.whisper_package import packaged_model_dir

                spec, offline = str(packaged_model_dir()), True
            else:
                spec = check_model_dir(
                    self.model_spec,
                    f"Whisper model directory at {os.path.expanduser(self.model_spec)}: give a directory holding a "
                    "CTranslate2-converted Whisper model (model.bin, config.json, tokenizer.json), or a size name "
                    "such as 'small' that faster-whisper downloads from the Hugging Face Hub",
                )
                offline = self.local_files_only
            try:
                self._model = fw.WhisperModel(
                    spec, device=self.device, compute_type=self.compute_type, cpu_threads=self.cpu_threads,
                    download_root=self.download_root, local_files_only=offline,
                )
            except Exception as exc:  # download, file and CTranslate2 errors all mean "no usable weights"
                raise BackendError(
                    f"faster-whisper could not load the Whisper model {self.model_label!r}: {str(exc).rstrip('.')}. "
                    "Sizes and Hub ids download on first use (network needed, and local_files_only=False) into "
                    "download_root or the Hugging Face cache; or pass the path of a downloaded model directory"
                ) from exc

    def stream(self, language: str = "en") -> ASRStream:
        self.load()
        return WhisperStream(self, whisper_language(language))

    def transcribe(self, audio: np.ndarray, language: str | None, beam_size: int | None = None) -> tuple[str, str]:
        """(text, language) of one utterance: the cut window when it fits, else the full pipeline."""
        if len(audio) < SAMPLE_RATE // 10:  # under 0.1 s: nothing Whisper could read
            return "", language or "en"
        beam = beam_size or self.beam_size
        try:
            with self._decode_lock:
                fits = self.margin is not None and len(audio) / SAMPLE_RATE + self.margin <= FULL_WINDOW / 100
                if fits:
                    if language in GREEDY_LANGUAGES:
                        beam = 1
                    sure = self.sure_score if beam > 1 and language in SURE_LANGUAGES else None
                    decoded = decode_short(self._model, audio, language, self.margin, beam, self.denoise, sure)
                    return decoded.text, decoded.language
                segments, info = self._model.transcribe(
                    audio, language=language, beam_size=beam, condition_on_previous_text=False,
                    without_timestamps=True, vad_filter=False,
                )
                text = " ".join(s.text.strip() for s in segments)  # segments is lazy: decoding happens here
        except ValueError as exc:  # an unknown language code
            raise InputError(f"faster-whisper cannot transcribe language {language!r}: {exc}") from exc
        return " ".join(text.split()), info.language

    def transcribe_recording(self, samples: np.ndarray, language: str | None = "en") -> RecordingTranscript:
        """Any length, with word timings: faster-whisper's own pipeline (Silero VAD, beam 5)."""
        self.load()
        audio = mono_float32(samples)
        code = whisper_language(language)
        try:
            with self._decode_lock:
                segments, info = self._model.transcribe(
                    audio, language=code, beam_size=5, word_timestamps=True, vad_filter=True,
                    condition_on_previous_text=False, initial_prompt=PROMPTS.get(code or ""),
                )
                segments = list(segments)
        except ValueError as exc:
            raise InputError(f"faster-whisper cannot transcribe language {language!r}: {exc}") from exc
        words = tuple(HeardWord(w.word.strip(), round(w.start, 3), round(w.end, 3), round(w.probability, 3))
                      for s in segments for w in (s.words or ()) if w.word.strip())
        joiner = "" if info.language in ("zh", "ja", "yue") else " "
        text = joiner.join(s.text.strip() for s in segments)
        return RecordingTranscript(text, info.language, round(len(audio) / SAMPLE_RATE, 3), words)


class WhisperStream(ASRStream):
    """The utterance's audio; partials decoded on demand (`partial`), the final once (`finish`)."""

    def __init__(self, recognizer: FasterWhisperRecognizer, language: str | None) -> None:
        self._recognizer = recognizer
        self._language = language
        self._chunks: list[np.ndarray] = []
        self._length = 0
        self._decoded_at = 0  # utterance length (samples) at the last partial
        self._text = ""
        self._partial_of = -1  # utterance length the last partial's text is of
        self._partial_language = language or "en"
        self._loudest = 0.0  # RMS of the loudest 100 ms block so far
        self._final: Transcript | None = None
        self._lock = threading.Lock()

    def _audio(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)

    def add(self, samples) -> None:
        x = mono_float32(samples)
        with self._lock:
            if self._final is not None:
                raise InputError("this utterance has finished; start a new stream for the next one")
            self._chunks.append(x)
            self._length += len(x)
            for i in range(0, len(x) - 1599, 1600):
                self._loudest = max(self._loudest, float(np.sqrt(np.mean(x[i : i + 1600] ** 2))))

    @property
    def partial_due(self) -> bool:
        if self._final is not None or self._length - self._decoded_at < self._recognizer.partial_every * SAMPLE_RATE:
            return False
        audio = self._audio()
        loud = QUIET_RATIO * self._loudest
        tail, end = audio[-int(QUIET_TAIL * SAMPLE_RATE):], audio[-int(SILENT_END * SAMPLE_RATE):]
        return len(tail) > 0 and min(float(np.sqrt(np.mean(x ** 2))) for x in (tail, end)) >= loud

    def partial(self) -> Transcript | None:
        with self._lock:
            if not self.partial_due:
                return None
            self._decoded_at = length = self._length
            audio = self._audio()
        text, language = self._recognizer.transcribe(audio, self._language, beam_size=1)
        with self._lock:
            changed = text != self._text
            self._partial_of, self._text, self._partial_language = length, text, language
            if not text or not changed:
                return None
            return Transcript(text, final=False, language=language)

    def feed(self, samples) -> Transcript | None:
        self.add(samples)
        return self.partial()

    def finish(self) -> Transcript:
        with self._lock:
            if self._final is None:
                r = self._recognizer
                greedy = r.beam_size == 1 or self._language in GREEDY_LANGUAGES
                if self._partial_of == self._length and greedy:  # nothing new since the last partial
                    text, language = self._text, self._partial_language
                else:
                    text, language = r.transcribe(self._audio(), self._language)
                self._final = Transcript(text, final=True, language=language)
                self._chunks = []
            return self._final
