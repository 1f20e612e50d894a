"""The server's scheduling priority: a live conversation's audio is due every 20 ms.

`visage serve` hears, thinks and speaks in real time; when it shares a machine with other busy work
(a browser, a build, the recogniser of another service), the kernel's fair share hands that work
whole time slices while a reply's first audio waits. Measured with `bench/bench_live.py` on this
2-core machine with its own Chromium beside it (load ~3.5), the reply latency p50 was 968-1133 ms at
the default priority and 695-709 ms one step up. The step is nice -8, the level Chromium itself gives
its display-critical threads (`ThreadType::kDisplayCritical`), and what PipeWire asks rtkit for its
audio: a server's media is no less urgent than the browser's. Only a process allowed to (root, or
CAP_SYS_NICE, or an RLIMIT_NICE that permits it) can raise its priority; otherwise it stays as it is,
said once. Worker processes inherit it.
"""
from __future__ import annotations

import os

LIVE_NICENESS = -8  # Chromium's display-critical threads and PipeWire's audio ask for the same


def raise_priority(niceness: int = LIVE_NICENESS) -> tuple[int, str | None]:
    """Lower this process's niceness to `niceness` unless it is already at or below it. Returns (the
    niceness now, None) or (it, why it could not be raised)."""
    current = os.nice(0)
    if current <= niceness:
        return current, None
    try:
        return os.nice(niceness - current), None
    except PermissionError:
        return current, (f"not allowed to raise the priority to nice {niceness} (needs root or CAP_SYS_NICE); "
                         "replies may come later when the machine is busy")
