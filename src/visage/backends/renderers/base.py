"""The renderer interface: a face frame in, an image out. The portrait renderer (CPU, one photo) is the
default; neural renderers (Wav2Lip, MuseTalk, LivePortrait) can be added as extras behind the same
two methods."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from visage.core.types import FaceFrame

SIZES = (256, 1024)  # smallest and largest output edge in pixels
DEFAULT_SIZE = 512


class Renderer(ABC):
    """Draws FaceFrames. `render` returns an RGB uint8 image of shape (size, size, 3)."""

    name: str = "renderer"
    size: int = DEFAULT_SIZE

    def load(self) -> None:
        """Prepare models and precomputed data; called once before the first frame."""

    @abstractmethod
    def render(self, frame: FaceFrame) -> np.ndarray:
        """The image for one frame of motion."""
