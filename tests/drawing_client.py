"""A Python WebRTC client of a browser-drawn conversation, as the page is when it draws the face: it
receives the voice (audio track) and the face's motion frames ("motion" data channel), speaks into its
microphone track from a WAV file when told, and keeps what a benchmark needs to judge real time:

- each audio frame: when it arrived, its time on the server's output clock and its level;
- each motion frame: when it arrived and its `t` (the same clock);
- each spoken turn: when its last loud sample left the microphone track, and when the reply's first
  audible frame came out of the decoder (reply latency without the page's own playout buffer).

Used by tests/test_server_drawing.py and bench/bench_live_scale.py (many of these per process), so it is
built to cost little CPU beside the server it measures, while still being a real client over real
sockets (ICE, DTLS, SRTP, SCTP on loopback): its microphone sends Opus packets encoded once per
utterance (silence is libopus's one cached silent packet, as the server's voice track sends it), and
the voice is read at the RTP packet as it arrives, not through aiortc's jitter buffer and decoder
thread: arrival and timestamp of every packet, and its level from an Opus decode of the packets that
are not the silent one.
"""
from __future__ import annotations

import asyncio
import fractions
import hashlib
import json
import time

import httpx
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.codecs.opus import OpusEncoder
from av import CodecContext
from av.packet import Packet

from visage.live.audio_packets import pcm_frame, silence_payload

RATE = 48000
PTIME = 0.02
VOICE_ON = 0.005  # rms of the reply that counts as audible (-46 dBFS, as static/stats.js)


