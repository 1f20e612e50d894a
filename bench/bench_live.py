"""Live conversation, measured at the client: reply latency, audio-video offset, concurrent sessions.

Run: .venv/bin/python bench/bench_live.py [--turns 12] [--sessions 6] [--size 512] [--fps 25]
     .venv/bin/python bench/bench_live.py --asr pocketsphinx,whisper --no-concurrency   (ears side by side)
     .venv/bin/python bench/bench_live.py --asr pocketsphinx --tts espeak,neural --compare-prepare   (voices, and
     the reply prepared in the end-of-turn silence or not, side by side)

With several --asr, each gets its own server, one after another in the same run, and the latency
part only; for each, the words the server heard (its final "user" events) are scored against the
question played into the microphone (word error rate), and its live subtitles (partial "user"
events) counted.

1. Latency: `visage serve` runs in its own process; headless Chromium opens the page with a WAV file as
   its microphone (the embedded voice asking "Hello, what can you do?", looped by Chromium with
   silence between, so each loop is one turn). The page times, on its audio clock, the end of the
   user's speech and the avatar's first audible sound (static/stats.js); the server's "latency"
   events give its stages. transport = client latency - the server's end-of-speech to first sound
   sent: uplink, the browser's jitter buffer, decoding and playout (split into uplink and downlink
   when the latency events carry the wall-clock times at_speech_end and at_first_sound).
2. A/V offset: the page samples the mouth's brightness in every displayed frame and the voice's level
   at the loudspeaker; the lag that best correlates them, minus the same lag measured on the server's
   own output (frames and audio from the same motion engine, renderer and voice, aligned by
   construction), is the offset the delivery adds. Chrome's estimatedPlayoutTimestamp (video - audio)
   is shown as a second opinion.
3. Concurrency: Python aiortc clients (as many as --sessions) join one by one, each asking questions in
   a loop; for each count, the video frames each client receives per second. A count holds real time
   when every session gets at least 95% of --fps. The clients decode VP8 on the same CPU, so the
   figure is a lower bound for the server alone.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
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

from browser_harness import QUESTION, Chromium, Client, question_wav  # noqa: E402

SERVE = ["-m", "visage.cli.main"]  # how the server process is started (python SERVE serve ...)
MIN_CORRELATION = 0.15  # below this the mouth-voice lag is noise, not a measurement
STAGES = ("silence_detection", "asr", "brain_first_sentence", "first_voice_chunk", "scheduled_playout",
          "mic_backlog", "audio_send_late_max", "prepared_ahead")


def busy_cores(seconds: float = 3.0) -> float:
    """How many cores other work keeps busy now (from /proc/stat): the figures below are only as clean
    as the machine was quiet."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return round((busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1), 2)


def heard_report(stats: dict, question: str) -> dict:
    """What the server heard, from the page's event log: WER of its finals against the question, and
    the partial transcripts (live subtitles) it sent while the user spoke."""
    from visage.backends.asr import word_errors

    users = [e for _, e in stats["events"] if e.get("type") == "user"]
    finals = [e["text"] for e in users if e.get("final")][1:]  # the first may be cut by the start
    errors = sum(word_errors(question, text)[0] for text in finals)
    words = len(finals) * word_errors(question, question)[1]
    return {"finals": len(finals), "wer": errors / max(1, words), "partials_per_turn":
            sum(1 for e in users if not e.get("final")) / max(1, len(finals) + 1), "examples": finals[:3]}


def start_server(home: str, size: int, fps: int, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, VISAGE_HOME=home, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, *SERVE, "serve", "--port", str(port), "--size", str(size),
                             "--fps", str(fps), *extra], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(os.environ["VISAGE_BENCH_SERVER_LOG"], "a") if os.environ.get(
                                "VISAGE_BENCH_SERVER_LOG") else subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(url + "/health").json()["status"] == "ok":
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("visage serve did not start")
        time.sleep(0.3)


