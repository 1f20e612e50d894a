"""Files written the safe way: streamed (bounded memory for long speech) and atomic (a file appears
under its name only when complete, so a failure never leaves a half-written output behind).

Outputs are checked before any work (`check_outputs`), so a bad path fails in a second rather than
after minutes of rendering. A temporary part carries its writer's process id in its name: a part left
by a process that died without cleaning up (SIGKILL, power loss) is swept by the next writer of the
same file, and SIGTERM is turned into an exception (`sigterm_as_interrupt`) so that the writers' own
cleanup runs as it does for Ctrl-C.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from visage.core.records import phoneme_record, sentence_record, word_record
from visage.core.types import Phoneme, Sentence, Word
from visage.errors import InputError

PART_SUFFIX = ".part"
_open_parts: set[Path] = set()  # parts created and not yet committed or aborted, in this process
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so every `except BaseException` cleanup runs; a
    subclass of KeyboardInterrupt because that is what a stopped command means to its callers."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process ended by that signal


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within this block SIGTERM (and SIGHUP: the terminal closed) raise Terminated in the main thread
    instead of killing the process,
    so temporary parts are removed as on Ctrl-C (SIGKILL cannot be caught; the sweep handles it).
    The previous handler comes back after; off the main thread (where Python cannot catch signals)
    nothing changes. A server that installs its own handlers (uvicorn) replaces this one meanwhile.
    Parts opened in the block and neither committed nor aborted are removed when an exception leaves it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - the signal module's signature
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once
        raise Terminated(signum)

    # a signal the parent set to be ignored (nohup's SIGHUP) stays ignored
    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS if signal.getsignal(s) == signal.SIG_DFL}
    opened_before = set(_open_parts)
    try:
        yield
    except BaseException:
        # a stop that lands between a part's creation and the code that owns it (say, inside a writer's
        # constructor) would orphan it: remove every part this block opened and nobody finished
        for part in _open_parts - opened_before:
            part.unlink(missing_ok=True)
            _open_parts.discard(part)
        raise
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def remove_open_parts() -> None:
    """Remove every part this process created and nobody committed or aborted: for a worker process
    that ends at once on a stop, without unwinding (an exception raised by a signal handler inside a
    C extension's lazy import can be printed and swallowed there, and the work would go on)."""
    for part in list(_open_parts):
        part.unlink(missing_ok=True)
        _open_parts.discard(part)


def check_output(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output that could not be written or must not be replaced: a folder,
    a device or pipe (renaming over /dev/full as root would turn it into a file), a read-only file,
    or a place whose folder is missing, not a folder, or not writable. Parts of this output left by a
    process that died are swept."""
    target = Path(path)
    if target.name in ("", ".", ".."):
        raise InputError(f"the output {str(path)!r} names a folder, not a file")
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise InputError(f"cannot write {target}: a part of {target.parent} is a file, not a folder") from None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"the output {target} is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"the output {target} exists and is not a regular file (a device, pipe or socket); "
                             "visage writes regular files only")
        if not os.access(target, os.W_OK):
            raise InputError(f"the output {target} is read-only")
    folder = target.parent
    if not folder.exists():
        raise InputError(f"cannot write {target}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {target}: the folder {folder} is not writable")
    sweep_stale_parts(target)
    return target


def check_outputs(paths: Iterable[str | os.PathLike | None],
                  inputs: Iterable[str | os.PathLike | None] = ()) -> list[Path]:
    """`check_output` for each path given (None: an output not asked for), no file named twice, and
    none that is one of the command's `inputs` (a recording would be replaced by its own motion)."""
    checked = [check_output(p) for p in paths if p is not None]
    seen: dict[str, Path] = {}
    for p in checked:
        key = os.path.normcase(os.path.abspath(p))
        if key in seen:
            raise InputError(f"{p} is named as two different outputs; give each output its own file")
        seen[key] = p
    for source in (Path(s) for s in inputs if s is not None):
        for p in checked:
            if p.exists() and source.exists() and os.path.samefile(p, source):
                raise InputError(f"{p} is both an input and an output; write the output to another file")
    return checked


def sweep_stale_parts(target: Path) -> int:
    """Remove the parts of `target` left by processes that no longer run; returns how many."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-[^/]*{re.escape(PART_SUFFIX)}$")
    removed = 0
    try:
        names = os.listdir(target.parent)
    except OSError:
        return 0
    for name in names:
        m = pattern.match(name)
        if m and not _process_alive(int(m.group(1))):
            try:
                (target.parent / name).unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class AtomicPath:
    """A temporary path beside `target` that is renamed onto it on commit and removed on abort."""

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = check_output(target)
        while True:
            # known to the stop handler before it exists: a SIGTERM right after creation cannot orphan it
            tmp = self.target.parent / f".{self.target.name}.{os.getpid()}-{secrets.token_hex(4)}{PART_SUFFIX}"
            _open_parts.add(tmp)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                _open_parts.discard(tmp)
                continue
            except OSError:
                _open_parts.discard(tmp)
                raise
            os.close(fd)
            break
        self.tmp = tmp

    def commit(self) -> Path:
        try:
            st = self.target.lstat()
        except FileNotFoundError:
            st = None
        if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            self.abort()  # appeared since the check: never rename over a folder or a device
            raise InputError(f"the output {self.target} is no longer a regular file; nothing was written")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp made it private; the output is an ordinary file
        os.replace(self.tmp, self.target)
        _open_parts.discard(self.tmp)
        return self.target

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)
        _open_parts.discard(self.tmp)


class SpooledJsonWriter:
    """Writes one JSON object whose lists are filled while data streams: each list is spooled to its
    own temporary file and the object is assembled at commit, so memory stays flat however long."""

    def __init__(self, path: str | os.PathLike, lists: tuple[str, ...]) -> None:
        self.out = AtomicPath(path)
        self._spools = {name: tempfile.TemporaryFile("w+", encoding="utf-8") for name in lists}
        self._counts = dict.fromkeys(lists, 0)

    def append(self, name: str, record: dict) -> None:
        spool = self._spools[name]
        if self._counts[name]:
            spool.write(",\n")
        spool.write(json.dumps(record, ensure_ascii=False))
        self._counts[name] += 1

    def commit(self, header: dict) -> Path:
        with open(self.out.tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(header, ensure_ascii=False)[:-1])
            for name, spool in self._spools.items():
                f.write(f',\n"{name}": [\n')
                spool.seek(0)
                shutil.copyfileobj(spool, f)
                f.write("\n]")
            f.write("}\n")
        self._close_spools()
        return self.out.commit()

    def abort(self) -> None:
        self._close_spools()
        self.out.abort()

    def _close_spools(self) -> None:
        for spool in self._spools.values():
            spool.close()


class TimingsWriter(SpooledJsonWriter):
    """The timings JSON: {"sample_rate", "duration", "phonemes", "words", "sentences"}."""

    def __init__(self, path: str | os.PathLike, sample_rate: int) -> None:
        super().__init__(path, ("phonemes", "words", "sentences"))
        self.sample_rate = sample_rate

    def phoneme(self, p: Phoneme) -> None:
        self.append("phonemes", phoneme_record(p))

    def word(self, w: Word) -> None:
        self.append("words", word_record(w))

    def sentence(self, s: Sentence) -> None:
        self.append("sentences", sentence_record(s))

    def commit(self, duration: float) -> Path:  # type: ignore[override]
        return super().commit({"sample_rate": self.sample_rate, "duration": round(duration, 4)})
