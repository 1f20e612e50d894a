"""Piper voices: VITS models exported to ONNX, run on the CPU with onnxruntime.

A Piper voice is two files the user downloads (https://huggingface.co/rhasspy/piper-voices): the
model `x.onnx` and its config `x.onnx.json`. Text becomes IPA with the same espeak-ng that the voice
was trained with (the config's `espeak.voice`), each Unicode code point of the IPA becomes ids
through the config's `phoneme_id_map`, and the model turns the ids into audio. The conventions below
(BOS "^", then PAD "_" after BOS and after every phoneme, EOS "$"; clause punctuation kept) follow
Piper's own phonemizer so the ids are the ones the voice saw in training.
"""
from __future__ import annotations

import json
import logging
import os
import re
import unicodedata

import numpy as np

from visage.backends.options import at_least_zero
from visage.backends.tts import registry
from visage.backends.tts.base import UntimedTTSBackend
from visage.core.emotion import prosody_for
from visage.core.types import SpeechRequest
from visage.errors import BackendError, InputError, require

log = logging.getLogger(__name__)

VOICES_URL = "https://huggingface.co/rhasspy/piper-voices"
BOS, EOS, PAD = "^", "$", "_"
# Piper's defaults for configs that leave out the `inference` section.
DEFAULT_SCALES = {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8}
_REQUIRED_INPUTS = {"input", "input_lengths", "scales"}
# Clause punctuation that Piper keeps as phonemes (it shapes the voice's pauses and intonation);
# only marks followed by a space or the end split clauses, so "3.5" stays one number.
_CLAUSE = re.compile(r"([.,;:!?]+)(?=\s|$)")


def _missing_file(kind: str, path: str) -> InputError:
    return InputError(
        f"Piper voice {kind} not found: {path}; download a voice (both its .onnx model and its "
        f".onnx.json config) from {VOICES_URL} and pass the .onnx path as model_path"
    )


