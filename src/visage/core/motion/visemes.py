"""Phonemes to visemes to mouth shapes.

Visemes are the Meta/Oculus 15 (animation-facts.md: sil PP FF TH DD kk CH SS nn RR aa E I O U). Symbols
are espeak mnemonics (English, Mandarin and the other espeak languages), the one phoneme alphabet
visage uses: aligners translate theirs into it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from visage.core.arkit import weights

VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")
BILABIAL = "PP"

# ARKit targets per viseme at full articulation. Bilabial closure presses the lips with the jaw shut;
# open vowels lower the jaw and lip; rounded ones funnel and pucker (FACS AU22/AU18, animation-facts).
VISEME_SHAPES: dict[str, np.ndarray] = {
    "sil": weights({}),
    "PP": weights({"mouthClose": 0.3, "mouthPress": 0.55, "mouthRollLower": 0.25, "mouthRollUpper": 0.15}),
    "FF": weights({"jawOpen": 0.06, "mouthRollLower": 0.55, "mouthUpperUp": 0.25, "mouthPress": 0.1}),
    "TH": weights({"jawOpen": 0.14, "tongueOut": 0.3, "mouthStretch": 0.1, "mouthLowerDown": 0.1}),
    "DD": weights({"jawOpen": 0.18, "mouthStretch": 0.15, "mouthLowerDown": 0.12, "mouthShrugUpper": 0.05}),
    "kk": weights({"jawOpen": 0.24, "mouthStretch": 0.12, "mouthLowerDown": 0.1}),
    "CH": weights({"jawOpen": 0.14, "mouthFunnel": 0.45, "mouthPucker": 0.2, "mouthUpperUp": 0.15,
                   "mouthLowerDown": 0.15}),
    "SS": weights({"jawOpen": 0.07, "mouthStretch": 0.35, "mouthSmile": 0.1, "mouthUpperUp": 0.12,
                   "mouthLowerDown": 0.12}),
    "nn": weights({"jawOpen": 0.16, "mouthStretch": 0.1, "mouthLowerDown": 0.08}),
    "RR": weights({"jawOpen": 0.15, "mouthFunnel": 0.35, "mouthPucker": 0.3}),
    "aa": weights({"jawOpen": 0.62, "mouthLowerDown": 0.3, "mouthUpperUp": 0.08, "mouthStretch": 0.08}),
    "E": weights({"jawOpen": 0.38, "mouthStretch": 0.32, "mouthLowerDown": 0.22, "mouthSmile": 0.08}),
    "I": weights({"jawOpen": 0.2, "mouthStretch": 0.45, "mouthSmile": 0.22, "mouthUpperUp": 0.1}),
    "O": weights({"jawOpen": 0.45, "mouthFunnel": 0.6, "mouthPucker": 0.2, "mouthLowerDown": 0.1}),
    "U": weights({"jawOpen": 0.16, "mouthPucker": 0.75, "mouthFunnel": 0.35}),
}

# espeak mnemonics whose first letter would mislead the rules below (English and Mandarin voices).
_ESPEAK_EXACT = {
    "T": "TH", "D": "TH", "S": "CH", "Z": "CH", "tS": "CH", "dZ": "CH", "N": "kk", "x": "kk", "X": "kk",
    "h": "kk", "j": "I", "w": "U", "r": "RR", "R": "RR", "r-": "RR", "l": "nn", "L": "nn", "n": "nn",
    "V": "aa", "@": "E", "3": "E", "3:": "E", "@L": "nn", "a#": "E", "0": "O", "A": "aa", "A:": "aa",
    "aI": "aa", "aU": "aa", "Au": "aa", "aI@": "aa", "aU@": "aa", "oU": "O", "OI": "O", "O": "O", "O:": "O",
    "o@": "O", "u": "U", "u:": "U", "U": "U", "U@": "U", "y": "U", "yE": "U", "eI": "E", "e@": "E", "i@": "I",
    "iE": "I", "i.": "RR", "i[": "SS", "ts": "SS", "tsh": "SS", "ts.": "CH", "ts.h": "CH", "s.": "CH",
    "r.": "RR", "tS;": "CH", "tS;h": "CH", "S;": "CH", "ph": "PP", "th": "DD", "kh": "kk", "?": "sil",
}
_FIRST_LETTER = {
    **dict.fromkeys("pbm", "PP"), **dict.fromkeys("fv", "FF"), **dict.fromkeys("tdn", "DD"),
    **dict.fromkeys("sz", "SS"), **dict.fromkeys("kgqcCGN", "kk"), "a": "aa", "e": "E", "E": "E", "i": "I",
    "I": "I", "o": "O", "u": "U", "U": "U", "y": "U", "w": "U", "j": "I", "l": "nn", "r": "RR",
}


@lru_cache(maxsize=4096)
def viseme_of(symbol: str) -> str:
    """The viseme for an espeak phoneme mnemonic; pauses and unknown symbols are silence."""
    if not symbol or symbol.startswith("_"):
        return "sil"
    if symbol in _ESPEAK_EXACT:
        return _ESPEAK_EXACT[symbol]
    bare = symbol.rstrip(":;.#[0123456789")
    if bare in _ESPEAK_EXACT:
        return _ESPEAK_EXACT[bare]
    return _FIRST_LETTER.get(bare[:1], "sil") if bare else "sil"
