"""Motion for clients that draw their own avatar (game engines, three.js, VRM): text in, face frames
and audio out as JSON-ready messages, streamed as they are made (the WebSocket endpoint's source)."""
from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator

import numpy as np

from visage.backends.tts.narration import narrate, requests_for_text, with_detected_emotion
from visage.core.arkit import BLENDSHAPE_NAMES
from visage.core.motion.engine import MotionEngine
from visage.core.records import frame_record, sentence_record
from visage.core.types import FaceFrame, Sentence, SpeechChunk
from visage.live.options import LiveOptions
from visage.live.services import LiveServices

_END = object()


async def stream_motion(text: str, options: LiveOptions, services: LiveServices) -> AsyncIterator[dict]:
    """Speak `text` with the options' voice (or the avatar's, config/speaker.py) and stream {"type":
    "header" | "sentence" | "audio" | "frame" | "warning" | "end"} messages. Audio is 16-bit mono PCM
    in base64 with its start time; frames carry the 52 ARKit weights, head pose and gaze at their time
    on the same clock."""
    loop = asyncio.get_running_loop()
    out: asyncio.Queue = asyncio.Queue(maxsize=64)
    stop = threading.Event()
    tts = services.tts(options)

    def put(message) -> None:
        future = asyncio.run_coroutine_threadsafe(out.put(message), loop)
        future.result()

    def produce() -> None:
        try:
            speaker = services.speaker(options)  # the avatar's stored voice unless the options chose one
            if speaker.warning:
                put({"type": "warning", "message": speaker.warning})
            engine = MotionEngine(fps=options.fps, style=options.style)
            requests = requests_for_text(text, language=options.language, voice=speaker.voice, pitch=speaker.pitch)
            if options.emotion_auto:
                requests = with_detected_emotion(requests)
            duration = 0.0
            for item in engine.run(narrate(tts, requests)):
                if stop.is_set():
                    return
                if isinstance(item, FaceFrame):
                    put({"type": "frame", **frame_record(item)})
                elif isinstance(item, SpeechChunk):
                    if len(item.samples):
                        pcm = (np.clip(item.samples, -1, 1) * 32767).astype("<i2").tobytes()
                        put({"type": "audio", "t": round(item.start, 4), "sample_rate": item.sample_rate,
                             "pcm16_base64": base64.b64encode(pcm).decode()})
                elif isinstance(item, Sentence):
                    if item.end is not None:
                        record = sentence_record(item)
                        record["sentence_type"] = record.pop("type")  # "type" names the message
                        put({"type": "sentence", **record})
                else:
                    duration = item.duration
            put({"type": "end", "duration": round(duration, 4)})
        except Exception as exc:  # reported to the client, never raised into the server
            put({"type": "error", "message": str(exc)})
        finally:
            put(_END)

    yield {"type": "header", "fps": options.fps, "blendshape_names": list(BLENDSHAPE_NAMES)}
    worker = loop.run_in_executor(None, produce)
    try:
        while True:
            message = await out.get()
            if message is _END:
                break
            yield message
    finally:
        stop.set()
        while not worker.done():  # let a blocked producer finish its put
            try:
                out.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)