class SpeakingMicrophone(MediaStreamTrack):
    """An aiortc audio track: silence, or the samples given to `speak`, in real-time 20 ms Opus packets."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.speech: list[bytes] | None = None  # the utterance's packets still to send
        self.index = 0
        self.start: float | None = None
        self.speech_end: float | None = None  # wall time the last loud sample of the turn left
        self._end_at = 0  # sample index in the current turn of its last loud sample
        self._played = 0

    def speak(self, samples: np.ndarray) -> None:
        loud = np.flatnonzero(np.abs(samples) > 0.01)
        self.speech, self._played, self.speech_end = encoded(samples), 0, None
        self._end_at = int(loud[-1]) if len(loud) else 0

    async def recv(self) -> Packet:
        n = int(RATE * PTIME)
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.index * PTIME - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        payload = silence_payload()
        if self.speech is not None:
            frame = self._played // n
            payload = self.speech[frame]
            if self._played <= self._end_at < self._played + n:
                self.speech_end = time.time() + (self._end_at - self._played) / RATE
            self._played += n
            if frame + 1 >= len(self.speech):
                self.speech = None
        packet = Packet(payload)
        packet.pts, packet.time_base = self.index * n, fractions.Fraction(1, RATE)
        self.index += 1
        return packet


_encoded: dict[bytes, list[bytes]] = {}


def encoded(samples: np.ndarray) -> list[bytes]:
    """The Opus packets of `samples` (48 kHz mono, zero-padded to whole 20 ms frames), made once per
    process for each utterance: a bench's clients all say the same question."""
    key = hashlib.blake2b(np.ascontiguousarray(samples, np.float32).tobytes(), digest_size=16).digest()
    if key not in _encoded:
        n = int(RATE * PTIME)
        pcm = np.zeros(-(-len(samples) // n) * n, np.int16)
        pcm[: len(samples)] = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        encoder = OpusEncoder()
        _encoded[key] = [encoder.encode(pcm_frame(pcm[i: i + n], i))[0][-1] for i in range(0, len(pcm), n)]
    return _encoded[key]


class DrawingClient:
    """One browser-drawn conversation seen from the client side."""

    def __init__(self, url: str) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection

        self.url = url
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.microphone = SpeakingMicrophone()
        self.events: list[tuple[float, dict]] = []  # (wall time, event)
        self.audio: list[tuple[float, int, float]] = []  # (wall arrival, RTP timestamp, rms)
        self.frames: list[tuple[float, float, float]] = []  # (wall arrival, t, jawOpen)
        self.turns: list[dict] = []  # {"speech_end", "first_sound"} (wall times)
        self.origin: int | None = None
        self.fps = 25
        self.audio_start: float | None = None
        self._first_timestamp: int | None = None
        self._decoder = CodecContext.create("libopus", "r")
        self._decoder.format, self._decoder.layout, self._decoder.sample_rate = "s16", "stereo", RATE

    async def connect(self, options: dict | None = None) -> dict:
        from aiortc import RTCSessionDescription

        self.pc.addTrack(self.microphone)
        self.channel = self.pc.createDataChannel("events")
        self.channel.on("message", self._on_event)
        motion = self.pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
        motion.on("message", self._on_frame)
        self.pc.on("track", self._on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient(timeout=60) as http:
            r = await http.post(self.url + "/api/offer", json={
                "sdp": self.pc.localDescription.sdp, "type": "offer",
                "options": {"drawing": "browser", **(options or {})}})
        if r.status_code != 200:
            return r.json() | {"status": r.status_code}
        answer = r.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await self.until(lambda: self.channel.readyState == "open", 20, "the data channel opens")
        return answer

    def _on_event(self, message: str) -> None:
        event = json.loads(message)
        self.events.append((time.time(), event))
        if event.get("type") == "clock":
            self.origin, self.fps, self.audio_start = event["audio_rtp_origin"], event["fps"], event["audio_start"]

    def _on_frame(self, message: str) -> None:
        frame = json.loads(message)
        self.frames.append((time.time(), frame["t"], frame["blendshapes"][JAW_OPEN]))

    def _on_track(self, track) -> None:
        if track.kind == "audio":  # the voice is read packet by packet (module docstring)
            for transceiver in self.pc.getTransceivers():
                if transceiver.receiver.track is track:
                    transceiver.receiver._handle_rtp_packet = self._on_voice_packet

    async def _on_voice_packet(self, packet, arrival_time_ms: int = 0) -> None:
        """One RTP packet of the voice: its arrival, its timestamp from the first packet's (as aiortc's
        receiver stamps the frames it decodes) and its level."""
        now = time.time()
        if self._first_timestamp is None:
            self._first_timestamp = packet.timestamp
        pts = (packet.timestamp - self._first_timestamp) % 2 ** 32
        rms = 0.0
        if packet.payload != silence_payload():
            decoded = self._decoder.decode(Packet(packet.payload))
            pcm = np.concatenate([f.to_ndarray().ravel() for f in decoded]).astype(np.float32) / 32768.0
            rms = float(np.sqrt((pcm ** 2).mean())) if len(pcm) else 0.0
        self.audio.append((now, pts, rms))
        turn = self.turns[-1] if self.turns else None
        if (turn and turn["first_sound"] is None and rms > VOICE_ON and self.microphone.speech_end
                and now > self.microphone.speech_end):
            turn["first_sound"] = now

    def speak(self, samples: np.ndarray) -> dict:
        """Say `samples` (48 kHz mono) into the microphone: a new turn, timed from its last loud sample."""
        self.microphone.speak(samples)
        turn = {"first_sound": None}
        self.turns.append(turn)
        return turn

    def close_turn(self, turn: dict) -> None:
        turn["speech_end"] = self.microphone.speech_end

    def audio_times(self) -> np.ndarray:
        """(arrival, output time, rms) of the audio frames: output time is seconds on the server's output
        clock, the clock of the frames' t. aiortc's receiver counts timestamps from the first packet it
        got (a browser sees raw RTP timestamps, hence the "clock" event's origin), and the server's
        first packet is at output time audio_start (the "clock" event's)."""
        start = self.audio_start or 0.0
        return np.array([(a, start + pts / RATE, rms) for a, pts, rms in self.audio]).reshape(-1, 3)

    def send(self, message: dict) -> None:
        self.channel.send(json.dumps(message))

    def kinds(self) -> list[str]:
        return [e["type"] for _, e in self.events]

    async def until(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s; events {self.kinds()[-20:]}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.pc.close()


def _jaw_open() -> int:
    from visage.core.arkit import BLENDSHAPE_NAMES

    return list(BLENDSHAPE_NAMES).index("jawOpen")


JAW_OPEN = _jaw_open()
