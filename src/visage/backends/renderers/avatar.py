"""An avatar: one analysed portrait, ready to render. Made once by `visage avatar create`."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Avatar:
    """A square portrait crop with the face centred, and its face-mesh landmarks.

    `image` is RGB uint8 (side AVATAR_SIDE or less), `landmarks` is (478, 3) float32 in that image's
    pixels (x right, y down, z towards the camera negative, on x's scale, as MediaPipe gives it),
    `info` holds what the analysis found (head pose, face box, colours, warnings) as plain JSON data.
    `files` are extra named payloads a renderer needs besides the portrait (a video avatar's clips and
    index, info["kind"] == "video"); the store keeps them beside the portrait, byte for byte.
    """

    name: str
    image: np.ndarray
    landmarks: np.ndarray
    info: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


AVATAR_SIDE = 1024  # the crop is stored at this size; renderers scale it to their output size
CROP_SCALE = 2.4  # crop side / face height: room for hair, neck and shoulders
FORMAT_VERSION = 1  # of a stored avatar bundle: bump when its layout or meaning changes; newer ones are refused
