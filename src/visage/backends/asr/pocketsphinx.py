"""The default recogniser: pocketsphinx 5 with its bundled en-US acoustic model, language model and
dictionary, so English speech recognition works with no download and on any CPU.

It is far less accurate than a neural recogniser (bench/bench_asr.py: about half the words of espeak's
speech wrong), but it streams: the decoder searches as audio arrives (a quarter of real time), so a
partial hypothesis is ready at any time. The final one costs a second search pass over the utterance
at its end, 0.2 s on average; decoder options fwdflat=False, bestpath=False cut that to 0.02 s for a
higher error rate (0.54 against 0.45 measured). Other languages need faster-whisper or FunASR.

Cepstral mean normalisation (CMN) is what adapts the model to a voice and a microphone, and
pocketsphinx only re-estimates it at the end of an utterance: from the model's generic estimate,
espeak's speech was recognised with 71% word errors, and with 45-50% once earlier utterances had
adapted it. So a recogniser carries its latest estimate from utterance to utterance (one per
conversation: see `conversation()`) and every stream starts from it, and from nothing else, whichever
pooled decoder it gets: a stream's transcript depends only on its audio and that estimate.
"""
from __future__ import annotations

import copy
import threading
import warnings

import numpy as np

from visage.backends.asr import as_pcm16, mono_float32, registry
from visage.backends.asr.base import SAMPLE_RATE, ASRStream, SpeechRecognizer, Transcript
from visage.errors import BackendError, InputError, MissingExtraError

PARTIAL_EVERY = 0.1  # seconds of audio between partial hypotheses (each is a search backtrace)
# The decoder is always given blocks of this many samples: its front end's output depends, rarely but
# measurably (the last words of 1 in 19 test sentences), on where blocks split the audio; fixed blocks
# make a transcript independent of how the network chunked it. 100 ms delays nothing that matters.
BLOCK = 1600


def is_english(language: str | None) -> bool:
    code = (language or "en").strip().lower().replace("_", "-")
    return code in ("en", "english") or code.startswith("en-")


@registry.register("pocketsphinx")
class PocketsphinxRecognizer(SpeechRecognizer):
    """Streams share nothing: each takes a decoder from a pool for its utterance and gives it back when
    it finishes, so decoders (0.35 s to load) are reused across utterances and concurrent streams each
    decode alone. `decoder_options` go to pocketsphinx's Decoder (e.g. hmm, lm, dict, beam)."""

    name = "pocketsphinx"

    def __init__(self, partial_every: float = PARTIAL_EVERY, adapt: bool = True, **decoder_options) -> None:
        self.partial_every = partial_every
        self.adapt = adapt  # carry the CMN estimate across utterances (False: every stream starts afresh)
        self.decoder_options = {"loglevel": "FATAL", **decoder_options}
        self._idle: list = []  # decoders not in use by a stream
        self._lock = threading.Lock()
        self._cmn: str | None = None  # the CMN estimate new streams start from

    def load(self) -> None:
        if self._cmn is not None:
            return
        decoder = self._new_decoder()
        self._cmn = self._initial_cmn = decoder.get_cmn(False)
        self._release(decoder)

    def conversation(self) -> "PocketsphinxRecognizer":
        """A recogniser for one conversation: its own CMN estimate (one speaker, one microphone), and
        decoders from this recogniser's pool, so a server loads decoders (0.35 s, 90 MB each) only for
        the utterances decoded at the same time, not for every connection."""
        self.load()
        other = copy.copy(self)  # shares the pool and its lock
        other._cmn = self._initial_cmn
        return other

    def reset(self) -> None:
        """Forget the adapted CMN estimate (a new speaker or microphone)."""
        with self._lock:
            if self._cmn is not None:
                self._cmn = self._initial_cmn

    def _new_decoder(self):
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise MissingExtraError(self.name, "align", "pocketsphinx") from None
        try:
            return Decoder(**self.decoder_options)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise BackendError(f"pocketsphinx could not start a decoder with {self.decoder_options}: {exc}") from exc

    def _acquire(self):
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
            cmn = self._cmn
        decoder = decoder or self._new_decoder()
        with warnings.catch_warnings():
            # Deprecated as "unnecessary", but it is what clears the feature state a previous utterance
            # leaves behind (measured: without it, a reused decoder transcribed the same audio differently).
            warnings.simplefilter("ignore", DeprecationWarning)
            decoder.start_stream()
        decoder.set_cmn(cmn)
        return decoder

    def _release(self, decoder, cmn: str | None = None) -> None:
        with self._lock:
            self._idle.append(decoder)
            if cmn is not None and self.adapt:
                self._cmn = cmn

    def stream(self, language: str = "en") -> ASRStream:
        if not is_english(language):
            raise InputError(
                f"pocketsphinx has an English (en-US) model only and cannot recognise {language!r}; "
                "for other languages use faster-whisper (pip install 'visage[whisper]', "
                "create_asr('faster-whisper')) or FunASR/SenseVoice (pip install 'visage[funasr]', "
                "create_asr('funasr'))"
            )
        self.load()
        return PocketsphinxStream(self, self._acquire())


class PocketsphinxStream(ASRStream):
    """One utterance on one decoder; feed and finish may come from different threads."""

    def __init__(self, recognizer: PocketsphinxRecognizer, decoder) -> None:
        self._recognizer = recognizer
        self._decoder = decoder
        self._lock = threading.Lock()
        self._since_partial = 0  # samples fed since the last partial hypothesis
        self._partial_samples = max(1, int(recognizer.partial_every * SAMPLE_RATE))
        self._pending = np.zeros(0, np.float32)  # audio short of a whole block
        self._text = ""
        self._final: Transcript | None = None
        decoder.start_utt()

    def feed(self, samples) -> Transcript | None:
        x = mono_float32(samples)
        with self._lock:
            if self._final is not None:
                raise InputError("this utterance has finished; start a new stream for the next one")
            self._pending = np.concatenate([self._pending, x]) if len(self._pending) else x
            n = len(self._pending) // BLOCK * BLOCK
            if not n:
                return None
            self._decode(self._pending[:n])
            self._pending = self._pending[n:].copy()
            self._since_partial += n
            if self._since_partial < self._partial_samples:
                return None
            self._since_partial = 0
            text = _text(self._decoder.hyp())
            if text == self._text or not text:
                return None
            self._text = text
            return Transcript(text, final=False, language="en")

    def _decode(self, x: np.ndarray) -> None:
        try:
            for i in range(0, len(x), BLOCK):
                self._decoder.process_raw(as_pcm16(x[i : i + BLOCK]), no_search=False, full_utt=False)
        except RuntimeError as exc:
            raise BackendError(f"pocketsphinx failed to decode audio: {exc}") from exc

    def finish(self) -> Transcript:
        with self._lock:
            if self._final is None:
                try:
                    self._decode(self._pending)
                    self._decoder.end_utt()
                except (RuntimeError, BackendError) as exc:  # the decoder is in an unknown state: drop it
                    self._decoder, self._final = None, Transcript("", final=True, language="en")
                    raise BackendError(f"pocketsphinx failed to finish the utterance: {exc}") from exc
                decoder, self._decoder = self._decoder, None
                self._final = Transcript(_text(decoder.hyp()), final=True, language="en")
                # audio without words (silence, noise) would pull the estimate away from the voice
                self._recognizer._release(decoder, decoder.get_cmn(False) if self._final.text else None)
            return self._final


def _text(hypothesis) -> str:
    """pocketsphinx's best words so far ("" when none); hypstr holds words only, no fillers."""
    return " ".join(hypothesis.hypstr.split()) if hypothesis is not None else ""
