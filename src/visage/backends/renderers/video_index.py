"""The mouth index of a video avatar: each recorded mouth's shape, and the choice of one per output frame.

A mouth shape is four numbers measured on the face mesh, in units of the eye-corner distance (steady
while the jaw moves): the inner-lip gap (opening), the outer corners' distance (width), the lips' own
height outside the gap (thin when pressed or rolled in: closure), and the share of bright pixels inside
the inner lips (teeth). Shapes are compared after scaling each by the recording's own range, so a
person who speaks with small movements still uses their widest recorded mouth for the widest wanted one.

The motion engine speaks ARKit blendshapes; `wanted_shape` maps them into that same space. `MouthPath`
then picks, frame by frame, the recorded mouth that fits the wanted shape and the previous pick: staying
on the recording's own next frame is free, a jump costs a little plus the shape change it makes, so the
mouth moves like the recording and does not flicker between look-alike frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.core.arkit import INDEX

FEATURES = ("open", "width", "lips", "teeth")
WEIGHTS = np.array([1.0, 0.6, 0.35, 0.0], np.float32)  # teeth follow from the others; reported, not matched
# where nothing recorded is close, the mouth is reshaped (video_synth.py): width is easy to reshape,
# an opening is not (its teeth and tongue would be stretched), so the source is chosen by opening
SYNTH_WEIGHTS = np.array([1.0, 0.1, 0.35, 0.0], np.float32)
RANGE_PERCENTILES = (3, 97)
JAW_FULL = 0.6  # the engine's jawOpen in loud open vowels (espeak speech: 95th percentile ~0.5, peaks ~0.63)
JUMP_COST = 0.004  # cost of leaving the recording's own sequence, in squared normalised-shape units
SHAPE_CHANGE_COST = 0.5  # times the squared shape change a jump makes
TURN_COST = 1.0  # times the squared difference in head turn (eye distances) between a mouth and the base
VISEME_COST = 0.006  # a recorded mouth heard saying another kind of sound costs about a 0.08 shape distance
CLOSE_MATCH = 0.12  # a pick within this normalised-shape distance of the wanted shape counts as a match
COVERAGE_BINS = 4

# MediaPipe landmark ids: inner lip pairs (upper, lower), corners, outer lip midpoints, eye corners.
INNER_PAIRS = ((82, 87), (13, 14), (312, 317))
OUTER_CORNERS = (61, 291)
OUTER_MID = (0, 17)
EYE_OUTER = (33, 263)
LIPS_INNER_RING = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)


def mouth_geometry(landmarks: np.ndarray) -> np.ndarray:
    """(N, 3) opening, width and lip height of (N, 478, 2+) landmarks, in eye-corner distances."""
    p = np.asarray(landmarks, np.float32)[..., :2]
    eyes = np.linalg.norm(p[:, EYE_OUTER[0]] - p[:, EYE_OUTER[1]], axis=-1)
    gap = np.mean([np.linalg.norm(p[:, a] - p[:, b], axis=-1) for a, b in INNER_PAIRS], axis=0)
    width = np.linalg.norm(p[:, OUTER_CORNERS[0]] - p[:, OUTER_CORNERS[1]], axis=-1)
    outer = np.linalg.norm(p[:, OUTER_MID[0]] - p[:, OUTER_MID[1]], axis=-1)
    return np.stack([gap, width, np.maximum(outer - gap, 0)], axis=1) / eyes[:, None]


@dataclass(frozen=True)
class ShapeSpace:
    """The recording's range of each feature, and its mouth at rest, to normalise shapes into [0, 1]."""

    low: np.ndarray
    high: np.ndarray
    rest: np.ndarray  # normalised shape of the closed, relaxed mouth

    @classmethod
    def of(cls, raw: np.ndarray) -> "ShapeSpace":
        low, high = np.percentile(raw, RANGE_PERCENTILES, axis=0).astype(np.float32)
        high = np.maximum(high, low + 1e-3)
        norm = np.clip((raw - low) / (high - low), 0, 1)
        closed = norm[:, 0] <= np.percentile(norm[:, 0], 25)
        return cls(low, high, np.median(norm[closed], axis=0).astype(np.float32))

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(raw, np.float32) - self.low) / (self.high - self.low), 0, 1)

    def to_json(self) -> dict:
        return {"low": self.low.tolist(), "high": self.high.tolist(), "rest": self.rest.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> "ShapeSpace":
        return cls(*(np.array(data[k], np.float32) for k in ("low", "high", "rest")))


def wanted_shape(blendshapes: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """The normalised mouth shape a frame of ARKit weights asks for, around this person's rest shape."""
    b = np.asarray(blendshapes, np.float32)

    def both(name: str) -> float:
        return 0.5 * float(b[INDEX[name + "Left"]] + b[INDEX[name + "Right"]])

    lips_apart = max(0.0, float(b[INDEX["jawOpen"]]) - float(b[INDEX["mouthClose"]]))
    opening = lips_apart / JAW_FULL + 0.4 * (both("mouthLowerDown") + both("mouthUpperUp"))
    rounding = max(float(b[INDEX["mouthFunnel"]]), float(b[INDEX["mouthPucker"]]))
    spread = both("mouthSmile") + both("mouthStretch")
    rolled = 0.5 * float(b[INDEX["mouthRollLower"]] + b[INDEX["mouthRollUpper"]]) + 0.5 * both("mouthPress")
    shape = np.array([
        rest[0] + opening,
        rest[1] + 0.9 * spread - 1.2 * rounding - 0.15 * opening,
        rest[2] - 1.2 * rolled + 0.3 * rounding,
        0.0,
    ], np.float32)
    return np.clip(shape, 0, 1)


def shape_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Weighted distance between normalised shapes (broadcasting over leading axes)."""
    return np.sqrt(np.sum(WEIGHTS * (np.asarray(a) - np.asarray(b)) ** 2, axis=-1))


class MouthPath:
    """Picks a recorded mouth per output frame: the best fit to the wanted shape, kept smooth in time."""

    def __init__(self, shapes: np.ndarray, next_of: np.ndarray, turns: np.ndarray | None = None,
                 groups: np.ndarray | None = None) -> None:
        """`shapes` (N, 4) normalised; `next_of[i]` is the index recorded right after mouth i (or -1);
        `turns` (N,) the head's sideways turn when mouth i was recorded: a mouth seen from the side looks
        wrong on a frontal face, so mouths recorded in the base frame's own pose are preferred.
        `groups` (N,) the viseme group heard when mouth i was recorded (video_phonemes; -1 unknown):
        a mouth saying the same kind of sound is preferred."""
        self.shapes = np.asarray(shapes, np.float32)
        self.next_of = np.asarray(next_of, int)
        self.turns = np.zeros(len(self.shapes), np.float32) if turns is None else np.asarray(turns, np.float32)
        groups = np.full(len(self.shapes), -1) if groups is None else np.asarray(groups, int)
        self.groups = groups if (groups >= 0).any() else None
        self.previous: int | None = None
        self._before: int | None = None

    def reset(self) -> None:
        self.previous = self._before = None

    def choose_again(self, wanted: np.ndarray, turn: float, group: int, weights: np.ndarray) -> int:
        """The last choice made again with other feature weights (the same smoothness)."""
        self.previous = self._before
        return self.choose(wanted, turn, group, weights)

    def choose(self, wanted: np.ndarray, turn: float = 0.0, group: int = -1, weights: np.ndarray = WEIGHTS) -> int:
        """The mouth to show for the wanted shape, on a base frame whose head is turned by `turn`, for
        the viseme group `group` (-1: not known); `weights` of the shape features in the fit."""
        self._before = self.previous
        fit = np.sum(weights * (self.shapes - wanted) ** 2, axis=1) + TURN_COST * (self.turns - turn) ** 2
        if self.groups is not None and group >= 0:
            fit += np.where(self.groups == group, 0.0, np.where(self.groups < 0, 0.5, 1.0)) * VISEME_COST
        if self.previous is None:
            pick = int(np.argmin(fit))
        else:
            prev = self.previous
            change = np.sum(WEIGHTS * (self.shapes - self.shapes[prev]) ** 2, axis=1)
            cost = fit + JUMP_COST + SHAPE_CHANGE_COST * change
            following = self.next_of[prev]
            if following >= 0:
                cost[following] = fit[following]  # the recording's own next frame: no jump
            cost[prev] = fit[prev] + 0.5 * JUMP_COST  # holding a frame is cheaper than jumping, dearer than playing on
            pick = int(np.argmin(cost))
        self.previous = pick
        return pick


def coverage(shapes: np.ndarray) -> dict:
    """Which mouth shapes the recording shows: opening x width on a COVERAGE_BINS grid, seen or not.

    Cells a speaking mouth needs (any opening at middle widths, narrow-and-open for rounded vowels,
    wide-and-closed for smiles) that are empty are listed, with the seen cell they are synthesised from:
    frames asking for them get the nearest recorded mouth, reshaped by the renderer.
    """
    bins = COVERAGE_BINS
    cells = np.minimum((shapes[:, :2] * bins).astype(int), bins - 1)
    seen = np.zeros((bins, bins), int)
    for o, w in cells:
        seen[o, w] += 1
    names = {"open": ("closed", "slightly open", "open", "wide open"),
             "width": ("rounded", "narrow", "relaxed", "spread")}
    def name(o: int, w: int) -> str:
        return f"{names['open'][o]} and {names['width'][w]}"

    needed = [(o, w) for o in range(bins) for w in range(bins)
              if seen[o, w] == 0 and (w in (1, 2) or (o >= 1 and w == 0) or (o == 0 and w == 3))]
    have = np.argwhere(seen > 0)
    synthesised = []
    for o, w in needed:  # from the nearest seen cell: its opening and width reshaped (video_synth.py)
        # the same opening first: a recorded opening with its own teeth and tongue reshapes better in width
        no, nw = have[np.argmin(3 * np.abs(have[:, 0] - o) + np.abs(have[:, 1] - w))] if len(have) else (o, w)
        how = [verb for verb, d in (("opened", o - no), ("closed", no - o), ("widened", w - nw), ("narrowed", nw - w))
               if d > 0]
        synthesised.append(f"{name(o, w)}: {name(no, nw)} {' and '.join(how)}")
    teeth = float(np.mean(shapes[:, 3] > 0.3))
    return {"grid_open_by_width": seen.tolist(), "cells_seen": int((seen > 0).sum()), "cells": bins * bins,
            "missing": [name(o, w) for o, w in needed], "synthesised": synthesised,
            "teeth_visible_share": round(teeth, 3)}
