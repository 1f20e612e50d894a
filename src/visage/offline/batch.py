"""Many videos from one list of jobs: skipped when already made, run here, on local processes or on Ray.

The scheduler knows nothing of voices or portraits: a `JobRunner` (made by the caller, picklable)
renders one job into its files. It is sent to each worker once (a process pool's initializer, or one
`ray.put` shared by every Ray actor), so what it holds, such as the avatars, travels once, and what it
loads there (voices, renderers) is loaded once per worker and reused for each job that worker gets.

A job that fails is reported with its reason and the others go on. Ctrl-C or SIGTERM stops the workers
(they are sent SIGTERM, which their writers turn into cleanup) and sweeps any part a worker left.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from visage.errors import VisageError, require
from visage.offline.batch_record import RECORDS_FOLDER, JobRecord, verified
from visage.offline.files import STOP_SIGNALS, Terminated, remove_open_parts, sweep_stale_parts

WORKER_STOP_SECONDS = 10.0  # how long stopped workers get to remove their parts before they are killed


@dataclass(frozen=True)
class BatchJob:
    """One video to make: its line in the jobs file, its files, its identity and what the runner needs."""

    line: int
    output: str  # the video's name inside the output folder, as the job line gave it
    video: Path
    files: tuple[Path, ...]  # every file the job writes, the video first
    key: str  # job_hash of the line's settings: a changed line renders again
    spec: Any  # the runner's own description of the job (picklable)
    out_dir: Path

    @property
    def record(self) -> Path:
        return JobRecord.path_for(self.out_dir, self.output)


@dataclass(frozen=True)
class JobResult:
    line: int
    output: str
    status: str  # "done", "failed" or "skipped" (already made and verified)
    speech: float = 0.0  # seconds of speech in the video
    wall: float = 0.0
    error: str = ""


class JobRunner(Protocol):
    def render(self, job: BatchJob) -> float:
        """Write the job's files (atomically); return the seconds of speech. Raise on failure."""


@dataclass
class BatchReport:
    results: list[JobResult] = field(default_factory=list)
    wall: float = 0.0
    workers: str = ""

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def speech(self) -> float:
        """Seconds of speech in the videos made by this run (skipped ones not counted)."""
        return sum(r.speech for r in self.results if r.status == "done")

    @property
    def throughput(self) -> float:
        """Seconds of finished speech per wall second."""
        return self.speech / self.wall if self.wall > 0 else 0.0

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)


def execute(runner: JobRunner, job: BatchJob) -> JobResult:
    """Run one job and write its record; any error becomes a failed result (a stop is not an error)."""
    began = time.perf_counter()
    try:
        job.record.unlink(missing_ok=True)  # the files are about to change: the old record vouches for nothing
        speech = runner.render(job)
        JobRecord.of_files(job.key, [p for p in job.files if p.exists()], job.video, speech).write(job.record)
        return JobResult(job.line, job.output, "done", speech, time.perf_counter() - began)
    except Exception as exc:  # noqa: BLE001 - one bad job must not stop the others
        reason = str(exc) if isinstance(exc, VisageError) else f"{type(exc).__name__}: {exc}"
        return JobResult(job.line, job.output, "failed", 0.0, time.perf_counter() - began, reason)


def pending(jobs: Iterable[BatchJob]) -> tuple[list[BatchJob], list[JobResult]]:
    """The jobs still to run, and results for those whose outputs are already made and verified."""
    todo, skipped = [], []
    for job in jobs:
        record = verified(job.record, job.key, job.video)
        if record is None:
            todo.append(job)
        else:
            skipped.append(JobResult(job.line, job.output, "skipped", record.speech))
    return todo, skipped


