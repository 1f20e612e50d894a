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
"""
from __future__ import annotations

import logging
import queue

import av
from aiortc.codecs import get_decoder

log = logging.getLogger(__name__)

RECEIVER_QUEUE = "_RTCRtpReceiver__decoder_queue"  # aiortc 1.x's private attributes
RECEIVER_THREAD = "_RTCRtpReceiver__decoder_thread"


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
            self._decoder, self._codec_name = get_decoder(codec), codec.name
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
