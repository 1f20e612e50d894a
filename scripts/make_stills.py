"""The README's strip of stills: the default avatar in each emotion, and mid-speech (docs/stills.png).

Run: .venv/bin/python scripts/make_stills.py
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import numpy as np  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import narrate, requests_for_text  # noqa: E402
from visage.core.motion.engine import animate  # noqa: E402
from visage.core.types import Emotion  # noqa: E402
from visage.errors import require  # noqa: E402

SIZE = 256


def still(renderer, tts, emotion: Emotion, text: str, at: float) -> np.ndarray:
    frames = list(animate(narrate(tts, requests_for_text(text, emotion=emotion, intensity=0.9))))
    return renderer.render(min(frames, key=lambda f: abs(f.t - at)))


def main() -> None:
    cv2 = require("cv2", "stills", "portrait")
    tts = create_tts("espeak")
    renderer = create_renderer("portrait", size=SIZE)
    shots = [(e, "Mm.", 0.75, e.value) for e in Emotion]  # the face settled after a short word
    shots += [(Emotion.NEUTRAL, "Wow, look at that!", 0.25, "speaking: 'wow'"),
              (Emotion.NEUTRAL, "Bob, please.", 0.05, "speaking: 'b'")]
    tiles = []
    for emotion, text, at, label in shots:
        tile = np.ascontiguousarray(still(renderer, tts, emotion, text, at))
        cv2.rectangle(tile, (0, SIZE - 26), (SIZE, SIZE), (0, 0, 0), -1)
        cv2.putText(tile, label, (8, SIZE - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    rows = [np.concatenate(tiles[i : i + 3], axis=1) for i in range(0, len(tiles), 3)]
    strip = np.concatenate(rows, axis=0)
    out = os.path.join(os.path.dirname(__file__), "..", "docs", "stills.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cv2.imwrite(out, cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    print(f"wrote {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
