"""OpenAI-compatible speech: `POST {base_url}/audio/speech`.

The same request shape is served by OpenAI itself and by many local servers (Kokoro-FastAPI,
openedai-speech, LocalAI...), so one adapter covers them all; only the URL, key and names change.
The reply carries no timings, so the aligner provides them (see UntimedTTSBackend).
"""
from __future__ import annotations

import os

import numpy as np

from visage.backends.tts import registry
from visage.backends.tts.base import UntimedTTSBackend
from visage.backends.tts.http_voice import (
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, VoiceServer, as_bool, decode_pcm16_reply, decode_wav_reply,
    reject_unknown,
)
from visage.core.emotion import prosody_for
from visage.core.types import Emotion, SpeechRequest
from visage.errors import InputError

OPENAI_URL = "https://api.openai.com/v1"
# OpenAI's `pcm` format is 24 kHz signed 16-bit little-endian mono (API reference, createSpeech).
OPENAI_PCM_RATE = 24000
# Models that reject `instructions` (API reference: "Does not work with tts-1 or tts-1-hd").
_NO_INSTRUCTIONS = ("tts-1", "tts-1-hd")
_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse")

# How each emotion is described to a model that takes spoken-style instructions.
_EMOTION_STYLE = {
    Emotion.NEUTRAL: "calm and neutral",
    Emotion.HAPPY: "happy, warm and cheerful",
    Emotion.SAD: "sad, quiet and subdued",
    Emotion.ANGRY: "angry, tense and forceful",
    Emotion.SURPRISED: "surprised and amazed",
    Emotion.FEARFUL: "fearful, anxious and hesitant",
    Emotion.DISGUSTED: "disgusted and repulsed",
}


def describe_delivery(request: SpeechRequest) -> str:
    """A one-line speaking instruction for the sentence's emotion, intensity and emphasis."""
    k = request.intensity
    if request.emotion == Emotion.NEUTRAL:
        text = "Speak in a calm, neutral tone."
    else:
        degree = "slightly " if k < 0.34 else ("" if k < 0.67 else "very ")
        text = f"Speak in a {degree}{_EMOTION_STYLE[request.emotion]} tone."
    if request.emphasis:
        text += " Stress the words: " + ", ".join(request.emphasis) + "."
    return text


@registry.register("openai")
class OpenAISpeechTTS(UntimedTTSBackend):
    """A voice from any OpenAI-compatible `/audio/speech` endpoint.

    Options: `base_url` (default $OPENAI_BASE_URL or OpenAI's), `api_key` (default $OPENAI_API_KEY;
    needed only by servers that check it), `model`, `voice`, `response_format` ("wav" or "pcm"),
    `pcm_rate`, `instructions` (True/False; default: on for models that accept them), `timeout` and
    `connect_timeout` in seconds.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str = "gpt-4o-mini-tts",
        voice: str = "alloy",
        response_format: str = "wav",
        pcm_rate: int = OPENAI_PCM_RATE,
        instructions: bool | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        aligner=None,
        **unknown,
    ) -> None:
        super().__init__(aligner=aligner)
        reject_unknown("openai", unknown, [
            "base_url", "api_key", "model", "voice", "response_format", "pcm_rate", "instructions", "timeout",
            "connect_timeout",
        ])
        if response_format not in ("wav", "pcm"):
            raise InputError(f"the openai voice decodes response_format 'wav' or 'pcm', not {response_format!r}")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key and base_url.rstrip("/") == OPENAI_URL:
            raise InputError(
                "the openai voice needs an API key for api.openai.com: set OPENAI_API_KEY or pass api_key "
                "(or point base_url at a local OpenAI-compatible server)"
            )
        self.model, self.voice, self.response_format = model, voice, response_format
        if not str(pcm_rate).isdigit() or int(pcm_rate) <= 0:
            raise InputError(f"the openai voice's pcm_rate must be a positive number of Hz, not {pcm_rate!r}")
        self.pcm_rate = int(pcm_rate)
        self.send_instructions = (
            model not in _NO_INSTRUCTIONS if instructions is None else as_bool("openai", "instructions", instructions)
        )
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.server = VoiceServer(
            "openai", base_url,
            start_hint="a local OpenAI-compatible speech server (e.g. Kokoro-FastAPI), or set base_url to "
            f"{OPENAI_URL} with a valid OPENAI_API_KEY",
            connect_timeout=connect_timeout, read_timeout=timeout, headers=headers,
        )

    def voices(self, language: str | None = None) -> list[str]:
        return list(_VOICES)

    def request_body(self, request: SpeechRequest) -> dict:
        """The JSON sent for one sentence (kept separate so tests and users can see it)."""
        body: dict = {
            "model": self.model,
            "input": request.text,
            "voice": request.voice if request.voice and request.voice != "default" else self.voice,
            "response_format": self.response_format,
        }
        rate = prosody_for(request.tags, request.pitch).rate
        if abs(rate - 1.0) >= 0.01:
            body["speed"] = round(float(np.clip(rate, 0.25, 4.0)), 2)
        if self.send_instructions:
            body["instructions"] = describe_delivery(request)
        return body

    def synthesize(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        if not request.text.strip():
            raise InputError("nothing to say: the sentence is empty")
        body, headers = self.server.request("POST", "audio/speech", json=self.request_body(request))
        if self.response_format == "pcm":
            return decode_pcm16_reply("openai", body, self.pcm_rate, headers)
        return decode_wav_reply("openai", body, headers)