@registry.register("piper")
class PiperTTS(UntimedTTSBackend):
    """A Piper ONNX voice from the user's disk.

    Options: `model_path` (the .onnx file; its config is `model_path + ".json"` unless `config_path`
    is given), `speaker` (name or number, for multi-speaker voices), and `noise_scale`,
    `length_scale`, `noise_w` to override the config's `inference` values. `seed` (an integer): the
    model's random noise drawn once from it (piper_model.seeded_session), so the same text gives the
    same audio every time (benchmarks, renders that reproduce); without it each run differs a little.
    """

    name = "piper"

    def __init__(
        self,
        model_path: str | None = None,
        config_path: str | None = None,
        speaker: str | int | None = None,
        noise_scale: float | None = None,
        length_scale: float | None = None,
        noise_w: float | None = None,
        seed: int | str | None = None,
        aligner=None,
        **unknown,
    ) -> None:
        super().__init__(aligner=aligner)
        if unknown:
            raise InputError(
                f"unknown option(s) for the piper voice: {', '.join(sorted(unknown))}; it takes: model_path, "
                "config_path, speaker, noise_scale, length_scale, noise_w, seed"
            )
        if not model_path:
            raise InputError(
                f"the piper voice needs model_path, the .onnx file of a voice downloaded from {VOICES_URL}"
            )
        self.model_path = os.path.expanduser(str(model_path))
        self.config_path = os.path.expanduser(str(config_path)) if config_path else self.model_path + ".json"
        self.speaker = speaker
        try:
            self.seed = None if seed is None else int(seed)
        except (TypeError, ValueError):
            raise InputError(f"the piper voice's seed must be a whole number, not {seed!r}") from None
        self._overrides = {
            name: at_least_zero("the piper voice", name, value)
            for name, value in (("noise_scale", noise_scale), ("length_scale", length_scale), ("noise_w", noise_w))
            if value is not None
        }
        self._session = None
        self.config: dict = {}

    # -- loading ------------------------------------------------------------------------------------
    def load(self) -> None:
        if self._session is not None:
            return
        if not os.path.isfile(self.model_path):
            raise _missing_file("model", self.model_path)
        if not os.path.isfile(self.config_path):
            raise _missing_file("config", self.config_path)
        try:
            with open(self.config_path, encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as exc:
            raise InputError(f"Piper voice config {self.config_path} is not readable JSON ({exc})") from None
        if not isinstance(config, dict) or not isinstance(config.get("phoneme_id_map"), dict):
            raise InputError(f"Piper voice config {self.config_path} has no phoneme_id_map; is it a Piper config?")
        for symbol in (BOS, EOS, PAD):
            if symbol not in config["phoneme_id_map"]:
                raise InputError(f"Piper voice config {self.config_path}: phoneme_id_map lacks {symbol!r}")
        kind = config.get("phoneme_type", "espeak")
        if kind not in ("espeak", "text"):
            raise InputError(f"Piper voices of phoneme_type {kind!r} are not supported (only 'espeak' and 'text')")
        ort = require("onnxruntime", "piper", "piper")
        try:
            if self.seed is None:
                session = ort.InferenceSession(self.model_path, providers=["CPUExecutionProvider"])
            else:
                import onnx

                from visage.backends.tts.piper_model import seeded_session

                session = seeded_session(onnx.load(self.model_path), self.seed)
        except Exception as exc:  # onnxruntime raises its own exception types for broken files
            raise InputError(
                f"Piper voice model {self.model_path} could not be loaded by onnxruntime ({exc})"
            ) from None
        inputs = {i.name for i in session.get_inputs()}
        if not _REQUIRED_INPUTS <= inputs:
            raise InputError(
                f"{self.model_path} is not a Piper voice: its inputs are {sorted(inputs)}, "
                f"a Piper model takes {sorted(_REQUIRED_INPUTS)}"
            )
        self.config, self._inputs = config, inputs
        self._speaker_id = self._resolve_speaker(self.speaker)  # before the session: a bad name stays an error
        self._session = session

    @property
    def sample_rate(self) -> int:
        self.load()
        return int(self.config.get("audio", {}).get("sample_rate", 22050))

    @property
    def espeak_voice(self) -> str:
        self.load()
        return str(self.config.get("espeak", {}).get("voice", "en-us"))

    def languages(self) -> list[str]:
        self.load()
        code = self.config.get("language", {}).get("code") or self.espeak_voice
        return [str(code).replace("_", "-").lower()]

    def voices(self, language: str | None = None) -> list[str]:
        self.load()
        return sorted(self.config.get("speaker_id_map") or {}) or ["default"]

    def _resolve_speaker(self, speaker: str | int | None) -> int | None:
        """Speaker id for the `sid` input: None for single-speaker voices, 0 when none is named."""
        if int(self.config.get("num_speakers", 1)) <= 1 or "sid" not in self._inputs:
            return None
        if speaker is None or speaker == "default":
            return 0
        names = self.config.get("speaker_id_map") or {}
        if str(speaker) in names:
            return int(names[str(speaker)])
        if str(speaker).isdigit() and int(speaker) < int(self.config["num_speakers"]):
            return int(speaker)
        raise InputError(f"unknown Piper speaker {speaker!r}; choose one of: {', '.join(sorted(names)) or 'a number'}")

    # -- text to ids --------------------------------------------------------------------------------
    def phonemes(self, text: str) -> list[str]:
        """The sentence as Piper phonemes: IPA code points (decomposed, as Piper does), with each
        clause's punctuation kept and a space after every inner clause."""
        self.load()
        if self.config.get("phoneme_type", "espeak") == "text":
            return list(unicodedata.normalize("NFD", text))
        from visage.backends.espeak.engine import EspeakEngine

        engine = EspeakEngine.get()
        pieces = _CLAUSE.split(text)
        out: list[str] = []
        for i in range(0, len(pieces), 2):
            clause = pieces[i].strip()
            mark = pieces[i + 1] if i + 1 < len(pieces) else ""
            ipa = engine.phonemize(clause, self.espeak_voice, ipa=True).strip() if clause else ""
            ipa = re.sub(r"\([^)]*\)", "", ipa)  # espeak's (lang) switch flags around foreign words
            if not ipa and not mark:
                continue
            if out and out[-1] != " ":
                out.append(" ")
            out.extend(unicodedata.normalize("NFD", ipa + mark))
        return out

    def phoneme_ids(self, text: str) -> list[int]:
        """The model's input ids for `text`: ^ _ (phoneme _)* $; phonemes the voice lacks are skipped."""
        self.load()
        id_map = self.config["phoneme_id_map"]
        ids = list(id_map[BOS]) + list(id_map[PAD])
        missing = set()
        for phoneme in self.phonemes(text):
            if phoneme not in id_map:
                missing.add(phoneme)
                continue
            ids.extend(id_map[phoneme])
            ids.extend(id_map[PAD])
        if missing:
            log.debug("piper voice %s has no ids for phonemes %s; skipped", self.model_path, sorted(missing))
        ids.extend(id_map[EOS])
        return ids

    def scales(self, request: SpeechRequest) -> np.ndarray:
        """[noise_scale, length_scale, noise_w]: the config's values (or the options'), with the
        length scaled by the emotion's speaking rate (slower speech = longer phonemes)."""
        self.load()
        values = {**DEFAULT_SCALES, **(self.config.get("inference") or {})}
        values.update(self._overrides)
        rate = prosody_for(request.tags, request.pitch).rate
        length = float(values["length_scale"]) / max(0.25, rate)
        return np.array([values["noise_scale"], length, values["noise_w"]], dtype=np.float32)

    # -- synthesis ----------------------------------------------------------------------------------
    def synthesize(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        if not request.text.strip():
            raise InputError("nothing to say: the sentence is empty")
        self.load()
        ids = self.phoneme_ids(request.text)
        if len(ids) <= 3:
            raise InputError(f"nothing this Piper voice can say in {request.text!r} (no known phonemes)")
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": self.scales(request),
        }
        speaker = self._speaker_id
        if request.voice and request.voice != "default" and speaker is not None:
            speaker = self._resolve_speaker(request.voice)
        if speaker is not None:
            feeds["sid"] = np.array([speaker], dtype=np.int64)
        try:
            audio = self._session.run(None, feeds)[0]
        except Exception as exc:  # onnxruntime's errors are not a public exception hierarchy
            raise BackendError(f"the Piper voice {self.model_path} failed to synthesise ({exc})") from None
        samples = np.clip(np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1)), -1.0, 1.0)
        return samples, self.sample_rate
