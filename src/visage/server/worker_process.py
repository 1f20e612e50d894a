"""One worker process of `visage serve --workers N`: it holds some of the server's WebRTC conversations.

Why: every conversation's audio pacing, Opus encoding, SCTP and DTLS run in Python on one event loop,
and one Python process saturates near one core (0.97 cores at 10 browser-drawn sessions on the
2-core machine, README) while the machine still has room. A worker is a whole conversation host: its
own event loop, its own `LiveServices` (models loaded once per worker, its own recogniser process),
its own `Peers`. The front process (workers.py) keeps HTTP; it hands each checked offer to a worker
over a pipe, and the worker answers it. The media and the data channels then flow between the
browser and this process directly (aiortc's UDP sockets are opened here).

Messages on the pipe are pickled dicts. Front -> worker: {"op": "offer", "id", "sdp", "kind",
"options" (a checked LiveOptions), "client", "layout"}, {"op": "close", "id", "session", "secret"},
{"op": "forget_avatar", "name"}, {"op": "stop"}. Worker -> front: {"op": "reply", "id", ...},
{"op": "loaded"} or {"op": "load_failed", "error"}, {"op": "counts", ...} whenever its sessions
change, and {"op": "health", ...} every HEALTH_PERIOD s (its event-loop lag, CPU time and memory: the
front's own loop lag says nothing of the loops that pace the media). When the pipe closes (the front died or stopped) the worker closes its sessions and exits.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

HEALTH_PERIOD = 2.0  # s between a worker's health reports to the front (/health shows the latest)


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs from `visage serve`'s settings (pickled to the spawned process)."""

    asr: str = "whisper"
    asr_options: dict = field(default_factory=dict)
    idle_timeout: float = 15 * 60.0
    max_text: int = 2000
    messages_per_minute: int = 0  # typed turns per client address, counted in each worker
    log_level: int = logging.WARNING


def worker_main(conn, config: WorkerConfig) -> None:
    """The spawned process's entry point."""
    logging.basicConfig(level=config.log_level, format=f"%(levelname)s worker {os.getpid()} %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C reaches the whole group: the front stops us
        asyncio.run(WorkerHost(conn, config).serve())


class WorkerHost:
    """The worker's side of the pipe: answers offers and closes with its own Peers and LiveServices."""

    def __init__(self, conn, config: WorkerConfig) -> None:
        from visage.live.services import LiveServices
        from visage.server.access import RateLimiter
        from visage.server.faces import FaceCache
        from visage.server.peers import Peers
        from visage.server.status import LoopLag

        self.conn, self.config = conn, config
        self.loop_lag = LoopLag()
        self.services = LiveServices(asr=config.asr, asr_options=config.asr_options)
        self.peers = Peers(0, config.idle_timeout, config.max_text, RateLimiter(config.messages_per_minute))
        self.peers.forget = self._forget  # each ended session is reported to the front
        self.faces = FaceCache()
        self.done = asyncio.Event()
        self.loading: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()

    async def serve(self) -> None:
        from visage.server.ice import install_loopback_fallback

        install_loopback_fallback()  # the ICE candidates are gathered in this process
        loop = asyncio.get_running_loop()
        loop.add_reader(self.conn.fileno(), self._on_readable)
        self.loading = asyncio.ensure_future(self._load())
        watches = [asyncio.ensure_future(self.loop_lag.run()), asyncio.ensure_future(self._report_health())]
        try:
            await self.done.wait()
        finally:
            for watch in watches:
                watch.cancel()
            loop.remove_reader(self.conn.fileno())
            await self.peers.close_all()
            self.loading.cancel()
            await asyncio.to_thread(self.services.close)

    async def _load(self) -> None:
        try:
            await asyncio.to_thread(self.services.load)
        except Exception as exc:
            log.exception("the worker could not load its models")
            self._send({"op": "load_failed", "error": str(exc)})
            raise
        self._send({"op": "loaded"})

    def _on_readable(self) -> None:
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message.get("op") == "stop":
                    self.done.set()
                    return
                task = asyncio.ensure_future(self._handle(message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (EOFError, OSError):  # the front is gone: nobody can reach these sessions any more
            self.done.set()

    async def _handle(self, message: dict) -> None:
        op = message.get("op")
        if op == "offer":
            reply = await self._offer(message)
        elif op == "close":
            peer = self.peers.owned(message["session"], message["secret"])
            if peer is not None:
                peer.close("the page said goodbye")
            reply = {"closed": peer is not None}
        elif op == "forget_avatar":
            with contextlib.suppress(Exception):
                self.services.forget_avatar(message["name"])
            return
        else:
            reply = {"error": "visage", "message": f"unknown worker request {op!r}"}
        self._send({"op": "reply", "id": message.get("id"), **reply})

    async def _offer(self, message: dict) -> dict:
        from visage.errors import InputError, VisageError
        from visage.server.conversations import _build_session

        options = message["options"]
        try:
            await asyncio.shield(self.loading)
            session = await _build_session(options, self.services)
        except InputError as exc:
            return {"error": "input", "message": str(exc)}
        except VisageError as exc:
            return {"error": "visage", "message": str(exc)}
        except Exception as exc:  # the models could not load
            return {"error": "visage", "message": f"the server could not load its models: {exc}"}
        try:
            peer, answer = await self.peers.connect(message["sdp"], message["kind"], session, options,
                                                    message.get("client", ""))
        except Exception as exc:  # aiortc's word for an SDP it cannot use
            log.info("an offer could not be answered: %r", exc)
            return {"error": "bad_offer"}
        finally:
            self._send_counts()
        if message.get("layout"):
            peer.send({"type": "avatar", **message["layout"]})
        return {"sdp": answer.sdp, "type": answer.type, "session": peer.id, "secret": peer.secret,
                "conversation_id": session.chat.conversation.session_id, "worker_pid": os.getpid()}

    async def _report_health(self) -> None:
        from visage.server.status import process_figures

        while True:
            await asyncio.sleep(HEALTH_PERIOD)
            self._send({"op": "health", "event_loop_lag_ms": self.loop_lag.figures(), **process_figures()})

    def _forget(self, peer) -> None:
        self.peers.active.pop(peer.id, None)
        self._send_counts()

    def _send_counts(self) -> None:
        self._send({"op": "counts", "status": self.peers.status(), "sessions": list(self.peers.active)})

    def _send(self, message: dict) -> None:
        with contextlib.suppress(OSError, ValueError):  # the front is gone: the reader ends the worker
            self.conn.send(message)
