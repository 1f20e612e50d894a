"""Browser drawing at scale: how many live conversations one server holds in real time.

Run: .venv/bin/python bench/bench_live_scale.py [--levels 1,2,5,10,15] [--seconds 40] [--tts espeak]
     [--server-workers 2]

`visage serve` runs in its own process with browser drawing (no rendering, no video encoding). For each
level N, N real WebRTC clients (tests/drawing_client.py: aiortc over real ICE/DTLS/SRTP/SCTP, in --workers
processes; their microphones send Opus encoded once per utterance and they read the voice packet by
packet, so the clients cost a few hundredths of a core each, not a browser) connect on loopback, and
each holds a conversation:
it speaks the question ("Hello, what can you do?", the embedded voice, a WAV into its microphone
track), waits for the reply to end, pauses 1-3 s, and asks again, for --seconds. Measured per level:

- reply latency: from the question's last loud sample leaving the client's microphone to the arrival of
  the reply's first audible packet (p50/p95 over all turns; the page's jitter and playout buffers and
  the loudspeaker, ~40-60 ms in Chromium, are not in it);
- late audio: the share of 20 ms audio packets that arrived more than LATE_MS after their time on the
  output clock, beyond the best arrival of the run, or never (a page would have played silence or a
  concealment);
- motion on time: the share of the frames due (fps x seconds) that arrived no later than the audio of
  their time plus one frame (a page interpolates between frames, so one frame of slack is what it has);
- server CPU: the server process and its descendants (its recogniser process; with --server-workers N
  the N worker processes and their recognisers), in cores; the clients' too. The event-loop lag is the
  front process's (with workers, not the loop that paces the media).

--idle connects the sessions and keeps them silent: what each costs between turns.

A level holds when audio is never late (< 0.5 % of frames), >= 95 % of the motion frames are on time and
the reply p95 is within REPLY_TARGET_MS. The last line is JSON: {"sessions_held": N, "reply_p95_ms": X, ...}.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

LATE_MS = 60.0  # an audio frame this much later than the run's best arrival is late
REPLY_TARGET_MS = 1500.0  # the reply latency target at p95 (README, live: end of speech to first sound)
WARMUP = 3.0  # s after connecting before anything counts (the session's clock catches up at its start)


# -- a worker process: some of the clients -------------------------------------------------------------
async def run_clients(url: str, count: int, seconds: float, seed: int, wav: str) -> list[dict]:
    from drawing_client import DrawingClient

    from visage.core.audio import decode_wav, resample

    samples, rate = decode_wav(Path(wav).read_bytes())
    question = resample(samples, rate, 48000)
    rng = random.Random(seed)
    clients = [DrawingClient(url) for _ in range(count)]
    answers = await asyncio.gather(*(c.connect({}) for c in clients), return_exceptions=True)
    started = time.time()
    ok = [c for c, a in zip(clients, answers) if isinstance(a, dict) and "session" in a]
    refused = [str(a.get("error", a)) if isinstance(a, dict) else repr(a) for a in answers
               if not (isinstance(a, dict) and "session" in a)]
    await asyncio.sleep(WARMUP)
    begin = time.time()
    await asyncio.gather(*(converse(c, question, begin + seconds, rng.uniform(0.0, 4.0)) for c in ok))
    results = [measure(c, begin, time.time()) for c in ok]
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return results + [{"refused": r} for r in refused] + [{"connect_s": round(begin - started - WARMUP, 2)}]


async def converse(client, question: np.ndarray, until: float, delay: float) -> None:
    await asyncio.sleep(delay)
    if os.environ.get("VISAGE_SCALE_IDLE"):  # --idle: connected and silent, the cost between turns
        await asyncio.sleep(max(0.0, until - time.time()))
    while time.time() + len(question) / 48000 + 4.0 < until:
        spoken_at = len(client.events)
        turn = client.speak(question)
        await asyncio.sleep(len(question) / 48000)
        # the reply: its end is the state going back to listening after speaking (or 15 s)
        deadline = time.time() + 15.0
        while time.time() < deadline:
            states = [e.get("state") for _, e in client.events[spoken_at:] if e.get("type") == "state"]
            if "speaking" in states and states[-1] == "listening":
                break
            await asyncio.sleep(0.05)
        client.close_turn(turn)
        await asyncio.sleep(1.0 + random.random() * 2.0)


def measure(client, begin: float, end: float) -> dict:
    audio = client.audio_times()
    offset = audio[:, 0] - audio[:, 1]  # arrival - output time: transport + whatever made it late
    window = (audio[:, 0] >= begin) & (audio[:, 0] <= end)
    best = float(offset[window].min()) if window.any() else 0.0
    late = int(((offset[window] - best) * 1000 > LATE_MS).sum())
    times = audio[window, 1]
    gaps = int(np.round(np.diff(times) / 0.02).clip(1).sum() - max(0, len(times) - 1)) if len(times) > 1 else 0
    frames = np.array(client.frames).reshape(-1, 3)
    t_lo, t_hi = begin - best, end - best  # the output-clock stretch the window covers
    due = int((t_hi - t_lo) * client.fps)
    in_window = frames[(frames[:, 1] >= t_lo) & (frames[:, 1] < t_hi)]
    on_time = int(((in_window[:, 0] - (in_window[:, 1] + best)) <= 1.0 / client.fps).sum())
    turns = [(t["first_sound"] - t["speech_end"]) * 1000 for t in client.turns
             if t.get("speech_end") and t["first_sound"] and begin <= t["speech_end"] <= end]
    return {"audio_frames": int(window.sum()), "late_audio": late + gaps, "motion_due": due,
            "motion_on_time": min(on_time, due), "replies_ms": turns,
            "unanswered": sum(1 for t in client.turns if t.get("speech_end") and not t["first_sound"])}


def worker_main(args) -> None:
    began, cpu = time.monotonic(), time.process_time()
    results = asyncio.run(run_clients(args.url, args.count, args.seconds, args.seed, args.wav))
    print(json.dumps(results + [{"cpu_s": time.process_time() - cpu, "wall_s": time.monotonic() - began}]))


# -- the coordinator -------------------------------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def family(pid: int) -> list[int]:
    """pid and its descendants (the server and its recogniser process)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def run_level(url: str, server_pid: int, n: int, args, wav: str) -> dict:
    workers = max(1, min(args.workers, n))
    counts = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    idle = {"VISAGE_SCALE_IDLE": "1"} if args.idle else {}
    server = family(server_pid)
    cpu0, wall0 = cpu_seconds(server), time.monotonic()
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--url", url, "--count", str(c),
                               "--seconds", str(args.seconds), "--seed", str(1000 * n + i), "--wav", wav],
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT / "src"), **idle))
             for i, c in enumerate(counts)]
    time.sleep(WARMUP + 2.0)
    cpu1, wall1 = cpu_seconds(server), time.monotonic()
    lags = []
    while any(p.poll() is None for p in procs):  # the server's event-loop lag, every 2 s
        with contextlib.suppress(Exception):
            lags.append(httpx.get(url + "/health", timeout=5).json()["load"]["event_loop_lag_ms"]["max"])
        time.sleep(2.0)
    outputs = [p.communicate(timeout=args.seconds + 180)[0] for p in procs]
    cpu2, wall2 = cpu_seconds(server), time.monotonic()
    rows = [r for out in outputs for r in json.loads(out.strip().splitlines()[-1])]
    sessions = [r for r in rows if "audio_frames" in r]
    replies = [ms for r in sessions for ms in r["replies_ms"]]
    frames = sum(r["audio_frames"] for r in sessions)
    due = sum(r["motion_due"] for r in sessions)
    row = {"sessions": n, "connected": len(sessions), "refused": [r["refused"] for r in rows if "refused" in r][:2],
           "turns": len(replies), "unanswered": sum(r["unanswered"] for r in sessions),
           "reply_p50_ms": round(float(np.percentile(replies, 50))) if replies else None,
           "reply_p95_ms": round(float(np.percentile(replies, 95))) if replies else None,
           "late_audio_pct": round(100 * sum(r["late_audio"] for r in sessions) / max(1, frames), 2),
           "motion_on_time_pct": round(100 * sum(r["motion_on_time"] for r in sessions) / max(1, due), 1),
           "server_cores": round((cpu2 - cpu1) / max(1e-6, wall2 - wall1), 2),
           "server_cores_connecting": round((cpu1 - cpu0) / max(1e-6, wall1 - wall0), 2),
           "clients_cores": round(sum(r["cpu_s"] for r in rows if "cpu_s" in r)
                                  / max(1e-6, max(r["wall_s"] for r in rows if "wall_s" in r)), 2),
           "loop_lag_max_ms": max(lags) if lags else None,
           "load_1m": round(os.getloadavg()[0], 2)}
    row["held"] = bool(len(sessions) == n and replies and row["late_audio_pct"] < 0.5
                       and row["motion_on_time_pct"] >= 95.0 and row["reply_p95_ms"] <= REPLY_TARGET_MS
                       and row["unanswered"] <= max(1, len(replies) // 20)) and not args.idle
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,2,5,10,15", help="session counts to try (default 1,2,5,10,15)")
    parser.add_argument("--seconds", type=float, default=40.0, help="measured seconds per level (default 40)")
    parser.add_argument("--workers", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--server-workers", default="1", metavar="N",
                        help="the server's --workers: processes holding the conversations (default 1)")
    parser.add_argument("--tts", default="espeak", help="the server's voice (default espeak; the product "
                                                        "default is auto: the neural voice)")
    parser.add_argument("--asr", default="", help="the server's --asr (default: its default)")
    parser.add_argument("--idle", action="store_true", help="the clients stay silent: what sessions cost "
                                                            "between turns (no level holds: no replies)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--wav", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)
    from bench_live import busy_cores, start_server
    from browser_harness import question_wav

    levels = [int(x) for x in args.levels.split(",")]
    busy = busy_cores()
    rows = []
    with tempfile.TemporaryDirectory(prefix="visage-scale-") as work:
        wav = str(Path(work) / "question.wav")
        question_wav(wav, lead=0.2, tail=0.3)
        config = Path(work) / "voice.yaml"  # `visage serve` takes the voice from its settings file
        config.write_text(f"tts: {args.tts}\n")
        # every client comes from 127.0.0.1: the per-address rates would refuse the later levels' offers
        extra = ("--config", str(config), "--max-drawn-sessions", "0", "--offers-per-minute", "0",
                 "--messages-per-minute", "0", "--workers", args.server_workers)
        extra += ("--asr", args.asr) if args.asr else ()
        proc, url = start_server(work, 512, 25, extra)
        try:
            for n in levels:
                print(f"{n} session(s) ...", flush=True)
                rows.append(run_level(url, proc.pid, n, args, wav))
                print("  " + json.dumps(rows[-1]), flush=True)
                time.sleep(2.0)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\n(cores busy with other work before the run: {busy} of {os.cpu_count()}; voice {args.tts}, "
          f"recogniser {args.asr or 'the server default'}; server workers {args.server_workers})")
    print("| sessions | reply p50 / p95 ms | turns | late audio % | motion on time % | server cores | clients cores "
          "| load 1 min | holds |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sessions']} | {r['reply_p50_ms']} / {r['reply_p95_ms']} | {r['turns']} | {r['late_audio_pct']} | "
              f"{r['motion_on_time_pct']} | {r['server_cores']} | {r['clients_cores']} | {r['load_1m']} | "
              f"{'yes' if r['held'] else 'no'} |")
    held = [r for r in rows if r["held"]]
    best = max(held, key=lambda r: r["sessions"]) if held else None
    if args.json:
        Path(args.json).write_text(json.dumps({"busy_before": busy, "rows": rows}, indent=1))
    print(json.dumps({"sessions_held": best["sessions"] if best else 0,
                      "reply_p95_ms": best["reply_p95_ms"] if best else None, "tts": args.tts,
                      "busy_cores_before": busy, "server_workers": args.server_workers,
                      "levels": {r["sessions"]: r["reply_p95_ms"] for r in rows}}))


if __name__ == "__main__":
    main()
