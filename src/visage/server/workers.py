"""The front's side of `visage serve --workers N`: N worker processes that hold the conversations.

With N > 1 the front process (this one) keeps the page, avatars, faces, /health, /api/options and the
motion WebSocket, and checks each offer as before (options, SDP, limits); then it hands the offer to
the worker with the fewest sessions (counting the offers it is answering now, so a burst of offers is
spread out), which answers it (worker_process.py). Sessions and their media then live in that worker.
The pool stands where `Peers` stands for one process: `counts()`, `full()` and `status()` add up the
workers' figures, so the limits and /health mean the same with workers as without.

A worker that dies takes its sessions with it (their pages see the connection end) and nothing else:
the front logs it, fails the offers it was answering, and starts a new worker in its place.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os

from visage.errors import InputError, VisageError
from visage.server.worker_process import WorkerConfig, worker_main

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # s a worker may take to close its sessions and exit before it is killed
YOUNG_DEATH_S = 10.0  # a worker that dies sooner after its start is restarted after a growing delay
MAX_RESTART_DELAY_S = 60.0


def resolve_workers(value: str | int) -> int:
    """`--workers`: a count, or "auto": one per CPU core (each conversation host saturates near one core)."""
    if value == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise InputError(f"--workers must be a number or auto, not {value!r}") from None
    if count < 1:
        raise InputError("--workers must be at least 1")
    return count


class Worker:
    """One worker process, its pipe, and what the front knows of it."""

    def __init__(self, process, conn) -> None:
        self.process, self.conn = process, conn
        self.pid = process.pid
        self.loaded = False
        self.load_error: str | None = None
        self.pending = 0  # offers being answered
        self.started = 0.0  # loop time of its start
        self.status: dict = {}
        self.health: dict = {}  # its latest {"event_loop_lag_ms", "process_cpu_s", "max_rss_mb"}
        self.sessions: set[str] = set()
        self.replies: dict[int, asyncio.Future] = {}

    def load(self) -> int:
        return len(self.sessions) + self.pending


class WorkerPool:
    """N worker processes, replaced when they die; `Peers`' counting interface over all of them."""

    def __init__(self, size: int, config: WorkerConfig, max_sessions: int = 0, max_drawn: int = 0) -> None:
        self.size, self.config = size, config
        self.max_sessions, self.max_drawn = max_sessions, max_drawn
        self.workers: list[Worker] = []
        self.restarts = 0
        self.messages = None  # set by create_app as for Peers; the workers count typed turns themselves
        self._ids = itertools.count(1)
        self._stopping = False
        self._quick_deaths = 0  # workers in a row that died within YOUNG_DEATH_S of their start
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> Worker:
        context = multiprocessing.get_context("spawn")  # no fork: this process runs threads and a loop
        conn, child = context.Pipe()
        # not a daemon: a worker starts its own recogniser process; it exits when this pipe closes
        process = context.Process(target=worker_main, args=(child, self.config), name="visage-worker")
        process.start()
        child.close()  # so the worker's death is an end of file here
        worker = Worker(process, conn)
        worker.started = self._loop.time()
        self.workers.append(worker)
        self._loop.add_reader(conn.fileno(), self._on_readable, worker)
        log.info("worker %s started", worker.pid)
        return worker

    def _on_readable(self, worker: Worker) -> None:
        try:
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):
            self._lost(worker)

    def _on_message(self, worker: Worker, message: dict) -> None:
        op = message.get("op")
        if op == "reply":
            future = worker.replies.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif op == "counts":
            worker.status, worker.sessions = message["status"], set(message["sessions"])
        elif op == "health":
            worker.health = {key: value for key, value in message.items() if key != "op"}
        elif op == "loaded":
            worker.loaded = True
        elif op == "load_failed":
            worker.load_error = message.get("error")

    def _lost(self, worker: Worker) -> None:
        """The worker's pipe closed: it exited or was killed. Its sessions are gone; the others go on."""
        with contextlib.suppress(Exception):
            self._loop.remove_reader(worker.conn.fileno())
        with contextlib.suppress(Exception):
            worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)
        for future in worker.replies.values():
            if not future.done():
                future.set_exception(VisageError("the worker answering this conversation ended; try again"))
        worker.process.join(timeout=0.5)
        if self._stopping:
            return
        # a worker that dies young (a broken install, a model that cannot load) is restarted ever later,
        # not in a loop that would take the cores from the other workers' conversations
        young = self._loop.time() - worker.started < YOUNG_DEATH_S
        self._quick_deaths = self._quick_deaths + 1 if young else 0
        delay = min(MAX_RESTART_DELAY_S, 2.0 ** self._quick_deaths) if young else 0.0
        log.warning("worker %s ended (exit code %s) with %d session(s); starting a new one in %.0f s",
                    worker.pid, worker.process.exitcode, len(worker.sessions), delay)
        self.restarts += 1
        self._loop.call_later(delay, self._replace)

    def _replace(self) -> None:
        if not self._stopping:
            self._spawn()

    async def close_all(self, reason: str = "the server is shutting down") -> None:
        """Stop every worker (each closes its sessions first); kill those that take too long."""
        self._stopping = True
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                worker.conn.send({"op": "stop"})
        for worker in list(self.workers):
            await asyncio.to_thread(worker.process.join, STOP_TIMEOUT)
            if worker.process.is_alive():
                log.warning("worker %s did not stop in %.0f s; killed", worker.pid, STOP_TIMEOUT)
                worker.process.kill()
                await asyncio.to_thread(worker.process.join, 5.0)
            self._lost(worker)

    # -- requests --------------------------------------------------------------------------------------
    async def _request(self, worker: Worker, message: dict) -> dict:
        request_id = next(self._ids)
        future = self._loop.create_future()
        worker.replies[request_id] = future
        try:
            worker.conn.send({**message, "id": request_id})
        except (OSError, ValueError):
            worker.replies.pop(request_id, None)
            raise VisageError("the worker for this conversation is not running; try again") from None
        return await future

    async def offer(self, sdp: str, kind: str, options, client: str, layout: dict | None) -> dict | None:
        """The answer of the least busy worker to this (checked) offer, None when its aiortc cannot use the
        SDP (the route's 400); its other errors as the routes raise them."""
        if not self.workers:
            raise VisageError("no worker is running; try again in a few seconds")
        worker = min(self.workers, key=Worker.load)
        worker.pending += 1
        try:
            reply = await self._request(worker, {"op": "offer", "sdp": sdp, "kind": kind, "options": options,
                                                 "client": client, "layout": layout})
        finally:
            worker.pending -= 1
        error = reply.get("error")
        if error == "input":
            raise InputError(reply["message"])
        if error == "bad_offer":
            return None
        if error:
            raise VisageError(reply.get("message", "the worker could not start the conversation"))
        worker.sessions.add(reply["session"])
        return reply

    async def close_session(self, session_id: str, secret) -> bool:
        """Close a page's own session in whichever worker holds it (False: no such session of yours)."""
        worker = next((w for w in self.workers if session_id in w.sessions), None)
        if worker is None or not isinstance(secret, str):
            return False
        return bool((await self._request(worker, {"op": "close", "session": session_id, "secret": secret}))
                    .get("closed"))

    def forget_avatar(self, name: str) -> None:
        """A replaced avatar must not be served from any worker's cache."""
        for worker in self.workers:
            with contextlib.suppress(Exception):
                worker.conn.send({"op": "forget_avatar", "name": name})

    # -- counts (as Peers) -----------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """(conversations with server video, conversations the browser draws), over all workers."""
        video = sum(w.status.get("video", 0) for w in self.workers)
        drawn = sum(w.status.get("browser_drawn", 0) for w in self.workers)
        return video, drawn

    def full(self, drawing: str = "server") -> bool:
        video, drawn = self.counts()
        if drawing == "browser":
            return bool(self.max_drawn) and drawn >= self.max_drawn
        return bool(self.max_sessions) and video >= self.max_sessions

    @property
    def loaded(self) -> bool:
        return bool(self.workers) and all(w.loaded for w in self.workers)

    @property
    def load_error(self) -> str | None:
        return next((w.load_error for w in self.workers if w.load_error), None)

    def status(self) -> dict:
        video, drawn = self.counts()
        total = lambda key: sum(w.status.get(key, 0) for w in self.workers)  # noqa: E731
        return {"active": video + drawn, "max": self.max_sessions or None, "video": video,
                "browser_drawn": drawn, "max_browser_drawn": self.max_drawn or None, "opened": total("opened"),
                "failed_to_open": total("failed_to_open"), "worker_restarts": self.restarts,
                "workers": [{"pid": w.pid, "active": len(w.sessions), "loaded": w.loaded, **w.health}
                            for w in self.workers]}