def run_batch(jobs: Sequence[BatchJob], runner: JobRunner, workers: int = 1, ray: str | None = None,
              on_result: Callable[[JobResult], None] | None = None) -> BatchReport:
    """Run the jobs not yet made: in this process (workers=1), on `workers` local processes, or on Ray
    (`ray` = "local" for a Ray started here, else a cluster's address; `workers` actors, 0: one per CPU)."""
    began = time.perf_counter()
    todo, skipped = pending(jobs)
    report = BatchReport(list(skipped))
    for result in skipped:
        if on_result:
            on_result(result)
    if ray is not None:
        source, report.workers = _on_ray(todo, runner, ray, workers), f"Ray ({ray})"
    elif workers > 1 and len(todo) > 1:
        source, report.workers = _on_processes(todo, runner, workers), f"{min(workers, len(todo))} processes"
    else:
        source, report.workers = (execute(runner, job) for job in todo), "1 process"
    try:
        for result in source:
            report.results.append(result)
            if on_result:
                on_result(result)
    except BaseException:
        if hasattr(source, "close"):
            source.close()  # stops the workers first: their parts are stale only once they are gone
        sweep_parts(todo)
        raise
    report.results.sort(key=lambda r: r.line)
    report.wall = time.perf_counter() - began
    return report


def sweep_parts(jobs: Iterable[BatchJob]) -> None:
    """Remove the parts stopped workers left (their processes are gone, so their parts are stale)."""
    for job in jobs:
        for path in (*job.files, job.record):
            sweep_stale_parts(path)


# --- local processes ---------------------------------------------------------------------------------

_worker_runner: JobRunner | None = None


def _init_worker(runner: JobRunner) -> None:
    global _worker_runner
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent decides
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop_worker)
    _worker_runner = runner


def _stop_worker(signum, frame) -> None:  # noqa: ARG001 - the signal module's signature
    """The parent stops this worker: its parts go, and it ends at once (it takes no other job)."""
    remove_open_parts()
    os._exit(128 + signum)


def _run_in_worker(job: BatchJob) -> JobResult:
    return execute(_worker_runner, job)


def _on_processes(jobs: list[BatchJob], runner: JobRunner, workers: int) -> Iterator[JobResult]:
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(runner,))
    try:
        futures = {pool.submit(_run_in_worker, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool as exc:
                job = futures[future]
                yield JobResult(job.line, job.output, "failed", error=f"its worker process died ({exc})")
    except BaseException:
        _stop_processes(pool)
        raise
    pool.shutdown()


def _stop_processes(pool: ProcessPoolExecutor) -> None:
    processes = list((pool._processes or {}).values())  # noqa: SLF001 - the pool has no public stop
    pool.shutdown(wait=False, cancel_futures=True)  # no job is handed out any more
    for p in processes:
        if p.is_alive():
            p.terminate()  # SIGTERM: the worker's writers remove their parts
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()


# --- Ray ---------------------------------------------------------------------------------------------

class RayWorker:
    """A Ray actor holding one runner (and so its loaded voices and renderers) for every job it gets."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner

    def run(self, job: BatchJob) -> JobResult:
        return execute(self.runner, job)


def _on_ray(jobs: list[BatchJob], runner: JobRunner, address: str, workers: int) -> Iterator[JobResult]:
    ray = require("ray", "batch rendering on Ray", "ray")
    from ray.util import ActorPool

    ours = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    started = not ray.is_initialized()
    if started:
        if address == "local":  # ours alone, for this run: its notes (such as on token auth) are noise
            ray.init(num_cpus=workers or None, include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    stops: list[int] = []
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # Ray's init put its own handlers in place: a stop must run our cleanup instead
        for sig, handler in ours.items():
            if handler is not signal.SIG_IGN and handler is not None:
                signal.signal(sig, _noting(stops, handler))
    actors = []
    try:
        if not jobs:
            return
        count = workers or int(ray.cluster_resources().get("CPU", 1))
        shared = ray.put(runner)  # once: every actor reads the same copy (the avatars with it)
        actor_class = ray.remote(num_cpus=1)(RayWorker)
        actors = [actor_class.remote(shared) for _ in range(max(1, min(count, len(jobs))))]
        yield from ActorPool(actors).map_unordered(lambda actor, job: actor.run.remote(job), jobs)
    except KeyboardInterrupt as exc:
        if stops and not isinstance(exc, Terminated):  # Ray's wait turns any signal into a plain interrupt
            raise Terminated(stops[0]) from None
        raise
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()
        if main_thread:
            for sig, handler in ours.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _noting(stops: list[int], handler):
    """A stop handler that notes the signal, then does what `handler` did (or raises Terminated)."""
    def note(signum, frame):
        stops.append(signum)
        if callable(handler):
            handler(signum, frame)
        raise Terminated(signum)

    return note
