"""Where visage keeps the user's data (avatars, sessions, assembled models): one folder, found once.

$VISAGE_HOME if set, else $XDG_DATA_HOME/visage, else ~/.local/share/visage (the XDG default).
"""
from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    if os.environ.get("VISAGE_HOME"):
        return Path(os.environ["VISAGE_HOME"]).expanduser()
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "visage"
    return Path.home() / ".local" / "share" / "visage"
