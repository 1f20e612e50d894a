"""The 52 ARKit blendshapes in Unreal Live Link order (animation-facts.md, "Conventions")."""
from __future__ import annotations

import numpy as np

BLENDSHAPE_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
N_BLENDSHAPES = len(BLENDSHAPE_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}

# Which shapes belong to the mouth (speech owns them; emotion is softened there while speaking).
MOUTH = np.array([name.startswith(("jaw", "mouth", "tongue", "cheekPuff")) for name in BLENDSHAPE_NAMES])


def weights(shapes: dict[str, float]) -> np.ndarray:
    """A 52-vector from a {name: weight} dict; names may drop their Left/Right suffix to set both sides."""
    out = np.zeros(N_BLENDSHAPES, np.float32)
    for name, value in shapes.items():
        if name in INDEX:
            out[INDEX[name]] = value
        elif name + "Left" in INDEX:
            out[INDEX[name + "Left"]] = value
            out[INDEX[name + "Right"]] = value
        else:
            raise KeyError(f"unknown ARKit blendshape {name!r}")
    return out
