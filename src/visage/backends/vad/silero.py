"""Silero VAD (v5, ONNX) on onnxruntime, from a silero_vad.onnx the user provides.

A small neural network is steadier than WebRTC's GMM in loud or non-stationary noise. Nothing is
downloaded: `model_path` must point to the official silero_vad.onnx (github.com/snakers4/silero-vad,
src/silero_vad/data). Its signature: `input` float32 [1, 64 + 512] (the previous frame's last 64
samples, then a 32 ms frame), `state` float32 [2, 1, 128], `sr` int64 scalar -> `output` [1, 1]
speech probability and `stateN` (the next state). The start/end logic is the one webrtc uses
(framed.SpeechHysteresis); the probability passes Silero's own two thresholds first.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from visage.backends.vad import registry
from visage.backends.vad.framed import MIN_SPEECH, SAMPLE_RATE, SILENCE, WINDOW, FramedDetector
from visage.errors import BackendError, InputError, require

FRAME = 512  # the only frame the v5 model takes at 16 kHz
CONTEXT = 64  # samples of the previous frame the model sees before each frame
STATE_SHAPE = (2, 1, 128)


@registry.register("silero")
class SileroDetector(FramedDetector):
    """`threshold`: probability that marks speech; while speaking, speech continues down to
    `threshold - 0.15` (Silero's own hysteresis), so a turn is not cut inside soft syllables."""

    name = "silero"
    frame_samples = FRAME

    def __init__(self, model_path: str | Path | None = None, threshold: float = 0.5, min_speech: float = MIN_SPEECH,
                 window: float = WINDOW, silence: float = SILENCE) -> None:
        if not 0.0 < threshold < 1.0:
            raise InputError(f"threshold is a probability between 0 and 1, not {threshold}")
        self.model_path = Path(model_path).expanduser() if model_path else None
        self.threshold = threshold
        self.release = max(threshold - 0.15, 0.01)
        self._session = None
        super().__init__(min_speech, window, silence)
        self._reset_model()

    def load(self) -> None:
        if self._session is not None:
            return
        ort = require("onnxruntime", self.name, "piper")  # the extra that installs onnxruntime
        if self.model_path is None:
            raise InputError(
                "the silero detector needs model_path, the path to silero_vad.onnx (from "
                "github.com/snakers4/silero-vad, src/silero_vad/data); or use the webrtc detector, which needs none"
            )
        if not self.model_path.is_file():
            raise InputError(f"no Silero VAD model at {self.model_path}: download silero_vad.onnx from "
                             "github.com/snakers4/silero-vad (src/silero_vad/data) and give its path")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one 32 ms frame is tiny; threads only add overhead
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable models
            raise BackendError(f"onnxruntime cannot load the Silero VAD model {self.model_path}: {exc}") from exc
        names = {i.name for i in session.get_inputs()}
        if names != {"input", "state", "sr"}:
            raise BackendError(f"{self.model_path} is not a Silero VAD v5 model: its inputs are {sorted(names)}, "
                               "expected input, state and sr")
        self._session = session

    def _reset_model(self) -> None:
        self._state = np.zeros(STATE_SHAPE, np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def _is_speech(self, frame: np.ndarray) -> bool:
        x = np.concatenate([self._context, frame])[None, :]
        prob, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": np.array(SAMPLE_RATE, dtype=np.int64)}
        )
        self._context = frame[-CONTEXT:].copy()
        return float(prob.reshape(-1)[0]) >= (self.release if self.speaking else self.threshold)
