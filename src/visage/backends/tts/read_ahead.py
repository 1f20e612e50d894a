"""Speak ahead of the consumer: a voice's stream produced in a thread of its own, a bounded queue between.

`visage say` consumes speech in one loop (motion, render, encode); with the neural voice, whose
synthesis costs about as much CPU as rendering, making the next sentences while the current frames are
drawn puts the two on different cores instead of one after the other. The queue is bounded, so memory
stays flat on long text, and a consumer that stops early stops the producer.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from visage.backends.handoff import END, drain, put

T = TypeVar("T")


def read_ahead(items: Iterable[T], max_items: int = 256) -> Iterator[T]:
    """`items`, produced in a worker thread up to `max_items` ahead; its errors are raised here."""
    sink: queue.Queue = queue.Queue(maxsize=max_items)
    stop = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(sink, item, stop):
                    break
        except BaseException as exc:  # handed to the consumer
            failure.append(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None and stop.is_set():
                close()
            put(sink, END, stop)

    worker = threading.Thread(target=work, name="speak-ahead", daemon=True)  # started at the first read
    worker.start()
    yield from drain(sink, worker, stop, failure)
