"""Where avatars live between runs: one folder per avatar, made once by `visage avatar create` and read
by every render after it, so a photo is analysed once and not on each start.

    AVATARS/NAME/portrait.png     the square crop (RGB)
    AVATARS/NAME/landmarks.npy    (478, 3) float32 face-mesh landmarks in the crop's pixels
    AVATARS/NAME/avatar.json      {"format", "name", "info", "files"}
    AVATARS/NAME/<file>           each of the avatar's extra files (a video avatar's clips), listed in "files"

AVATARS is $VISAGE_HOME/avatars, else $XDG_DATA_HOME/visage/avatars, else ~/.local/share/visage/avatars.
A bundle is written into a hidden folder beside its place and renamed into it when complete, so a crash
or a failed analysis never leaves a half-written avatar under a real name.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np

from visage.backends.renderers.avatar import AVATAR_SIDE, FORMAT_VERSION, Avatar
from visage.errors import InputError, require

DEFAULT_NAME = "default"  # reserved: the built-in avatar, analysed from skimage's astronaut on first use
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
IMAGE_FILE, LANDMARKS_FILE, INFO_FILE = "portrait.png", "landmarks.npy", "avatar.json"
FILE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}\.[a-z0-9]{1,8}")  # an avatar's extra files: no paths

log = logging.getLogger(__name__)


def avatars_home() -> Path:
    """The folder that holds the avatars when no other is given (see the module docstring)."""
    from visage.core.home import data_home

    return data_home() / "avatars"


def validate_name(name: str, allow_default: bool = False) -> str:
    """`name` if it can name an avatar folder on every system: letters, digits, '-' and '_', 1-64 long."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"invalid avatar name {name!r}: use 1 to 64 letters, digits, '-' or '_' (for example: anna, bob_2)"
        )
    if name == DEFAULT_NAME and not allow_default:
        raise InputError(f"{DEFAULT_NAME!r} is the built-in avatar's name; choose another name")
    return name


