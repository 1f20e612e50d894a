"""Browser connections: one RTCPeerConnection and one LiveSession per page, and the glue between them.

The session makes the avatar's video and voice tracks and takes the browser's microphone track; the
page and the session talk over a data channel named "events" (JSON text messages both ways). When the
page draws the face itself (options.drawing == "browser") there is no video track: the face's motion
frames go down a second channel, "motion" (unordered, no retransmits: a late frame is worth nothing),
and a "clock" event tells the page how the audio track's RTP timestamps map to the frames' times. Each
connection is a `Peer`, and everything a peer holds is released in one idempotent `close()`, whatever
ends it: the page closing (DTLS close or the channel closing), ICE failing, a connection that never
completes, the session failing, or the server shutting down. A peer's failure is caught and logged
inside that peer, so one conversation's crash never reaches another.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from visage.live.events import UserSaid
from visage.live.output import AUDIO_RATE
from visage.live.tracks import AUDIO_PTIME
from visage.server.access import RateLimiter
from visage.server.mic_decoder import decode_on_loop
from visage.server.mic_packets import decode_microphone_at_once

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0  # s from the answer to a working connection; then the page has given up too
IDLE_TIMEOUT = 15 * 60.0  # s without the user saying or typing anything: a forgotten tab renders for no one
CLOSE_TIMEOUT = 5.0  # s a session or a peer connection may take to close before it is abandoned
SAMPLES_PER_PACKET = round(AUDIO_RATE * AUDIO_PTIME)  # one audio frame of the session's track per RTP packet
MAX_MESSAGE = 16_000  # characters in one message from the page (a typed turn is far shorter)


class Peer:
    """One browser connection: the peer connection, its live session, and the tasks that link them."""

    def __init__(self, peers: "Peers", pc: RTCPeerConnection, session, options, client: str = "") -> None:
        self.id = secrets.token_urlsafe(16)  # unguessable, and shown to its page only
        self.secret = secrets.token_urlsafe(16)  # what the page shows to close it
        self.client = client  # the client's address: its messages are rate-limited with its others
        self.last_activity = time.monotonic()
        self.peers, self.pc, self.session, self.options = peers, pc, session, options
        self.created = time.monotonic()
        self.channel = None
        self.motion_channel = None  # browser drawing: where the face's frames go
        self.feed = None
        self.microphone = None
        self.started = False
        self.closed = asyncio.Event()
        self._closing: asyncio.Task | None = None
        self._pending: list[str] = []  # events made before the data channel opened
        self._tasks: set[asyncio.Task] = set()
        pc.on("track", self._on_track)
        pc.on("datachannel", self._on_datachannel)
        pc.on("connectionstatechange", self._on_connection_state)

    # -- lifecycle -----------------------------------------------------------------------------------
    async def answer(self, sdp: str, kind: str) -> RTCSessionDescription:
        """Apply the page's offer, attach the session's tracks, start the session and answer."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        decode_microphone_at_once(self.pc)  # each Opus packet decoded as it arrives (mic_packets.py)
        decode_on_loop(self.pc)  # ... on the loop, with no hand-over to a thread and back (mic_decoder.py)
        if self.session.video is not None:
            self.pc.addTrack(self.session.video)
        self.session.audio.send_encoded()  # Opus made in the track, silence one cached packet: far cheaper
        self.pc.addTrack(self.session.audio)
        await self.session.start()
        self.started = True
        if self.microphone is not None:
            self._spawn(self._add_microphone(self.microphone), "microphone")
        self._spawn(self._pump_events(), "events")
        self._spawn(self._watch_connect(), "connect watchdog")
        if self.session.video is None:  # the page draws: motion frames and the audio clock instead
            self.feed = self.session.motion_feed(self._send_motion)
            self._spawn(self.feed.run(), "motion")
            self._spawn(self._announce_clock(), "audio clock")
        if self.peers.idle_timeout:
            self._spawn(self._watch_idle(self.peers.idle_timeout), "idle watchdog")
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription

    def close(self, reason: str = "closed") -> asyncio.Task:
        """Release everything the peer holds; idempotent, safe from any callback. Returns the task that
        does it, so callers that must wait (shutdown, tests) can."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(reason))
        return self._closing

    async def _close(self, reason: str) -> None:
        log.info("session %s closing: %s", self.id, reason)
        if self.channel is not None and self.channel.readyState == "open":
            self.send({"type": "closed", "reason": reason})  # the page says why, not "connection failed"
            await asyncio.sleep(0.1)  # let it leave before the transport closes
        if self.feed is not None:
            self.feed.stop()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        # the peer connection first: its senders stop pulling frames from the session's tracks
        for what, close in (("peer connection", self.pc.close), ("session", self.session.close)):
            try:
                await asyncio.wait_for(close(), CLOSE_TIMEOUT)
            except Exception as exc:  # a stuck or failing close must not keep the rest alive
                log.warning("session %s: closing the %s failed: %r", self.id, what, exc)
        self.peers.forget(self)
        self.closed.set()

    # -- aiortc callbacks ----------------------------------------------------------------------------
    def _on_track(self, track) -> None:
        if track.kind != "audio":
            return  # the page sends no video; a stray track is simply not read
        self.microphone = track
        if self.started:  # a microphone added by renegotiation after the start
            self._spawn(self._add_microphone(track), "microphone")

    def _on_datachannel(self, channel) -> None:
        if channel.label == "motion" and self.motion_channel is None:
            self.motion_channel = channel  # downstream only: what the page sends on it is not read
            return
        if channel.label != "events" or self.channel is not None:
            return
        self.channel = channel
        channel.on("message", self._on_message)
        channel.on("open", self._flush)
        channel.on("close", lambda: self.close("the page closed the events channel"))
        self._flush()

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        log.info("session %s: connection %s", self.id, state)
        if state == "failed":
            self.close("the connection failed (ICE or DTLS)")
        elif state == "closed":
            self.close("the connection closed")

    # -- page -> session -----------------------------------------------------------------------------
    def _on_message(self, message) -> None:
        try:
            if not isinstance(message, str) or len(message) > MAX_MESSAGE:
                raise ValueError(f"messages are JSON text of at most {MAX_MESSAGE} characters")
            data = json.loads(message)
            if not isinstance(data, dict):
                raise ValueError("a message is a JSON object with a 'type'")
        except ValueError as exc:
            self.send({"type": "error", "message": f"unreadable message: {exc}"})
            return
        kind = data.get("type")
        if kind == "text":
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                self.send({"type": "error", "message": "a text message needs 'text': the words to say"})
            elif len(text) > self.peers.max_text:
                self.send({"type": "error", "message": f"the message is over {self.peers.max_text} characters"})
            elif wait := self.peers.messages.wait(self.client):
                self.send({"type": "error", "message": f"too many messages; try again in {wait:.0f} s",
                           "retry_after": round(wait)})
            else:
                self.last_activity = time.monotonic()
                self._spawn(self.session.say_text(text.strip()), "typed turn")
        elif kind == "stop":
            self._guard(self.session.interrupt, "stop")
        elif kind == "ping":  # the page estimates the clock offset and the round trip from these
            self.send({"type": "pong", "t": data.get("t"), "server_time": time.time()})
        elif kind == "settings":
            self.send({"type": "error", "message": "settings change with a new connection; the page reconnects"})
        else:
            self.send({"type": "error", "message": f"unknown message type {kind!r}"})

    async def _add_microphone(self, track) -> None:
        await self.session.add_microphone(track)

    # -- session -> page -----------------------------------------------------------------------------
    async def _pump_events(self) -> None:
        self.send({"type": "ready", "session": self.id, "server_time": time.time()})
        async for event in self.session.events():
            if isinstance(event, UserSaid):
                self.last_activity = time.monotonic()
            self.send(event.to_message())
        self.close("the session ended")

    def send(self, event: dict) -> None:
        """Send an event to the page as JSON, stamped with the server's clock; kept until the channel opens."""
        event = dict(event)
        event.setdefault("server_time", time.time())
        text = json.dumps(event, ensure_ascii=False, default=_jsonable)
        if self.channel is not None and self.channel.readyState == "open":
            self._flush()
            self.channel.send(text)
        elif self.channel is None or self.channel.readyState == "connecting":
            self._pending.append(text)

    def _send_motion(self, frame: dict) -> None:
        """A face frame to the page: on the motion channel, or the events channel if the page opened none;
        dropped while neither is open (a frame is only worth its moment)."""
        channel = self.motion_channel if self.motion_channel is not None else self.channel
        if channel is not None and channel.readyState == "open":
            channel.send(json.dumps(frame, separators=(",", ":")))

    async def _announce_clock(self) -> None:
        """Once the audio track's first packets are out, tell the page their RTP timestamp origin: the
        audio it plays is at output time (rtpTimestamp - origin) / rate, the clock of the frames' `t`."""
        while True:
            origin = audio_rtp_origin(self.pc, self.session.audio)
            if origin is not None:
                self.send({"type": "clock", "audio_rtp_origin": origin, "audio_rate": AUDIO_RATE,
                           "audio_start": round(self.session.audio.first_index * AUDIO_PTIME, 3),
                           "fps": self.options.fps})
                return
            await asyncio.sleep(0.1)

    def _flush(self) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            pending, self._pending = self._pending, []
            for text in pending:
                self.channel.send(text)

    # -- helpers -------------------------------------------------------------------------------------
    async def _watch_connect(self) -> None:
        limit = self.peers.connect_timeout
        await asyncio.sleep(limit)
        if self.pc.connectionState != "connected":
            self.close(f"no connection within {limit:.0f} s")

    async def _watch_idle(self, limit: float) -> None:
        while True:
            idle = time.monotonic() - self.last_activity
            if idle >= limit:
                self.close(f"nothing was said for {limit / 60:.0f} minutes; press Start to talk again")
                return
            await asyncio.sleep(min(30.0, limit - idle + 0.1))

    def _spawn(self, coroutine, what: str) -> None:
        """Run a coroutine for this peer; its failure becomes an error event, never a server crash."""
        task = asyncio.ensure_future(self._reporting(coroutine, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reporting(self, coroutine, what: str) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("session %s: %s failed", self.id, what)
            self.send({"type": "error", "message": f"{what} failed: {exc}"})
            if what == "events":  # without events the page is blind: end the conversation
                self.close(f"the session failed: {exc!r}")

    def _guard(self, call, what: str) -> None:
        try:
            call()
        except Exception as exc:
            log.exception("session %s: %s failed", self.id, what)
            self.send({"type": "error", "message": f"{what} failed: {exc}"})


class Peers:
    """The open connections of one server, with counts for /health and a limit to protect the CPU."""

    def __init__(self, max_sessions: int = 0, idle_timeout: float = IDLE_TIMEOUT, max_text: int = 2000,
                 messages: RateLimiter | None = None, max_drawn: int = 0) -> None:
        self.max_sessions = max_sessions  # conversations with server video; 0: no limit
        self.max_drawn = max_drawn  # conversations the browser draws (far cheaper); 0: no limit
        self.idle_timeout = idle_timeout  # 0: never
        self.max_text = max_text  # characters of one typed turn
        self.messages = messages or RateLimiter(0)  # typed turns per client address
        self.connect_timeout = CONNECT_TIMEOUT  # an offer never connected is freed after this
        self.active: dict[str, Peer] = {}
        self.opened = 0
        self.failed = 0

    def counts(self) -> tuple[int, int]:
        """(conversations with server video, conversations the browser draws)."""
        drawn = sum(1 for p in self.active.values() if p.options.drawing == "browser")
        return len(self.active) - drawn, drawn

    def full(self, drawing: str = "server") -> bool:
        """Whether a new conversation of this kind would be one too many; each kind has its own limit."""
        video, drawn = self.counts()
        if drawing == "browser":
            return bool(self.max_drawn) and drawn >= self.max_drawn
        return bool(self.max_sessions) and video >= self.max_sessions

    async def connect(self, sdp: str, kind: str, session, options,
                      client: str = "") -> tuple[Peer, RTCSessionDescription]:
        """Answer an offer with a new peer for `session` (no STUN: host candidates only, see ice.py)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        peer = Peer(self, pc, session, options, client)
        self.active[peer.id] = peer
        self.opened += 1
        try:
            answer = await peer.answer(sdp, kind)
        except BaseException:
            self.failed += 1
            with contextlib.suppress(Exception):
                await peer.close("the offer could not be answered")
            raise
        return peer, answer

    def owned(self, session_id: str, secret) -> Peer | None:
        """The peer with this id if `secret` is its own (a page closes its own session only)."""
        peer = self.active.get(session_id)
        if peer is None or not isinstance(secret, str) or not hmac.compare_digest(peer.secret, secret):
            return None
        return peer

    def forget(self, peer: Peer) -> None:
        self.active.pop(peer.id, None)

    async def close_all(self, reason: str = "the server is shutting down") -> None:
        tasks = [peer.close(reason) for peer in list(self.active.values())]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def status(self) -> dict:
        video, drawn = self.counts()
        return {"active": len(self.active), "max": self.max_sessions or None, "video": video,
                "browser_drawn": drawn, "max_browser_drawn": self.max_drawn or None, "opened": self.opened,
                "failed_to_open": self.failed}


def audio_rtp_origin(pc: RTCPeerConnection, track) -> int | None:
    """The RTP timestamp aiortc gives the sample at output time 0 of `track`, once it has sent packets.

    aiortc starts each stream's RTP timestamps at a random origin and keeps it to itself; its sender
    does keep the last packet's timestamp and how many packets it sent. Each packet is one 20 ms frame
    of the track (960 samples at 48 kHz, timestamps contiguous from the first frame, whose output time
    is track.first_index x 20 ms), so origin = last timestamp - 960 x (packets - 1 + first_index).
    Private attributes of aiortc 1.x, like the jitter buffer that mic_packets.py replaces: when they
    are missing this says None and the page times frames by their arrival.
    """
    for sender in pc.getSenders():
        if sender.track is track and track.first_index is not None:
            last = getattr(sender, "_RTCRtpSender__rtp_timestamp", None)
            count = getattr(sender, "_RTCRtpSender__packet_count", 0)
            if isinstance(last, int) and count:
                return (last - SAMPLES_PER_PACKET * (count - 1 + track.first_index)) % 2 ** 32
    return None


def _jsonable(value):
    """json.dumps fallback for the odd numpy scalar or enum in an event."""
    for attr in ("item", "value"):
        if hasattr(value, attr):
            v = getattr(value, attr)
            return v() if callable(v) else v
    return str(value)
