"""ctypes binding to libespeak-ng as shipped by `espeakng-loader` (no system install, no weights).

libespeak-ng keeps global state, so every call goes through one process-wide lock. Synthesis runs in
synchronous mode with a callback that receives PCM buffers and events (phonemes, words, sentences,
marks) with their audio positions; `synthesize` turns that callback into an iterator by running the
synthesis in a worker thread behind a small bounded queue, so the first buffer reaches the caller
while the rest of the sentence is still being made, and a consumer that stops early cancels it.
"""
from __future__ import annotations

import ctypes
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from visage.backends.handoff import END, drain, put
from visage.errors import BackendError

# espeak_EVENT_TYPE (speak_lib.h)
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SENTENCE = 2
EVENT_MARK = 3
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_SSML = 0x10
_POS_CHARACTER = 1
# espeak_PARAMETER
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE = 1, 2, 3, 4

BUFFER_MS = 40  # the PCM buffer espeak fills before each callback: the streaming granularity
# libespeak-ng's breathy and klatt voices (f2, f5, female2, ...) mix in noise from its own random
# generator, whose state runs on from sentence to sentence: reseeded before each synthesis, a run that
# says the same sentences in the same order gives the same samples (benchmarks that repeat).
NOISE_SEED = 0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class EspeakEvent:
    """One event from libespeak-ng: `kind` is an EVENT_* code, `sample` its position in the audio,
    `text_position` a 0-based character offset into the synthesised string."""

    kind: int
    sample: int
    text_position: int
    length: int
    value: str | int


@dataclass(frozen=True)
class EspeakBuffer:
    samples: np.ndarray  # int16
    events: tuple[EspeakEvent, ...]




class EspeakEngine:
    """The process's one libespeak-ng instance."""

    _instance: "EspeakEngine | None" = None
    _instance_lock = threading.Lock()

    @classmethod
    def get(cls) -> "EspeakEngine":
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise BackendError(
                "the embedded voice needs the package 'espeakng-loader'; install it with: pip install visage"
            ) from None
        self.data_path = espeakng_loader.get_data_path()
        try:
            self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise BackendError(f"libespeak-ng could not be loaded ({exc}); reinstall espeakng-loader") from None
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._seed = getattr(lib, "espeak_ng_SetRandSeed", None)  # espeak-ng >= 1.51
        if self._seed is not None:
            self._seed.argtypes, self._seed.restype = [ctypes.c_long], None
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, self.data_path.encode(), _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise BackendError(f"libespeak-ng failed to initialise with data at {self.data_path}")
        self._lock = threading.Lock()
        self._sink: queue.Queue | None = None
        self._cancel = threading.Event()
        self.samples_made = 0  # every sample libespeak-ng has produced: lets tests see streaming happen
        self._callback = _Callback(self._on_audio)  # kept referenced: ctypes frees unreferenced callbacks
        lib.espeak_SetSynthCallback(self._callback)

    # -- voices -------------------------------------------------------------------------------------
    def list_languages(self) -> dict[str, str]:
        """Language code -> voice file identifier, for every language the data supports."""
        out: dict[str, str] = {}
        with self._lock:
            voices = self._lib.espeak_ListVoices(None)
            i = 0
            while voices[i]:
                v = voices[i].contents
                name = _first_language(v)
                if name:
                    out.setdefault(name, (v.identifier or b"").decode())
                i += 1
        return out

    # -- synthesis ----------------------------------------------------------------------------------
    def synthesize(
        self, ssml: str, voice: str, rate: int, pitch: int, pitch_range: int, volume: int
    ) -> Iterator[EspeakBuffer]:
        """Speak an SSML document with the given voice and absolute espeak parameters."""
        sink: queue.Queue = queue.Queue(maxsize=8)
        failure: list[BaseException] = []
        cancel = threading.Event()

        def work() -> None:
            with self._lock:
                self._sink, self._cancel = sink, cancel
                try:
                    if self._seed is not None:
                        self._seed(NOISE_SEED)
                    if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                        raise BackendError(f"espeak voice {voice!r} could not be selected")
                    for param, value in (
                        (PARAM_RATE, rate), (PARAM_PITCH, pitch), (PARAM_RANGE, pitch_range), (PARAM_VOLUME, volume)
                    ):
                        self._lib.espeak_SetParameter(param, int(value), 0)
                    data = ssml.encode("utf-8")
                    err = self._lib.espeak_Synth(
                        data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _SSML, None, None
                    )
                    if err != 0 and not cancel.is_set():
                        raise BackendError(f"libespeak-ng synthesis failed (error {err})")
                except BaseException as exc:  # handed to the consumer thread
                    failure.append(exc)
                finally:
                    self._sink = None
                    put(sink, END, cancel)

        thread = threading.Thread(target=work, name="espeak-synth", daemon=True)
        thread.start()
        yield from drain(sink, thread, cancel, failure)

    def _on_audio(self, wav, n_samples, events) -> int:
        sink, cancel = self._sink, self._cancel
        if sink is None or cancel.is_set():
            return 1  # abort synthesis
        parsed = []
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == EVENT_PHONEME:
                value: str | int = e.id.string.decode("utf-8", "replace")
            elif e.type == EVENT_MARK:
                value = (e.id.name or b"").decode("utf-8", "replace")
            else:
                value = e.id.number
            parsed.append(EspeakEvent(e.type, e.sample, e.text_position - 1, e.length, value))
            i += 1
        samples = np.ctypeslib.as_array(wav, (n_samples,)).copy() if n_samples > 0 and wav else np.zeros(0, np.int16)
        self.samples_made += len(samples)
        if not put(sink, EspeakBuffer(samples, tuple(parsed)), cancel):
            return 1
        return 0

    def phonemize(self, text: str, voice: str, ipa: bool = False) -> str:
        """The phoneme string espeak would speak for `text`: espeak mnemonics, or IPA when `ipa`
        (what Piper voices were trained on)."""
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise BackendError(f"espeak voice {voice!r} could not be selected")
            buf = ctypes.c_char_p(text.encode("utf-8"))
            ptr = ctypes.pointer(buf)
            parts = []
            while buf.value:
                out = self._lib.espeak_TextToPhonemes(ptr, _CHARS_UTF8, 0x02 if ipa else 0)  # 0x02: espeakPHONEMES_IPA
                if out:
                    parts.append(out.decode("utf-8", "replace"))
                else:
                    break
            return " ".join(parts)


def _first_language(v: _Voice) -> str:
    raw = v.languages
    if not raw:
        return ""
    # skip the priority byte, then read the NUL-terminated name
    return ctypes.string_at(raw + 1).decode("ascii", "replace")
