"""Files written the safe way: streamed (bounded memory for long speech) and atomic (a file appears
under its name only when complete, so a failure never leaves a half-written output behind)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from visage.core.records import phoneme_record, sentence_record, word_record
from visage.core.types import Phoneme, Sentence, Word


class AtomicPath:
    """A temporary path beside `target` that is renamed onto it on commit and removed on abort."""

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".part", dir=self.target.parent)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp made it private; the output is an ordinary file
        os.replace(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


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
