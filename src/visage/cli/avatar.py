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

EXAMPLES = """\
examples:
  visage avatar create me.jpg --name me          analyse a portrait photo into the avatar "me"
  visage avatar create me.jpg --name me --force  replace "me" with a new photo
  visage avatar list                             the saved avatars (plus the built-in "default")
  visage avatar delete me

A good photo: one person facing the camera, evenly lit, the face (forehead to chin) at least 180 px
tall, with some room around the head. JPEG, PNG, WebP...; phone photos are turned upright from their
EXIF orientation. Avatars are kept in $VISAGE_HOME/avatars, else $XDG_DATA_HOME/visage/avatars, else
~/.local/share/visage/avatars. The built-in "default" avatar is NASA's public-domain astronaut portrait.
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
                    "pose and colours, and save the result as an avatar.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("photo", metavar="PHOTO", help="the portrait photo (JPEG, PNG, WebP...)")
    c.add_argument("--name", default=None,
                   help="the avatar's name: letters, digits, - and _ (default: the photo's file name)")
    c.add_argument("--force", action="store_true", help="replace an avatar of the same name")
    c.set_defaults(run=run_create)

    ls = actions.add_parser("list", help="list the saved avatars", description="List the saved avatars.")
    ls.set_defaults(run=run_list)

    d = actions.add_parser("delete", help="delete a saved avatar", description="Delete the saved avatar NAME.")
    d.add_argument("name", metavar="NAME")
    d.set_defaults(run=run_delete)


def run_create(args: argparse.Namespace) -> int:
    from visage.backends.renderers.analysis import analyse_portrait

    store = AvatarStore()
    name = args.name or _name_from(args.photo)
    store.check_free(name, overwrite=args.force)  # fail before the analysis, not after it
    started = time.perf_counter()
    with _quiet_native_logs(not args.verbose):
        avatar, warnings = analyse_portrait(args.photo, name)
    folder = store.save(avatar, overwrite=args.force)
    info, pose = avatar.info, avatar.info["head_pose"]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"created avatar {name!r} in {folder} ({time.perf_counter() - started:.1f} s): "
          f"{info['size']}x{info['size']} px, face {info['face_height']:.0f} px tall, "
          f"head yaw {pose['yaw']:+.0f} pitch {pose['pitch']:+.0f} roll {pose['roll']:+.0f} deg, "
          f"mouth {'open' if info['mouth_open'] else 'closed'}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = AvatarStore()
    names = store.list()
    print(f"avatars in {store.root}:")
    print(f"  {DEFAULT_NAME:<16} built-in (NASA's astronaut portrait, public domain)")
    for name in names:
        try:
            info = store.info(name)
            source = info.get("source", {}).get("path", "?")
            print(f"  {name:<16} {info.get('size', '?')} px, from {source}, {info.get('created', '')}")
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
