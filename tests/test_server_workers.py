"""`visage serve --workers 2`: a real server process whose conversations live in two worker processes.

Real aiortc clients (drawing_client.py) on loopback: each offer is answered by a worker, a burst of two
lands in two different workers, a page's goodbye closes its session only, and a killed worker is
replaced while the other worker's conversation goes on talking.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from drawing_client import DrawingClient

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / "serve.yaml").write_text("tts: espeak\n")  # the light voice: the test is about processes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "visage.cli.main", "serve", "--port", str(port), "--workers", "2",
                             "--asr", "pocketsphinx", "--config", str(home / "serve.yaml")],
                            env=dict(os.environ, VISAGE_HOME=str(home), PYTHONPATH=str(ROOT / "src")),
                            stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: health(url)["status"] == "ok", 120, "the server and its workers load", proc)
        yield url
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0, "the server did not stop cleanly"


def health(url: str) -> dict:
    try:
        return httpx.get(url + "/health", timeout=5).json()
    except httpx.HTTPError:
        return {"status": "down"}


def wait_for(condition, timeout: float, what: str, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc is None or proc.poll() is None, f"the server exited ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)


async def replies(client: DrawingClient, text: str) -> None:
    """The client types a turn and hears the reply's voice."""
    heard = len(client.audio)
    replied = client.kinds().count("latency")
    client.send({"type": "text", "text": text})
    await client.until(lambda: client.kinds().count("latency") > replied, 30, f"the reply to {text!r}")
    await client.until(lambda: any(rms > 0.01 for _, _, rms in client.audio[heard:]), 10, "the reply's voice")


def test_sessions_live_in_workers_that_are_replaced_when_they_die(server):
    async def run():
        workers = {w["pid"] for w in health(server)["sessions"]["workers"]}
        assert len(workers) == 2, health(server)
        a, b = DrawingClient(server), DrawingClient(server)
        answer_a, answer_b = await asyncio.gather(a.connect({}), b.connect({}))
        assert "session" in answer_a and "session" in answer_b, (answer_a, answer_b)
        # the burst is spread: each session in its own worker, and those are the server's workers
        assert {answer_a["worker"], answer_b["worker"]} == workers
        assert health(server)["sessions"]["browser_drawn"] == 2
        clients = [a, b]
        try:
            await asyncio.gather(replies(a, "Hello there"), replies(b, "What can you do?"))
            # a page's goodbye: the wrong secret closes nothing, the right one its own session only
            close = f"{server}/api/sessions/{answer_a['session']}/close"
            assert httpx.post(close, json={"secret": answer_b["secret"]}).status_code == 404
            assert httpx.post(close, json={"secret": answer_a["secret"]}).json() == {"closed": True}
            await a.until(lambda: "closed" in a.kinds(), 20, "the closed session's page is told")
            wait_for(lambda: health(server)["sessions"]["active"] == 1, 10, "the count drops to one")
            await replies(b, "Are you still there?")
            # a third session goes to the worker that has none; killing that worker ends it alone
            c = DrawingClient(server)
            clients.append(c)
            answer_c = await c.connect({})
            assert answer_c["worker"] == answer_a["worker"] != answer_b["worker"]
            os.kill(answer_c["worker"], signal.SIGKILL)
            wait_for(lambda: health(server)["sessions"]["worker_restarts"] == 1
                     and len(health(server)["sessions"]["workers"]) == 2, 20, "the dead worker is replaced")
            await replies(b, "Tell me more")  # the other worker's conversation did not notice
            pids = {w["pid"] for w in health(server)["sessions"]["workers"]}
            assert answer_b["worker"] in pids and answer_c["worker"] not in pids
            wait_for(lambda: health(server)["status"] == "ok", 60, "the new worker loads")
            d = DrawingClient(server)
            clients.append(d)
            answer_d = await d.connect({})
            assert "session" in answer_d and answer_d["worker"] in pids - {answer_b["worker"]}, answer_d
            await replies(d, "Hello again")
            assert health(server)["sessions"]["active"] == 2  # b and d; c's ended with its worker
        finally:
            await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)

    asyncio.run(run())


def test_health_shows_each_workers_own_event_loop_lag(server):
    """The loops that pace the media are the workers': a worker held still for 1.5 s shows it in /health,
    under its own pid, while the other worker and the front do not. (The stall is long against what a
    busy machine gives a loop: a run beside other work once saw the front's loop lag past 0.5 s.)"""
    def by_pid() -> dict:
        return {w["pid"]: w for w in health(server)["sessions"]["workers"]}

    wait_for(lambda: all("event_loop_lag_ms" in w for w in by_pid().values()), 20, "every worker's health report")
    stalled, other = sorted(by_pid())
    assert by_pid()[stalled]["max_rss_mb"] > 50 and by_pid()[stalled]["process_cpu_s"] > 0, by_pid()
    os.kill(stalled, signal.SIGSTOP)
    time.sleep(1.5)
    os.kill(stalled, signal.SIGCONT)
    wait_for(lambda: (by_pid()[stalled]["event_loop_lag_ms"]["max"] or 0) >= 1400, 10, "the stall is reported")
    workers = by_pid()
    assert workers[other]["event_loop_lag_ms"]["max"] < 1000 < workers[stalled]["event_loop_lag_ms"]["max"], workers
    assert health(server)["load"]["event_loop_lag_ms"]["max"] < 1000, health(server)["load"]
