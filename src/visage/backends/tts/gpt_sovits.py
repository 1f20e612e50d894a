"""GPT-SoVITS voice cloning through its api_v2 server (`python api_v2.py`, `POST /tts`).

GPT-SoVITS speaks in the voice of a short reference recording. The server reads that recording from
its own disk, so `ref_audio_path` is a path on the server's machine, and it needs the recording's
transcript (`prompt_text`) to clone well; both are required here rather than failing at the server.
"""
from __future__ import annotations

import json

import numpy as np

from visage.backends.tts import registry
from visage.backends.tts.base import UntimedTTSBackend
from visage.backends.tts.http_voice import (
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, VoiceServer, decode_wav_reply, reject_unknown,
)
from visage.core.emotion import prosody_for
from visage.core.types import SpeechRequest
from visage.errors import InputError

DEFAULT_URL = "http://127.0.0.1:9880"  # api_v2.py's default bind address and port
START_HINT = "python api_v2.py -a 127.0.0.1 -p 9880 -c GPT_SoVITS/configs/tts_infer.yaml (in the GPT-SoVITS folder)"

# visage / espeak language codes -> GPT-SoVITS text_lang values (tts_config.languages, v2+).
_LANGUAGES = {
    "en": "en", "zh": "zh", "cmn": "zh", "mandarin": "zh", "chinese": "zh", "ja": "ja", "ko": "ko",
    "yue": "yue", "cantonese": "yue", "zh-hk": "yue",
}


def gpt_sovits_language(language: str) -> str:
    """The api_v2 text_lang for a visage language code; "auto" lets the server detect others."""
    code = (language or "").strip().lower().replace("_", "-")
    return _LANGUAGES.get(code) or _LANGUAGES.get(code.split("-")[0], "auto")


@registry.register("gpt-sovits")
class GptSovitsTTS(UntimedTTSBackend):
    """A cloned voice from a GPT-SoVITS api_v2 server.

    Options: `ref_audio_path` (reference recording, a path on the server) and `prompt_text` (what is
    said in it) are required; `prompt_lang` (the recording's language; default: the sentence's),
    `base_url`, `text_split_method`, `params` (extra api_v2 fields such as top_k or temperature),
    `timeout` and `connect_timeout` in seconds.
    """

    name = "gpt-sovits"

    def __init__(
        self,
        ref_audio_path: str | None = None,
        prompt_text: str | None = None,
        prompt_lang: str | None = None,
        base_url: str = DEFAULT_URL,
        text_split_method: str = "cut5",
        params: dict | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        aligner=None,
        **unknown,
    ) -> None:
        super().__init__(aligner=aligner)
        reject_unknown("gpt-sovits", unknown, [
            "ref_audio_path", "prompt_text", "prompt_lang", "base_url", "text_split_method", "params", "timeout",
            "connect_timeout",
        ])
        missing = [n for n, v in (("ref_audio_path", ref_audio_path), ("prompt_text", prompt_text)) if not v]
        if missing:
            raise InputError(
                f"the gpt-sovits voice needs {' and '.join(missing)}: ref_audio_path is a 3-10 s recording of "
                "the voice to clone (a path on the server's machine) and prompt_text is its exact transcript"
            )
        self.ref_audio_path, self.prompt_text = str(ref_audio_path), str(prompt_text)
        self.prompt_lang = prompt_lang
        self.text_split_method = text_split_method
        if isinstance(params, str):  # from the command line: a JSON object
            try:
                params = json.loads(params)
            except ValueError:
                params = None
            if not isinstance(params, dict):
                raise InputError('the gpt-sovits params option must be a JSON object, e.g. {"top_k": 5}')
        self.params = dict(params or {})
        self.server = VoiceServer(
            "gpt-sovits", base_url, START_HINT, connect_timeout=connect_timeout, read_timeout=timeout,
        )

    def languages(self) -> list[str]:
        return sorted(set(_LANGUAGES.values()))

    def request_body(self, request: SpeechRequest) -> dict:
        """The api_v2 JSON for one sentence: non-streaming WAV, speed from the emotion's rate."""
        text_lang = gpt_sovits_language(request.language)
        rate = prosody_for(request.tags, request.pitch).rate
        body = {
            "text": request.text,
            "text_lang": text_lang,
            "ref_audio_path": self.ref_audio_path,
            "prompt_text": self.prompt_text,
            "prompt_lang": gpt_sovits_language(self.prompt_lang) if self.prompt_lang else text_lang,
            "text_split_method": self.text_split_method,
            "media_type": "wav",
            "streaming_mode": False,
            "speed_factor": round(float(np.clip(rate, 0.5, 2.0)), 2),
        }
        body.update(self.params)
        return body

    def synthesize(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        if not request.text.strip():
            raise InputError("nothing to say: the sentence is empty")
        body, headers = self.server.request("POST", "tts", json=self.request_body(request))
        return decode_wav_reply("gpt-sovits", body, headers)
