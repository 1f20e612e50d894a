"""Photo uploads that become avatars: bounded, typed by their bytes, analysed off the event loop.

A photo comes from anyone who can reach the page, so it is treated as hostile until proven a photo:
the request is refused by its declared length before it is read, and cut off while reading if it lies;
the type is decided from the file's first bytes (magic numbers), never from the name or the declared
content type alone; decoding goes through the analysis's own guards (decompression bombs, damaged
files); and only one analysis runs at a time, in a worker thread, so uploads cannot starve the live
conversations of CPU or block the event loop.
"""
from __future__ import annotations

import asyncio
import os
import re
import tempfile
import threading
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from visage.errors import InputError

MAX_PHOTO_BYTES = 10 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the name field around the photo
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_analysis_lock = threading.Lock()  # one analysis at a time, whichever event loop asks


@dataclass
class UploadRefused(Exception):
    """An upload the server will not take: the HTTP status and a message for the person."""

    status: int
    message: str


def sniff_image(data: bytes) -> str | None:
    """The photo format that `data` starts with (jpeg, png or webp), or None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass
class PhotoUpload:
    data: bytes
    filename: str
    content_type: str | None
    name: str | None  # the avatar name asked for, if any
    replace: bool  # replace an avatar of that name


async def read_photo_form(request: Request) -> PhotoUpload:
    """The photo and its fields from a multipart upload, within the limits."""
    limit = MAX_PHOTO_BYTES + FORM_OVERHEAD
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise UploadRefused(413, _too_big(int(declared)))
    body = bytearray()
    try:
        async for chunk in request.stream():  # a missing or false Content-Length is caught here
            body += chunk
            if len(body) > limit:
                raise UploadRefused(413, _too_big(len(body), at_least=True))
    except ClientDisconnect:  # the client gave up: nothing to answer, nothing to log but a line
        raise UploadRefused(400, "the upload was interrupted") from None

    async def replay():
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=4)
    except Exception as exc:  # starlette reports a malformed body as several exception types
        raise UploadRefused(422, f"send the photo as multipart/form-data with a file field 'photo' ({exc})") from None
    photo = form.get("photo")
    if not isinstance(photo, UploadFile):
        raise UploadRefused(422, "no photo: send the image as a file field named 'photo'")
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise UploadRefused(413, _too_big(len(data), at_least=True))
    if not data:
        raise UploadRefused(422, "the photo is empty")
    name = str(form.get("name") or "").strip() or None
    replace = str(form.get("replace", "")).lower() in ("1", "true", "yes", "on")
    return PhotoUpload(data, photo.filename or "photo", photo.content_type, name, replace)


def check_type(data: bytes, content_type: str | None) -> str:
    """The format of the photo, or UploadRefused(415) naming what is accepted."""
    kind = sniff_image(data)
    if kind is None:
        said = f" (sent as {content_type})" if content_type else ""
        raise UploadRefused(415, f"this file is not a JPEG, PNG or WebP photo{said}; "
                                 "upload a photo of a face in one of those formats")
    return kind


def avatar_name(requested: str | None, filename: str) -> str:
    """The name asked for, or one made from the file name (letters, digits, '-' and '_' only)."""
    if requested:
        return requested
    stem = os.path.splitext(os.path.basename(filename))[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:64] or "photo"


async def create_avatar(store, data: bytes, kind: str, name: str, filename: str, replace: bool) -> dict:
    """Analyse the photo and save it in `store` as `name`; InputError for photos that cannot be used."""
    try:
        store.check_free(name, overwrite=replace)  # before the slow analysis
    except InputError as exc:
        raise UploadRefused(409 if "already exists" in str(exc) else 422, str(exc)) from None
    return await asyncio.to_thread(_analyse_and_save, store, data, kind, name, filename, replace)


def _analyse_and_save(store, data: bytes, kind: str, name: str, filename: str, replace: bool) -> dict:
    from visage.backends.renderers.analysis import analyse_portrait

    with _analysis_lock:
        fd, path = tempfile.mkstemp(suffix=f".{kind}", prefix="visage-upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            avatar, warnings = analyse_portrait(path, name, source=os.path.basename(filename) or "the photo")
        finally:
            os.unlink(path)
        store.save(avatar, overwrite=replace)
    return {"name": avatar.name, "warnings": warnings, "info": avatar.info}


def _too_big(size: int, at_least: bool = False) -> str:
    mb = size / 1024 / 1024
    return (f"the photo is {'over ' if at_least else ''}{mb:.1f} MB; the limit is "
            f"{MAX_PHOTO_BYTES // 1024 // 1024} MB (a 2000x2000 JPEG is about 1 MB)")


