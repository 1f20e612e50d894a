"""`visage avatar`: turn a portrait photo into a saved avatar once (create), see them (list), remove one
(delete). Rendering commands then name the avatar instead of re-analysing a photo on every run."""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from pathlib import Path

from visage.backends.renderers.avatar_store import DEFAULT_NAME, AvatarStore
from visage.backends.tts.auto import check_voice_name
from visage.core.types import PitchStyle
from visage.errors import InputError

EXAMPLES = """\
examples:
  visage avatar create me.jpg --name me          analyse a portrait photo into the avatar "me"
  visage avatar create me.jpg --name me --force  replace "me" with a new photo
  visage avatar create --video me.mp4 --name me  a video avatar from a recording of the person speaking
  visage avatar create me.jpg --name me --voice joe --pitch low   the voice `visage say` speaks it with
  visage avatar list                             the saved avatars (plus the built-in "default")
  visage avatar delete me

A good photo: one person facing the camera, evenly lit, the face (forehead to chin) at least 180 px
tall, with some room around the head. JPEG, PNG, WebP...; phone photos are turned upright from their
EXIF orientation. Avatars are kept in $VISAGE_HOME/avatars, else $XDG_DATA_HOME/visage/avatars, else
~/.local/share/visage/avatars. The built-in "default" avatar is NASA's public-domain astronaut portrait.

A good recording for a video avatar: 10 to 90 s (longer ones are cut) of the person speaking naturally
(any text), facing the camera, the head steady, evenly lit, no cuts; a few calm seconds (mouth closed)
give the idle picture. Any size and frame rate; MP4, MOV, MKV, WebM. The avatar speaks
with the recording's own mouths, so vowels it never shows (a wide "ah", a rounded "oo") are stood in
for by the nearest shape it does show: the report lists them.
"""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "avatar", help="create, list and delete avatars made from portrait photos",
        description="Manage avatars: a portrait photo analysed once (face found, cropped, landmarks measured).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=lambda args: p.print_help() or 0)
    actions = p.add_subparsers(dest="avatar_action", metavar="ACTION")

    c = actions.add_parser(
        "create", help="analyse a portrait photo into a named avatar",
        description="Find the face in PHOTO, crop a square portrait around it, measure its landmarks, head "
                    "pose and colours, and save the result as an avatar. With --video CLIP instead: track the "
                    "face through a recording of the person speaking, index every frame's mouth by its shape, "
                    "keep a calm stretch as the idle picture, and save a video avatar that speaks with those "
                    "recorded mouths.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("photo", metavar="PHOTO", nargs="?", help="the portrait photo (JPEG, PNG, WebP...)")
    c.add_argument("--video", metavar="CLIP", default=None,
                   help="make a video avatar from this recording of the person speaking, instead of a photo")
    c.add_argument("--script", default=None, metavar="TEXT",
                   help="with --video: what the person says in it (a file or the text itself), so the mouths are "
                        "indexed by the sounds heard without recognising them (default: Whisper transcribes it)")
    c.add_argument("--lang", default="en", help="with --video: the language spoken in it (default: en)")
    c.add_argument("--name", default=None,
                   help="the avatar's name: letters, digits, - and _ (default: the photo's or clip's file name)")
    c.add_argument("--force", action="store_true", help="replace an avatar of the same name")
    c.add_argument("--voice", default=None,
                   help="the voice it speaks with (see `visage voices`; default: the default voice, joe-female)")
    c.add_argument("--pitch", default=None, choices=[s.value for s in PitchStyle],
                   help="its pitch register (default: normal)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(run=run_create)

    ls = actions.add_parser("list", help="list the saved avatars", description="List the saved avatars.")
    ls.set_defaults(run=run_list)

    d = actions.add_parser("delete", help="delete a saved avatar", description="Delete the saved avatar NAME.")
    d.add_argument("name", metavar="NAME")
    d.set_defaults(run=run_delete)


def run_create(args: argparse.Namespace) -> int:
    from visage.backends.renderers.analysis import analyse_portrait

    if bool(args.photo) == bool(args.video):
        raise InputError("give either a PHOTO or --video CLIP (one of them)")
    store = AvatarStore()
    name = args.name or _name_from(args.photo or args.video)
    store.check_free(name, overwrite=args.force)  # fail before the analysis, not after it
    if args.voice:
        args.voice = check_voice_name(args.voice.strip().lower())
    if args.video:
        return _create_from_video(args, store, name)
    started = time.perf_counter()
    with _quiet_native_logs(not args.verbose):
        avatar, warnings = analyse_portrait(args.photo, name)
    _with_voice(avatar, args)
    folder = store.save(avatar, overwrite=args.force)
    info, pose = avatar.info, avatar.info["head_pose"]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"created avatar {name!r} in {folder} ({time.perf_counter() - started:.1f} s): "
          f"{info['size']}x{info['size']} px, face {info['face_height']:.0f} px tall, "
          f"head yaw {pose['yaw']:+.0f} pitch {pose['pitch']:+.0f} roll {pose['roll']:+.0f} deg, "
          f"mouth {'open' if info['mouth_open'] else 'closed'}")
    return 0


def _create_from_video(args: argparse.Namespace, store: AvatarStore, name: str) -> int:
    from tqdm import tqdm

    from visage.backends.renderers.video_analysis import analyse_video

    started = time.perf_counter()
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=total, desc=stage, unit="frame", leave=False, disable=args.quiet)
        bars[stage].total = max(total, done)
        bars[stage].n = done
        bars[stage].refresh()

    try:
        with _quiet_native_logs(not args.verbose):
            avatar, warnings = analyse_video(args.video, name, on_progress=progress, script=_script(args.script),
                                             language=args.lang)
    finally:
        for bar in bars.values():
            bar.close()
    _with_voice(avatar, args)
    folder = store.save(avatar, overwrite=args.force)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    info = avatar.info
    cover, base, source = info["coverage"], info["base"], info["source"]
    print(f"created video avatar {name!r} in {folder} ({time.perf_counter() - started:.1f} s): "
          f"{source['seconds']:.1f} s of {source['width']}x{source['height']} video at {source['fps']:g} fps, "
          f"{info['mouths']} mouths indexed, mouth shapes seen: {cover['cells_seen']} of {cover['cells']} "
          f"(opening x width), teeth visible in {cover['teeth_visible_share']:.0%} of frames; idle loop "
          f"{base['seconds']:.1f} s from {base['start']:.1f} s")
    heard = info["phonemes"]
    if heard["source"] != "none":
        how = "from the script" if heard["source"] == "script" else f"recognised: {heard['text'][:80]!r}"
        print(f"sounds heard: {heard['phonemes']} phonemes timed ({how}), {heard['frames_labelled']:.0%} of the "
              "mouths labelled")
    if cover.get("synthesised"):
        print("mouth shapes synthesised from their nearest recorded neighbours: " + "; ".join(cover["synthesised"]))
    return 0


