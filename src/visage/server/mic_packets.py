"""The microphone's Opus packets handed to the decoder as each arrives, not one packet later.

aiortc's audio receiver collects RTP packets in a jitter buffer that gives a frame out only once it
has seen the first packet of a later frame (so that a frame split over several packets is whole),
and by default only after four later frames (80 ms, to reorder late packets). An Opus packet is
always one whole 20 ms frame (RFC 7587: the payload is one Opus packet), and on the networks visage
serves (the same machine or a LAN) packets come in order, so both waits only add to every reply's
latency: the server hears the end of a question that much later. `WholePacketBuffer` gives each
packet out as it arrives; one older than the newest seen (late, or a duplicate) is dropped, which is
what the decoder would have had to do with it anyway (Opus's own concealment covers the gap).
"""
from __future__ import annotations

import logging

from aiortc.jitterbuffer import JitterFrame

log = logging.getLogger(__name__)

RECEIVER_BUFFER = "_RTCRtpReceiver__jitter_buffer"  # aiortc 1.x's private attribute


class WholePacketBuffer:
    """The part of aiortc's JitterBuffer its receiver uses (`add`), for one-packet frames."""

    def __init__(self) -> None:
        self._newest: int | None = None  # the newest sequence number given out
        self.dropped = 0  # late or duplicate packets, not decoded

    def add(self, packet) -> tuple[bool, JitterFrame | None]:
        """(no picture-loss request, the packet's frame or None when it is late or a duplicate)."""
        sequence = packet.sequence_number
        if self._newest is not None and not _newer(sequence, self._newest):
            self.dropped += 1
            return False, None
        self._newest = sequence
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


def _newer(a: int, b: int) -> bool:
    """Whether 16-bit RTP sequence number `a` comes after `b` (RFC 3550's wrap-around order)."""
    return 0 < (a - b) & 0xFFFF < 0x8000


def decode_microphone_at_once(pc) -> bool:
    """Give the audio receivers of `pc` a `WholePacketBuffer`. Returns whether any was replaced: on an
    aiortc without the private attribute nothing changes and only latency is lost."""
    replaced = False
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio" and hasattr(transceiver.receiver, RECEIVER_BUFFER):
            setattr(transceiver.receiver, RECEIVER_BUFFER, WholePacketBuffer())
            replaced = True
    if not replaced:
        log.debug("aiortc's audio jitter buffer was not found: the microphone is decoded as aiortc does")
    return replaced
