"""The default detector: WebRTC's GMM voice activity detector (webrtcvad), tiny and CPU-cheap.

It judges 10, 20 or 30 ms frames of 16-bit PCM and needs no model file, which is why it is the
default; Silero (a neural model) is steadier in loud noise where its weights are available.
"""
from __future__ import annotations

import numpy as np

from visage.backends.vad import registry
from visage.backends.vad.framed import MIN_SPEECH, SAMPLE_RATE, SILENCE, WINDOW, FramedDetector
from visage.errors import InputError, MissingExtraError

FRAME_MS = (10, 20, 30)  # the only frame lengths webrtcvad accepts
# Frames webrtcvad keeps saying "speech" after a long stretch of speech stops, by aggressiveness and
# frame length (WebRTC's vad_core.c, kOverHangMax2*); end times are moved back by that much.
HANGOVER_FRAMES = {0: (14, 7, 5), 1: (14, 7, 5), 2: (9, 5, 3), 3: (9, 5, 3)}


@registry.register("webrtc")
class WebRTCDetector(FramedDetector):
    """`aggressiveness` 0-3: higher rejects more non-speech (and more quiet speech). `silence`: seconds
    of non-speech that end a turn; the live reply cannot start before it has passed."""

    name = "webrtc"

    def __init__(self, aggressiveness: int = 2, frame_ms: int = 20, min_speech: float = MIN_SPEECH,
                 window: float = WINDOW, silence: float = SILENCE) -> None:
        if frame_ms not in FRAME_MS:
            raise InputError(f"webrtcvad frames are 10, 20 or 30 ms long, not {frame_ms}")
        if aggressiveness not in (0, 1, 2, 3):
            raise InputError(f"webrtcvad aggressiveness is 0, 1, 2 or 3, not {aggressiveness}")
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000
        self.aggressiveness = aggressiveness
        self._vad = None
        lag = HANGOVER_FRAMES[aggressiveness][FRAME_MS.index(frame_ms)] * frame_ms / 1000
        super().__init__(min_speech, window, silence, end_lag=lag)

    def load(self) -> None:
        if self._vad is not None:
            return
        try:
            import webrtcvad
        except ImportError:
            # webrtcvad-wheels provides the module; the lead's `live` extra installs it
            raise MissingExtraError(self.name, "live", "webrtcvad") from None
        self._vad = webrtcvad.Vad(self.aggressiveness)

    def _is_speech(self, frame: np.ndarray) -> bool:
        pcm = (np.clip(frame, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        return self._vad.is_speech(pcm, SAMPLE_RATE)
