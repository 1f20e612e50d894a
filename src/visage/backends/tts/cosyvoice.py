"""CosyVoice through its FastAPI server (runtime/python/fastapi/server.py in FunAudioLLM/CosyVoice).

The server answers with a bare stream of 16-bit PCM and no header, so the sample rate must be known
in advance: 22050 Hz for CosyVoice-300M models, 24000 Hz for CosyVoice2 (`sample_rate` option).
Servers that announce their rate in an `X-Custom-Header-sampleRate` header (a common variant of the
script) are trusted over the option. With a reference recording the voice is cloned
(`/inference_zero_shot`); without one a built-in speaker of an SFT model is used (`/inference_sft`).
The upstream script registers these routes as GET with a form body (newer versions also accept
POST), so GET is the default method.
"""
from __future__ import annotations

import os

import numpy as np

from visage.backends.tts import registry
from visage.backends.tts.base import UntimedTTSBackend
from visage.backends.tts.http_voice import (
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, VoiceServer, decode_pcm16_reply, reject_unknown,
)
from visage.core.types import SpeechRequest
from visage.errors import InputError

DEFAULT_URL = "http://127.0.0.1:50000"  # server.py's default port
START_HINT = (
    "python runtime/python/fastapi/server.py --port 50000 --model_dir pretrained_models/CosyVoice-300M "
    "(in the CosyVoice folder)"
)
RATE_HEADER = "x-custom-header-samplerate"

# Built-in speakers of CosyVoice-300M-SFT, by language, for when no speaker is named.
_SFT_SPEAKERS = {"zh": "中文女", "en": "英文女", "ja": "日语男", "yue": "粤语女", "ko": "韩语女"}
_LANGUAGE_ALIASES = {"cmn": "zh", "mandarin": "zh", "chinese": "zh", "cantonese": "yue", "zh-hk": "yue"}


@registry.register("cosyvoice")
class CosyVoiceTTS(UntimedTTSBackend):
    """A voice from a CosyVoice FastAPI server.

    Options: `prompt_wav` (a local reference recording, uploaded with each request) with
    `prompt_text` (its transcript) for zero-shot cloning, or `speaker` (an SFT model's spk_id, e.g.
    "英文女"); `sample_rate` (22050 for CosyVoice-300M, 24000 for CosyVoice2); `base_url`;
    `method` ("GET" or "POST"); `timeout` and `connect_timeout` in seconds.
    """

    name = "cosyvoice"

    def __init__(
        self,
        prompt_wav: str | None = None,
        prompt_text: str | None = None,
        speaker: str | None = None,
        sample_rate: int = 22050,
        base_url: str = DEFAULT_URL,
        method: str = "GET",
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        aligner=None,
        **unknown,
    ) -> None:
        super().__init__(aligner=aligner)
        reject_unknown("cosyvoice", unknown, [
            "prompt_wav", "prompt_text", "speaker", "sample_rate", "base_url", "method", "timeout", "connect_timeout",
        ])
        if prompt_wav and not prompt_text:
            raise InputError(
                "the cosyvoice voice clones from prompt_wav only with its transcript: pass prompt_text, the "
                "exact words spoken in the recording"
            )
        if prompt_text and not prompt_wav:
            raise InputError("the cosyvoice voice got prompt_text without prompt_wav, the recording it describes")
        if not str(sample_rate).isdigit() or int(sample_rate) <= 0:
            raise InputError(f"the cosyvoice voice's sample_rate must be a positive number of Hz, not {sample_rate!r}")
        method = str(method).upper()
        if method not in ("GET", "POST"):
            raise InputError(f"the cosyvoice voice sends GET or POST requests, not {method!r}")
        self.prompt_wav, self.prompt_text, self.speaker = prompt_wav, prompt_text, speaker
        self.sample_rate, self.method = int(sample_rate), method
        self._prompt_bytes: bytes | None = None
        self.server = VoiceServer(
            "cosyvoice", base_url, START_HINT, connect_timeout=connect_timeout, read_timeout=timeout,
        )

    def load(self) -> None:
        """Read the reference recording once; a wrong path is reported before any request."""
        if self.prompt_wav and self._prompt_bytes is None:
            if not os.path.isfile(self.prompt_wav):
                raise InputError(f"the cosyvoice reference recording {self.prompt_wav} does not exist (prompt_wav)")
            with open(self.prompt_wav, "rb") as f:
                self._prompt_bytes = f.read()

    def languages(self) -> list[str]:
        return sorted(_SFT_SPEAKERS)

    def speaker_for(self, request: SpeechRequest) -> str:
        """The SFT speaker: the request's voice, else the `speaker` option, else one for the language."""
        if request.voice and request.voice != "default":
            return request.voice
        if self.speaker:
            return self.speaker
        code = (request.language or "en").lower().replace("_", "-")
        code = _LANGUAGE_ALIASES.get(code, code.split("-")[0])
        return _SFT_SPEAKERS.get(code, _SFT_SPEAKERS["en"])

    def synthesize(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        if not request.text.strip():
            raise InputError("nothing to say: the sentence is empty")
        self.load()
        if self.prompt_wav:
            name = os.path.basename(self.prompt_wav)
            body, headers = self.server.request(
                self.method, "inference_zero_shot",
                data={"tts_text": request.text, "prompt_text": self.prompt_text},
                files={"prompt_wav": (name, self._prompt_bytes, "audio/wav")},
            )
        else:
            body, headers = self.server.request(
                self.method, "inference_sft", data={"tts_text": request.text, "spk_id": self.speaker_for(request)},
            )
        rate = self.sample_rate
        announced = headers.get(RATE_HEADER, "")
        if announced.isdigit() and int(announced) > 0:
            rate = int(announced)
        return decode_pcm16_reply("cosyvoice", body, rate, headers)