class AvatarStore:
    """Saves, loads, lists and deletes avatar bundles under one folder."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else avatars_home()

    def list(self) -> list[str]:
        """Names of the saved avatars, sorted (the built-in default is not listed; it always exists)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir()
            if p.name != DEFAULT_NAME and NAME_PATTERN.fullmatch(p.name) and (p / INFO_FILE).is_file()
        )

    def exists(self, name: str) -> bool:
        """Whether `name` is saved (for "default": whether the built-in one has been analysed yet)."""
        return (self.root / validate_name(name, allow_default=True) / INFO_FILE).is_file()

    def info(self, name: str) -> dict:
        """The analysis record of a saved avatar, read without decoding its image (for listings)."""
        folder = self.root / validate_name(name, allow_default=True)
        if name != DEFAULT_NAME and not (folder / INFO_FILE).is_file():
            raise self._missing(name)
        try:
            record = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
            return dict(record["info"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read the avatar {name!r} in {folder}: {exc}") from None

    def check_free(self, name: str, overwrite: bool = False) -> None:
        """Raise InputError unless `avatar create` may save under `name` (valid, reserved-free, unused)."""
        validate_name(name)
        if (self.root / name).exists() and not overwrite:
            raise InputError(
                f"an avatar named {name!r} already exists; delete it first "
                f"(visage avatar delete {name}) or pass --force to replace it"
            )

    def save(self, avatar: Avatar, overwrite: bool = False) -> Path:
        """Write `avatar` as a bundle and return its folder; an existing one is replaced only if asked."""
        self.check_free(avatar.name, overwrite)
        return self._write(avatar, overwrite)

    def load(self, name: str) -> Avatar:
        """The saved avatar `name` ("default" gives the built-in one)."""
        validate_name(name, allow_default=True)
        if name == DEFAULT_NAME:
            return self.default_avatar()
        folder = self.root / name
        if not (folder / INFO_FILE).is_file():
            raise self._missing(name)
        return self._read(folder)

    def _missing(self, name: str) -> InputError:
        saved = ", ".join(self.list()) or "none yet"
        return InputError(f"no avatar named {name!r} in {self.root} (saved avatars: {saved}); "
                          f"create it with: visage avatar create PHOTO --name {name}")

    def delete(self, name: str) -> None:
        """Remove a saved avatar. It is renamed away first, so it never shows up half deleted."""
        validate_name(name)
        folder = self.root / name
        if not folder.is_dir():
            saved = ", ".join(self.list()) or "none"
            raise InputError(f"no avatar named {name!r} to delete (saved avatars: {saved})")
        trash = self.root / f".{name}.{uuid.uuid4().hex[:8]}.deleted"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def default_avatar(self) -> Avatar:
        """The built-in avatar: scikit-image's public-domain astronaut portrait (NASA, Eileen Collins),
        analysed on first use and kept in the store under "default"; rebuilt if that copy is damaged."""
        folder = self.root / DEFAULT_NAME
        if (folder / INFO_FILE).is_file():
            try:
                return self._read(folder)
            except InputError as exc:
                log.warning("rebuilding the default avatar: %s", exc)
        from visage.backends.renderers.analysis import analyse_portrait

        data = require("skimage.data", "default avatar", "portrait")
        avatar, _ = analyse_portrait(data.astronaut(), DEFAULT_NAME, source="skimage.data.astronaut()")
        try:
            self._write(avatar, overwrite=True)
        except OSError as exc:  # a read-only home still gets an avatar, just not a cached one
            log.warning("could not cache the default avatar in %s: %s", folder, exc)
        return avatar

    default = default_avatar  # the short name, for callers that already hold a store

    def _write(self, avatar: Avatar, overwrite: bool) -> Path:
        image, landmarks = np.asarray(avatar.image), np.asarray(avatar.landmarks, dtype=np.float32)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
            raise InputError(f"an avatar image must be square RGB uint8, got {image.dtype} {image.shape}")
        if landmarks.shape != (478, 3) or not np.isfinite(landmarks).all():
            raise InputError(f"avatar landmarks must be 478 finite (x, y, z) points, got shape {landmarks.shape}")
        final = self.root / avatar.name
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{avatar.name}.", suffix=".part", dir=self.root))
        try:
            pil = require("PIL.Image", "portrait", "portrait")
            with open(tmp / IMAGE_FILE, "wb") as f:
                pil.fromarray(image, "RGB").save(f, format="PNG", compress_level=6)
                _sync(f)
            with open(tmp / LANDMARKS_FILE, "wb") as f:
                np.save(f, landmarks, allow_pickle=False)
                _sync(f)
            for file_name, data in avatar.files.items():
                if not FILE_PATTERN.fullmatch(file_name) or file_name in (IMAGE_FILE, LANDMARKS_FILE, INFO_FILE):
                    raise InputError(f"an avatar file cannot be named {file_name!r}")
                with open(tmp / file_name, "wb") as f:
                    f.write(data)
                    _sync(f)
            record = {"format": FORMAT_VERSION, "name": avatar.name, "info": avatar.info, "files": sorted(avatar.files)}
            with open(tmp / INFO_FILE, "w", encoding="utf-8") as f:
                json.dump(record, f, ensure_ascii=False, indent=1)
                _sync(f)
            _install(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def _read(self, folder: Path) -> Avatar:
        def damaged(why: str) -> InputError:
            return InputError(
                f"the avatar {folder.name!r} in {folder} is damaged ({why}); "
                f"delete it (visage avatar delete {folder.name}) and create it again"
            )

        try:
            record = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
            landmarks = np.load(folder / LANDMARKS_FILE, allow_pickle=False)
            pil = require("PIL.Image", "portrait", "portrait")
            with pil.open(folder / IMAGE_FILE) as im:
                image = np.asarray(im.convert("RGB"))
            names = record.get("files", []) if isinstance(record, dict) else []
            if not isinstance(names, list) or not all(isinstance(n, str) and FILE_PATTERN.fullmatch(n) for n in names):
                raise ValueError(f"{INFO_FILE} lists bad file names")
            files = {n: (folder / n).read_bytes() for n in names}
        except (OSError, ValueError, SyntaxError) as exc:  # SyntaxError: how Pillow reports some bad files
            raise damaged(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(record, dict) or not isinstance(record.get("info"), dict):
            raise damaged(f"{INFO_FILE} is not an avatar description")
        if not isinstance(record.get("format"), int) or record["format"] > FORMAT_VERSION:
            raise InputError(f"the avatar {folder.name!r} was made by a newer visage (format {record.get('format')}); "
                             "upgrade visage or create the avatar again")
        if landmarks.shape != (478, 3) or not np.isfinite(landmarks).all():
            raise damaged(f"{LANDMARKS_FILE} holds {landmarks.shape}, not 478 points")
        if image.shape[0] != image.shape[1] or image.shape[0] > AVATAR_SIDE:
            raise damaged(f"{IMAGE_FILE} is {image.shape[1]}x{image.shape[0]} px, not a square of {AVATAR_SIDE} or less")
        return Avatar(folder.name, image, landmarks.astype(np.float32), record["info"], files)


def default_avatar(root: str | os.PathLike | None = None) -> Avatar:
    """The built-in avatar from the default store (or `root`); see AvatarStore.default_avatar."""
    return AvatarStore(root).default_avatar()


def _sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _install(tmp: Path, final: Path) -> None:
    """Rename the finished bundle into place; an old bundle is moved aside first and restored on failure."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        if old is not None and not final.exists():
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