# -- 1 and 2: in Chromium ----------------------------------------------------------------------------
def browser_run(url: str, turns: int, workdir: str, drawing: str = "auto") -> dict:
    wav = Path(workdir) / "question.wav"
    question_wav(wav, lead=1.5, tail=7.5)
    with Chromium(wav) as browser:
        browser.driver.get(url + ("" if drawing == "auto" else f"/?drawing={drawing}"))
        browser.wait("document.getElementById('opt-style').options.length > 0", 20, "the settings load")
        browser.driver.find_element("id", "start").click()
        browser.wait("visageStats.video.frames > 10", 30, "the video plays")
        try:
            browser.wait(f"visageStats.turns.filter((t) => t.stages && t.latencyMs !== null).length >= {turns + 1}",
                         turns * 15 + 60, f"{turns} measured turns", poll=1.0)
        except TimeoutError as exc:  # a loaded machine: report the turns measured so far, and say so
            measured = browser.js("return visageStats.turns.filter((t) => t.stages && t.latencyMs !== null).length;")
            if measured < 3:
                raise
            print(f"  only {measured - 1} measured turns in time, reporting those ({exc})", flush=True)
        return browser.js("return {turns: visageStats.turns, series: visageStats.series(), rtc: visageStats.rtc, "
                          "audio: visageStats.audio, video: visageStats.video, errors: visageStats.errors, "
                          "events: visageStats.events, drawing: window.visage.drawing()};")


def latency_report(stats: dict) -> dict:
    turns = [t for t in stats["turns"] if t["latencyMs"] is not None and t["stages"] and not t["overlapped"]]
    turns = turns[1:]  # the first question may be cut by the connection starting mid-sentence
    if not turns:  # every turn overlapped the last reply or lacked its stages: a machine too loaded to measure
        overlapped = sum(1 for t in stats["turns"] if t.get("overlapped"))
        raise RuntimeError(f"no clean turn to measure ({len(stats['turns'])} turns, {overlapped} overlapped the "
                           "reply before): rerun on a quieter machine")
    ms = np.array([t["latencyMs"] for t in turns])
    report = {"turns": len(turns), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
              "min_ms": float(ms.min()), "max_ms": float(ms.max()), "stages_median_ms": {}}
    for stage in (*STAGES, "total_to_first_sound_sent"):
        values = [t["stages"][stage] * 1000 for t in turns if stage in t["stages"]]
        if values:
            report["stages_median_ms"][stage] = statistics.median(values)
    report["prepared_turns"] = sum(1 for t in turns if "prepared_ahead" in t["stages"])  # said as prepared
    transport = [t["latencyMs"] - t["stages"]["total_to_first_sound_sent"] * 1000 for t in turns]
    report["stages_median_ms"]["transport_and_playout"] = statistics.median(transport)
    # the split, on the one clock of this machine, when the server reports when (wall clock, seconds) it
    # heard the end of speech and sent the first sound: uplink + downlink = transport_and_playout
    timed = [t for t in turns if "at_speech_end" in t["stages"] and "at_first_sound" in t["stages"]]
    if timed:
        report["transport_split_median_ms"] = {
            "uplink (speech end -> heard by the server)": statistics.median(
                t["stages"]["at_speech_end"] * 1000 - t["speechEndEpoch"] for t in timed),
            "downlink (first sound sent -> audible)": statistics.median(
                t["firstSoundEpoch"] - t["stages"]["at_first_sound"] * 1000 for t in timed)}
    buffer = np.array([row for row in stats.get("rtc", {}).get("audioBuffer", []) if None not in row], float)
    if len(buffer) > 2:  # the voice's jitter buffer in the browser (part of the downlink), per second
        emitted = np.diff(buffer[:, 2])
        ok = emitted > 0
        delay = np.diff(buffer[:, 1])[ok] / emitted[ok] * 1000
        target = np.diff(buffer[:, 3])[ok] / emitted[ok] * 1000
        report["browser_audio_jitter_buffer_ms"] = {"median": float(np.median(delay)), "p95": float(
            np.percentile(delay, 95)), "target_median": float(np.median(target)) if len(target) else None}
    report["per_turn_ms"] = [round(float(x)) for x in ms]
    return report


