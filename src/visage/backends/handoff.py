"""A producer thread handing items to a consumer generator through a bounded queue.

Why one place: the espeak engine (its callback runs in libespeak-ng's synthesis thread) and the read-ahead
of `visage say` (a voice's stream made on a core of its own) both need the same three guarantees: memory
stays flat (the queue is bounded, the producer waits), a consumer that stops early stops the producer
(it gives up waiting once `stop` is set), and the producer's error reaches the consumer, raised where
it reads. Getting the end marker, the back-pressure and the join right once is simpler than twice.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

END = object()  # the producer is done (put last, always, by the producer thread)


def put(sink: queue.Queue, item, stop: threading.Event) -> bool:
    """Put with back-pressure; False, without putting, once the consumer has gone (`stop` is set)."""
    while not stop.is_set():
        try:
            sink.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def drain(sink: queue.Queue, worker: threading.Thread, stop: threading.Event,
          failure: list[BaseException]) -> Iterator:
    """The items the started `worker` puts in `sink` up to END, then its error (the first in
    `failure`) raised here; when the consumer stops, early or not, `stop` is set and the worker joined."""
    try:
        while True:
            item = sink.get()
            if item is END:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        worker.join(timeout=5)
