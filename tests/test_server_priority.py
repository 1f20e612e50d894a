"""The server raises its scheduling priority where it may, and says so where it may not (server/priority.py)."""
import os
import subprocess
import sys
import textwrap

from visage.server.priority import LIVE_NICENESS


def run_child(code: str, niceness: int = 0) -> str:
    """`code` in a fresh Python process started at `niceness` (a process's priority cannot be given back)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(["nice", "-n", str(niceness), sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def test_raised_to_the_live_level_or_told_why_not():
    out = run_child("""
        import os, threading
        from visage.server.priority import raise_priority
        now, refused = raise_priority()
        seen = []
        t = threading.Thread(target=lambda: seen.append(os.nice(0)))  # threads started later inherit it
        t.start(); t.join()
        print(now, os.nice(0), seen[0], refused)
    """)
    now, here, thread, refused = out.split(" ", 3)
    if os.geteuid() == 0:
        assert (int(now), int(here), int(thread), refused) == (LIVE_NICENESS, LIVE_NICENESS, LIVE_NICENESS, "None")
    else:  # an ordinary user may not lower niceness: unchanged, and the reason is given
        assert int(now) == int(here) == 0 and "CAP_SYS_NICE" in refused


def test_never_lowered_from_a_higher_priority():
    if os.geteuid() != 0:  # only root can start a process below nice 0 to check this
        out = run_child("from visage.server.priority import raise_priority; print(raise_priority(5))")
        assert out == "(0, None)"
        return
    out = run_child("from visage.server.priority import raise_priority; print(raise_priority())", niceness=-12)
    assert out == "(-12, None)"