def best_lag(times_a, values_a, times_b, values_b, max_ms: float = 300.0) -> tuple[float, float]:
    """The lag (ms) by which series B trails series A when they correlate best, and the correlation.
    A: the voice's level, B: the mouth's darkness; both resampled on a 5 ms grid, the voice smoothed
    over 40 ms (about one video frame). Only stretches of speech count (the voice's level over a second
    above -40 dBFS): between replies both series are flat and would only add noise."""
    lo, hi = max(times_a[0], times_b[0]), min(times_a[-1], times_b[-1])
    grid = np.arange(lo, hi, 5.0)
    a = np.convolve(np.interp(grid, times_a, values_a), np.ones(8) / 8, "same")
    b = np.interp(grid, times_b, values_b)
    speech = np.convolve(a, np.ones(200) / 200, "same") > 0.01
    best = (0.0, -1.0)
    steps = int(max_ms / 5)
    for k in range(-steps, steps + 1):
        x, y, m = (a[: len(a) - k], b[k:], speech[: len(a) - k]) if k >= 0 else (a[-k:], b[: len(b) + k], speech[-k:])
        c = float(np.corrcoef(x[m], y[m])[0, 1])
        if c > best[1]:
            best = (k * 5.0, c)
    return best


def client_lag(series: dict, at_loudspeaker: bool = True) -> tuple[float, float]:
    """The page's lag. The voice's times are when it leaves the loudspeaker (the AudioContext's output
    timestamp: includes the output latency, and the small buffer between the WebRTC track and Web Audio,
    so this side errs late), or with at_loudspeaker=False when Web Audio processed it (errs early)."""
    voice, mouth = np.array(series["voice"]), np.array(series["mouth"])
    return best_lag(voice[:, 0 if at_loudspeaker else 2], voice[:, 1], mouth[:, 0], -mouth[:, 1])