def _script(value: str | None) -> str | None:
    """--script: a file's text, or the text itself."""
    if value is None:
        return None
    path = Path(value)
    text = path.read_text(encoding="utf-8") if len(value) < 4096 and path.is_file() else value
    if not text.strip():
        raise InputError("--script is empty: give what is said in the recording, or leave it out")
    return text


def _with_voice(avatar, args: argparse.Namespace) -> None:
    """The voice and pitch the avatar speaks with, kept in its avatar.json (`info`), read by `say`."""
    if args.voice:
        avatar.info["voice"] = args.voice
    if args.pitch:
        avatar.info["pitch"] = args.pitch


def run_list(args: argparse.Namespace) -> int:
    store = AvatarStore()
    names = store.list()
    print(f"avatars in {store.root}:")
    print(f"  {DEFAULT_NAME:<16} built-in (NASA's astronaut portrait, public domain)")
    for name in names:
        try:
            info = store.info(name)
            source = info.get("source", {}).get("path", "?")
            kind = "video, " if info.get("kind") == "video" else ""
            voice = f", voice {info['voice']}" if info.get("voice") else ""
            voice += f" ({info['pitch']} pitch)" if info.get("pitch") else ""
            print(f"  {name:<16} {kind}{info.get('size', '?')} px, from {source}, {info.get('created', '')}{voice}")
        except Exception as exc:  # one unreadable bundle must not hide the others
            print(f"  {name:<16} unreadable: {exc}")
    if not names:
        print("  (no saved avatars yet: visage avatar create PHOTO --name NAME)")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    AvatarStore().delete(args.name)
    print(f"deleted avatar {args.name!r}")
    return 0


def _name_from(photo: str) -> str:
    """A valid avatar name from the photo's file name: 'My Photo (2).jpg' -> 'My-Photo-2'."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(photo).stem).strip("-")[:64] or "avatar"


@contextlib.contextmanager
def _quiet_native_logs(enabled: bool):
    """MediaPipe's C++ side prints start-up notices straight to the stderr file descriptor; they mean
    nothing to a user, so that descriptor points at /dev/null while the face mesh runs (kept with -v)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
