"""The microphone's Opus packets decoded on the event loop as they arrive, not in a thread per session.

aiortc's receiver hands every decoded-to-be frame to a decoder thread of its own (one per session):
a `queue.Queue.put`, the thread's wake-up and its wait for the GIL, a decode of about 0.07 ms, then
`run_coroutine_threadsafe` to give the frame back to the loop (a coroutine, a Task, a wake-up of the
loop through its self-pipe). For an audio packet every 20 ms those hand-overs cost several times the
decode itself, and with many sessions they are a good part of what a server does between replies.
`InlineDecoder` takes the place of the receiver's queue: `put` decodes the packet right there, on the
loop (the receiver calls it from its packet handler), and puts the frames on the track's queue, the
same frames in the same order. The receiver's thread still runs, waiting on `get` until the receiver
stops, when it ends the track as before.

Opus is decoded to mono here (libopus downmixes inside the decoder), not to aiortc's stereo: a page's
microphone is one channel coded as mono, for which the two give the same samples (the stereo frame is
that channel twice, which the microphone path then averaged back), and the mono decode with the
path after it costs about a fifth less. Other codecs are decoded as aiortc decodes them.
"""
from __future__ import annotations

import fractions
import logging
import queue

import av
from aiortc.codecs import get_decoder
from av import CodecContext
from av.packet import Packet

log = logging.getLogger(__name__)

RECEIVER_QUEUE = "_RTCRtpReceiver__decoder_queue"  # aiortc 1.x's private attributes
RECEIVER_THREAD = "_RTCRtpReceiver__decoder_thread"
OPUS_RATE = 48000  # Opus's RTP clock and decoded rate, whatever the page's microphone ran at
OPUS_TIME_BASE = fractions.Fraction(1, OPUS_RATE)


class MonoOpusDecoder:
    """aiortc's OpusDecoder with one channel out (16-bit, 48 kHz, as aiortc's)."""

    def __init__(self) -> None:
        self.codec = CodecContext.create("libopus", "r")
        self.codec.format, self.codec.layout, self.codec.sample_rate = "s16", "mono", OPUS_RATE

    def decode(self, encoded_frame) -> list:
        packet = Packet(encoded_frame.data)
        packet.pts, packet.time_base = encoded_frame.timestamp, OPUS_TIME_BASE
        return self.codec.decode(packet)


def decoder_for(codec):
    return MonoOpusDecoder() if codec.mimeType.lower() == "audio/opus" else get_decoder(codec)


class InlineDecoder:
    """The part of `queue.Queue` aiortc's receiver and its decoder thread use (`put`, `get`)."""

    def __init__(self, receiver) -> None:
        self._receiver = receiver
        self._control: queue.Queue = queue.Queue()  # what the receiver's thread waits on: its stop
        self._decoder = None
        self._codec_name: str | None = None
        self.decoded = self.failed = 0  # packets decoded here / that the decoder refused

    def put(self, task) -> None:
        if task is None:  # the receiver stops: its thread ends the track, as aiortc's own would
            self._control.put(None)
            return
        codec, encoded_frame = task
        if codec.name != self._codec_name:
            self._decoder, self._codec_name = decoder_for(codec), codec.name
        try:
            frames = self._decoder.decode(encoded_frame)
        except av.FFmpegError as exc:  # keep the decoder's state, as aiortc does: the next packet decodes
            self.failed += 1
            log.debug("a microphone packet failed to decode: %s", exc)
            return
        self.decoded += 1
        out = self._receiver._track._queue  # the track's asyncio.Queue (unbounded): never blocks
        for frame in frames:
            out.put_nowait(frame)

    def get(self, block: bool = True, timeout: float | None = None):
        return self._control.get(block, timeout)


def decode_on_loop(pc) -> bool:
    """Give the audio receivers of `pc` an `InlineDecoder` before their threads start (call it after
    setRemoteDescription, before the connection is up). Returns whether any was replaced: on an aiortc
    without these private attributes, or once a receiver runs, nothing changes."""
    replaced = False
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if (transceiver.kind == "audio" and hasattr(receiver, RECEIVER_QUEUE)
                and getattr(receiver, RECEIVER_THREAD, True) is None and hasattr(receiver, "_track")):
            setattr(receiver, RECEIVER_QUEUE, InlineDecoder(receiver))
            replaced = True
    if not replaced:
        log.debug("aiortc's audio decoder queue was not found: the microphone is decoded in its thread")
    return replaced