def source_lag(size: int, fps: int) -> tuple[float, float]:
    """The same measurement on the server's own output: the motion engine's frames rendered by the
    portrait renderer against the voice's samples, both on the speech clock (aligned by construction)."""
    from visage.backends.renderers import create_renderer
    from visage.backends.renderers.avatar_store import AvatarStore
    from visage.backends.tts import create_tts
    from visage.backends.tts.narration import narrate, requests_for_text
    from visage.core.audio import resample
    from visage.core.motion.engine import animate
    from visage.core.types import SpeechChunk
    from visage.backends.renderers.mouth import mouth_box

    avatar = AvatarStore().default_avatar()
    box = mouth_box(avatar.landmarks, avatar.image.shape[0])  # the region the page samples
    tts = create_tts("espeak")
    items = list(narrate(tts, requests_for_text(
        "I answer questions from my knowledge base. I can tell you about what visage is, installing visage "
        "or opening hours. What would you like to know?")))
    rate = 48000
    chunks = [i for i in items if isinstance(i, SpeechChunk) and len(i.samples)]
    end = max(c.start + c.duration for c in chunks) + 1.0
    audio = np.zeros(int(end * rate), np.float32)
    for c in chunks:
        x = resample(c.samples, c.sample_rate, rate)
        i = int(round(c.start * rate))
        audio[i: i + len(x)] = x[: len(audio) - i]
    windows = audio[: len(audio) // 256 * 256].reshape(-1, 256)
    voice_t = (np.arange(len(windows)) + 1) * 256 / rate * 1000
    voice = np.sqrt((windows ** 2).mean(axis=1))
    renderer = create_renderer("portrait", avatar=avatar, size=size)
    renderer.load()
    mouth_t, mouth = [], []
    x0, y0, x1, y1 = (round(v * size) for v in box)
    for frame in animate(iter(items), fps=fps):
        image = renderer.render(frame)[y0:y1, x0:x1].astype(np.float32)
        mouth_t.append(frame.t * 1000)
        mouth.append(float((image @ np.array([0.299, 0.587, 0.114])).mean()))
    return best_lag(voice_t, voice, np.array(mouth_t), -np.array(mouth))


def playout_difference(rtc: dict) -> float | None:
    last = rtc.get("last") or {}
    a, v = (last.get("audio") or {}), (last.get("video") or {})
    if a.get("estimatedPlayoutTimestamp") and v.get("estimatedPlayoutTimestamp"):
        return v["estimatedPlayoutTimestamp"] - a["estimatedPlayoutTimestamp"]
    return None


# -- 3: concurrent sessions --------------------------------------------------------------------------
async def concurrency(url: str, most: int, fps: int, window: float = 10.0) -> list[dict]:
    clients: list = []
    rows = []
    try:
        for n in range(1, most + 1):
            client = Client(url)
            answer = await client.connect({})
            if "session" not in answer:
                rows.append({"sessions": n, "error": answer.get("error")})
                break
            clients.append(client)
            client.send({"type": "text", "text": "Tell me about visage, please."})
            await asyncio.sleep(3.0)  # warm up: the new session's renderer and encoder start
            for c in clients:
                c.send({"type": "text", "text": "What can you do?"})
            before = [c.counts["video"] for c in clients]
            await asyncio.sleep(window)
            rates = [(c.counts["video"] - b) / window for c, b in zip(clients, before)]
            health = httpx.get(url + "/health").json()
            rows.append({"sessions": n, "min_fps": round(min(rates), 1), "mean_fps": round(statistics.mean(rates), 1),
                         "real_time": min(rates) >= 0.95 * fps, "load_1m": health["load"]["loadavg_1m"]})
            print(f"  {n} session(s): min {min(rates):.1f} fps, mean {statistics.mean(rates):.1f} fps", flush=True)
            if min(rates) < 0.6 * fps:
                break
    finally:
        for c in clients:
            await c.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=12, help="measured turns in the browser (default 12)")
    parser.add_argument("--sessions", type=int, default=6, help="the most concurrent sessions to try (default 6)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--end-silence", type=float, help="the server's --end-silence (default: its default)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--asr", default="", help="the server's --asr; several, comma-separated, run side by side")
    parser.add_argument("--tts", default="", help="the server's --tts; several, comma-separated, run side by side "
                        "(with each --asr)")
    parser.add_argument("--compare-prepare", action="store_true",
                        help="each server also with --no-prepare-reply, side by side")
    parser.add_argument("--no-concurrency", action="store_true", help="skip part 3")
    parser.add_argument("--drawing", choices=("auto", "browser", "server"), default="auto",
                        help="who draws the face (the page's ?drawing=; auto: the browser where WebGL 2 works)")
    args = parser.parse_args()
    if "," in args.asr or "," in args.tts or args.compare_prepare:
        return compare_ears(args)
    results: dict = {"size": args.size, "fps": args.fps, "cpus": os.cpu_count(), "busy_before": busy_cores(),
                      "end_silence": args.end_silence}
    with tempfile.TemporaryDirectory(prefix="visage-bench-") as work:
        extra = ("--end-silence", str(args.end_silence)) if args.end_silence else ()
        extra += ("--asr", args.asr) if args.asr else ()
        extra += ("--tts", args.tts) if args.tts else ()
        proc, url = start_server(work, args.size, args.fps, extra)
        try:
            print(f"latency: {args.turns} spoken turns in Chromium ...", flush=True)
            stats = browser_run(url, args.turns, work, args.drawing)
            results["drawing"] = stats["drawing"]
            results["latency"] = latency_report(stats)
            results["heard"] = heard_report(stats, QUESTION)
            lag_client, corr_client = client_lag(stats["series"])
            lag_early, _ = client_lag(stats["series"], at_loudspeaker=False)
            lag_source, corr_source = source_lag(args.size, args.fps)
            results["av"] = {"client_lag_ms": lag_client, "client_corr": round(corr_client, 3),
                             "client_lag_web_audio_ms": lag_early, "offset_low_ms": lag_early - lag_source,
                             "source_lag_ms": lag_source, "source_corr": round(corr_source, 3),
                             "offset_ms": lag_client - lag_source, "frame_ms": 1000 / args.fps,
                             "chrome_playout_video_minus_audio_ms": playout_difference(stats["rtc"]),
                             "audio_output_latency_ms": stats["audio"].get("outputLatencyMs")}
            if not args.no_concurrency:
                print("concurrency ...", flush=True)
                results["concurrency"] = asyncio.run(concurrency(url, args.sessions, args.fps))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def compare_ears(args) -> None:
    """Each recogniser in --asr x voice in --tts (x reply preparation on and off, with
    --compare-prepare) behind its own server, back to back: latency and what was heard."""
    rows = {}
    for asr in args.asr.split(",") if args.asr else [""]:
        for tts in args.tts.split(",") if args.tts else [""]:
            for prepare in (True, False) if args.compare_prepare else (True,):
                label = " + ".join([asr or "default ear", tts or "default voice"]
                                   + ([] if prepare else ["not prepared"]))
                extra = (("--asr", asr) if asr else ()) + (("--tts", tts) if tts else ())
                extra += (("--end-silence", str(args.end_silence)) if args.end_silence else ())
                extra += () if prepare else ("--no-prepare-reply",)
                rows[label] = measure_variant(label, extra, args)
    rows = {k: v for k, v in rows.items() if v is not None}
    print(f"\n| ear + voice | reply latency p50 / p95 ms | ASR stage ms | first voice chunk ms | turns said as "
          f"prepared | WER heard | subtitles per turn | heard |\n|---|---|---|---|---|---|---|---|")
    for label, row in rows.items():
        lat, heard = row["latency"], row["heard"]
        stages = lat["stages_median_ms"]
        print(f"| {label} | {lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} | {stages.get('asr', 0):.0f} | "
              f"{stages.get('first_voice_chunk', 0):.0f} | {lat['prepared_turns']} of {lat['turns']} | "
              f"{heard['wer']:.3f} ({heard['finals']} turns) | {heard['partials_per_turn']:.1f} | {heard['examples'][:1]} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def measure_variant(label: str, extra: tuple[str, ...], args) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="visage-bench-") as work:
        proc, url = start_server(work, args.size, args.fps, extra)
        try:
            print(f"{label}: {args.turns} spoken turns in Chromium ...", flush=True)
            stats = browser_run(url, args.turns, work, args.drawing)
            row = {"latency": latency_report(stats), "heard": heard_report(stats, QUESTION)}
            lat = row["latency"]
            print(f"  {label}: p50 {lat['p50_ms']:.0f} ms over {lat['turns']} turns; server stages (median ms): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in lat["stages_median_ms"].items()), flush=True)
            return row
        except (RuntimeError, TimeoutError) as exc:  # one variant failing to measure leaves the others' rows
            print(f"  {label}: not measured: {exc}", flush=True)
            return None
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def print_report(r: dict) -> None:
    lat = r["latency"]
    print(f"(cores busy with other work before the run: {r['busy_before']} of {r['cpus']})")
    print(f"\nreply latency, end of speech -> first sound at the client ({lat['turns']} turns, {r['size']} px, "
          f"face drawn by the {r.get('drawing')}, "
          f"{r['fps']} fps, {r['cpus']} CPUs): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms "
          f"(min {lat['min_ms']:.0f}, max {lat['max_ms']:.0f})")
    print("| stage | median ms |\n|---|---|")
    for stage, ms in {**lat["stages_median_ms"], **lat.get("transport_split_median_ms", {})}.items():
        print(f"| {stage} | {ms:.0f} |")
    if "browser_audio_jitter_buffer_ms" in lat:
        jb = lat["browser_audio_jitter_buffer_ms"]
        print(f"| of the downlink: the browser's audio jitter buffer, median / p95 (target) | {jb['median']:.0f} / "
              f"{jb['p95']:.0f} ({jb['target_median'] or 0:.0f}) |")
    av = r["av"]
    if av["client_corr"] < MIN_CORRELATION:
        print(f"\nA/V offset at the client: not measurable: the mouth and the voice do not correlate (r="
              f"{av['client_corr']}); does the face move while the avatar speaks? Chrome's estimated playout "
              f"video - audio: {av['chrome_playout_video_minus_audio_ms']} ms")
    else:
        print(f"\nA/V offset at the client: {av['offset_ms']:+.0f} ms ({av['offset_low_ms']:+.0f} ms with the voice "
              f"timed where Web Audio gets it; voice after picture if +; one frame is {av['frame_ms']:.0f} ms) "
              f"= client lag {av['client_lag_ms']:+.0f} ms (r={av['client_corr']}) - source lag "
              f"{av['source_lag_ms']:+.0f} ms (r={av['source_corr']}); Chrome's estimated playout video - audio: "
              f"{av['chrome_playout_video_minus_audio_ms']} ms")
    heard = r["heard"]
    print(f"\nheard: WER {heard['wer']:.3f} over {heard['finals']} turns, {heard['partials_per_turn']:.1f} live "
          f"subtitles per turn, e.g. {heard['examples'][:1]}")
    print("\n| sessions | min fps | mean fps | real time | load 1 min |\n|---|---|---|---|---|")
    for row in r.get("concurrency", []):
        if "error" in row:
            print(f"| {row['sessions']} | refused: {row['error']} | | | |")
        else:
            print(f"| {row['sessions']} | {row['min_fps']} | {row['mean_fps']} | {'yes' if row['real_time'] else 'no'} "
                  f"| {row['load_1m']} |")


if __name__ == "__main__":
    main()
