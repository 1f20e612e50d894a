"""A picture of motion over time (PNG), so a person can see what the face does and why: mouth and
brow channels, blinks, head pose and gaze, with words, emphasis and sentences marked."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from visage.errors import InputError, require
from visage.offline.files import AtomicPath


_CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Droid Sans Fallback")


def read_motion(path: str | os.PathLike) -> dict:
    """Load motion.json or motion.jsonl into one dict of the motion.json shape."""
    path = Path(path)
    if path.suffix != ".jsonl":
        return json.loads(path.read_text(encoding="utf-8"))
    motion: dict = {"frames": [], "phonemes": [], "words": [], "sentences": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            kind = record.pop("kind")
            if kind == "header":
                motion.update(record)
            else:
                motion[kind + "s"].append(record)
    return motion


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(png_path: str | os.PathLike) -> Path:
    """Refuse, before any work, a plot file whose format matplotlib would not write."""
    path = Path(png_path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(f"the plot must be a {', '.join(PLOT_SUFFIXES)} file, got {path.name!r}")
    return path


def plot_motion(motion_path: str | os.PathLike, png_path: str | os.PathLike) -> Path:
    matplotlib = require("matplotlib", "plot", "plot")
    matplotlib.use("Agg")
    import warnings

    import matplotlib.pyplot as plt

    from matplotlib import font_manager

    # Chinese words need a CJK font (Debian: fonts-wqy-microhei); without one they show as boxes
    installed = {f.name for f in font_manager.fontManager.ttflist}
    plt.rcParams["font.family"] = ["DejaVu Sans"] + [f for f in _CJK_FONTS if f in installed]
    warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)

    m = read_motion(motion_path)
    names = m["blendshape_names"]
    t = np.array([f["t"] for f in m["frames"]])
    b = np.array([f["blendshapes"] for f in m["frames"]])

    def ch(*keys: str) -> np.ndarray:
        return np.max([b[:, names.index(k)] for k in keys], axis=0)

    fig, axes = plt.subplots(4, 1, figsize=(14, 10), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2, 1.5]})
    ax = axes[0]
    ax.plot(t, ch("jawOpen"), label="jawOpen", lw=1.6)
    ax.plot(t, ch("mouthPressLeft", "mouthClose"), label="lips closed (press/close)", lw=1.2)
    ax.plot(t, ch("mouthPucker", "mouthFunnel"), label="rounding (pucker/funnel)", lw=1.0)
    ax.plot(t, ch("mouthSmileLeft"), label="smile", lw=1.0)
    ax.plot(t, ch("mouthFrownLeft"), label="frown", lw=1.0)
    for p in m["phonemes"]:
        if p.get("viseme") == "PP":
            ax.axvspan(p["start"], p["end"], color="tab:orange", alpha=0.15, lw=0)
    for w in m["words"]:
        ax.text(w["start"], 1.02, w["text"], fontsize=7, rotation=45,
                color="crimson" if w.get("emphasised") else "0.3", transform=ax.get_xaxis_transform())
    ax.set_ylim(0, 1)
    ax.set_ylabel("mouth")
    ax.legend(loc="upper right", fontsize=7, ncol=5)

    ax = axes[1]
    ax.plot(t, ch("browInnerUp"), label="browInnerUp")
    ax.plot(t, ch("browOuterUpLeft"), label="browOuterUp")
    ax.plot(t, ch("browDownLeft"), label="browDown")
    ax.plot(t, ch("eyeBlinkLeft"), label="blink", color="k", lw=0.8)
    ax.plot(t, ch("cheekSquintLeft"), label="cheekSquint", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("brows, eyes")
    ax.legend(loc="upper right", fontsize=7, ncol=5)

    ax = axes[2]
    for key in ("pitch", "yaw", "roll"):
        ax.plot(t, [f["head"][key] for f in m["frames"]], label=f"head {key}")
    for w in m["words"]:
        if w.get("emphasised"):
            ax.axvline(w["start"], color="crimson", lw=0.6, ls=":")
    ax.set_ylabel("degrees")
    ax.legend(loc="upper right", fontsize=7, ncol=3)

    ax = axes[3]
    ax.plot(t, [f["gaze"]["yaw"] for f in m["frames"]], label="gaze yaw")
    ax.plot(t, [f["gaze"]["pitch"] for f in m["frames"]], label="gaze pitch")
    ax.set_ylabel("gaze (deg)")
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    for s in m["sentences"]:
        for a in axes:
            a.axvline(s["start"], color="0.6", lw=0.8)
        axes[-1].text(s["start"], 0.02, f"{s['emotion']} {s['intensity']:.1f} {s['type']}", fontsize=7,
                      transform=axes[-1].get_xaxis_transform())
    fig.suptitle(f"visage motion, {m['fps']} fps, {len(t)} frames")
    fig.tight_layout()
    out = AtomicPath(check_plot_path(png_path))
    try:
        fig.savefig(out.tmp, dpi=90, format=out.target.suffix[1:].lower())
        return out.commit()
    except BaseException:
        out.abort()
        raise
    finally:
        plt.close(fig)
