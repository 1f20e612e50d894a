"""The microphone's packets reach the decoder as they arrive (server/mic_packets.py)."""
import asyncio

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from visage.server.mic_packets import RECEIVER_BUFFER, WholePacketBuffer, decode_microphone_at_once


def packet(sequence: int, timestamp: int) -> RtpPacket:
    p = RtpPacket(payload_type=111, sequence_number=sequence, timestamp=timestamp)
    p._data = bytes([sequence & 0xFF]) * 3  # what the receiver's depayloader leaves there
    return p


def test_each_packet_is_given_out_as_it_arrives():
    buffer = WholePacketBuffer()
    for k in range(5):
        _, frame = buffer.add(packet(100 + k, 960 * k))
        assert frame is not None and frame.timestamp == 960 * k and frame.data == bytes([100 + k]) * 3


def test_aiortcs_own_buffer_holds_the_first_packet_back():
    """Why the replacement exists: aiortc's audio buffer (capacity 16, prefetch 4) gives nothing out
    for the first packets of a stream, the wait every reply's latency paid."""
    theirs = JitterBuffer(capacity=16, prefetch=4)
    given = [theirs.add(packet(100 + k, 960 * k))[1] for k in range(4)]
    assert given == [None] * 4


def test_late_and_duplicate_packets_are_dropped_across_the_wrap():
    buffer = WholePacketBuffer()
    order = [65534, 65535, 0, 65535, 1, 1, 3, 2, 4]  # wraps at 2**16; 65535, 1 and 2 come again or late
    given = [s for s in order if buffer.add(packet(s, s * 960))[1] is not None]
    assert given == [65534, 65535, 0, 1, 3, 4]
    assert buffer.dropped == 3


def test_a_real_peer_connections_audio_receiver_gets_it():
    """The private attribute is still where this aiortc keeps it (a new aiortc that moved it fails here,
    not silently in production)."""
    async def main():
        pc = RTCPeerConnection()
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
        try:
            assert decode_microphone_at_once(pc)
            kinds = {t.kind: getattr(t.receiver, RECEIVER_BUFFER) for t in pc.getTransceivers()}
            assert isinstance(kinds["audio"], WholePacketBuffer)
            assert not isinstance(kinds["video"], WholePacketBuffer)
        finally:
            await pc.close()

    asyncio.run(main())
