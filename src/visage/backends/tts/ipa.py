"""IPA (as Piper voices speak it) to espeak mnemonics, the one phoneme alphabet visage uses.

Piper phonemizes with espeak-ng in IPA mode and reports its alignments per Unicode code point, with
stress (ˈ ˌ) and length (ː) as entries of their own. The lips, subtitles and emphasis read espeak's
mnemonics (visage.core.motion.visemes), so code points are grouped back into phones (longest match
first: "aɪ" is one diphthong, "tʃ" one affricate) and each phone renamed to the mnemonic espeak's
own en-us voice uses for it (espeak-ng's phsource/ph_english_us, the same engine that wrote the IPA).
"""
from __future__ import annotations

import unicodedata

# IPA sequence -> espeak mnemonic (English first; the single symbols cover other espeak languages'
# common phones, so a Piper voice of another language still yields sensible visemes).
IPA_TO_ESPEAK: dict[str, str] = {
    # diphthongs and affricates (two code points, one phone)
    "aɪ": "aI", "aʊ": "aU", "eɪ": "eI", "oʊ": "oU", "ɔɪ": "OI", "əʊ": "oU", "tʃ": "tS", "dʒ": "dZ",
    "ts": "ts", "aɪə": "aI@", "aʊə": "aU@",
    # long vowels
    "iː": "i:", "uː": "u:", "ɑː": "A:", "ɔː": "O:", "ɜː": "3:", "aː": "a:", "eː": "e:", "oː": "o:",
    # syllabic consonants (base + U+0329)
    "n\u0329": "n-", "l\u0329": "@L", "m\u0329": "m-",
    # vowels
    "i": "i", "ɪ": "I", "ᵻ": "I#", "e": "e", "ɛ": "E", "æ": "a", "a": "a", "ɐ": "a#", "ə": "@", "ɚ": "3",
    "ɜ": "3", "ʌ": "V", "ɑ": "A", "ɒ": "0", "ɔ": "O", "o": "o", "ʊ": "U", "u": "u", "y": "y", "ø": "Y",
    "œ": "W", "ɨ": "i#", "ɯ": "u-", "ɤ": "o-",
    # consonants
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "ɡ": "g", "g": "g", "ʔ": "?", "ɾ": "t#",
    "f": "f", "v": "v", "θ": "T", "ð": "D", "s": "s", "z": "z", "ʃ": "S", "ʒ": "Z", "h": "h",
    "ç": "C", "x": "x", "ɣ": "Q", "χ": "X", "ʁ": "R", "m": "m", "n": "n", "ŋ": "N", "ɲ": "n^",
    "l": "l", "ɫ": "l", "ɹ": "r", "r": "r", "ɻ": "r.", "j": "j", "w": "w", "ʍ": "W", "ɕ": "S;",
    "ʂ": "s.", "ʐ": "z.", "β": "B", "ɬ": "l#", "ʎ": "l^",
}
_LONGEST = max(map(len, IPA_TO_ESPEAK))
STRESS_PRIMARY, STRESS_SECONDARY, LENGTH = "ˈ", "ˌ", "ː"
# Marks that modify a neighbour rather than sound on their own.
MODIFIERS = {STRESS_PRIMARY, STRESS_SECONDARY, LENGTH, "ˑ", "\u0303", "\u032a", "\u032f", "\u0329", "ʰ", "ʲ", "˞"}


def espeak_symbol(ipa: str) -> str:
    """The espeak mnemonic for one IPA phone (a key of IPA_TO_ESPEAK, or an unknown symbol kept
    as it is, which the lips treat like their nearest rule)."""
    return IPA_TO_ESPEAK.get(unicodedata.normalize("NFC", ipa), IPA_TO_ESPEAK.get(ipa, ipa))


def group_phones(symbols: list[str]) -> list[tuple[int, int]]:
    """Cut a list of IPA code points into phones: [start, end) index ranges, longest known match
    first. Modifiers stay inside the phone they follow (length, nasalisation, syllabic marks);
    stress marks are their own one-entry groups so the caller can give them to the next vowel."""
    out: list[tuple[int, int]] = []
    i = 0
    n = len(symbols)
    while i < n:
        if symbols[i] in (STRESS_PRIMARY, STRESS_SECONDARY):
            out.append((i, i + 1))
            i += 1
            continue
        size = 1
        for k in range(min(_LONGEST, n - i), 1, -1):
            if "".join(symbols[i : i + k]) in IPA_TO_ESPEAK:
                size = k
                break
        end = i + size
        while end < n and symbols[end] in MODIFIERS and symbols[end] not in (STRESS_PRIMARY, STRESS_SECONDARY):
            end += 1
        out.append((i, end))
        i = end
    return out


def phone_symbol(symbols: list[str]) -> str:
    """The mnemonic for one grouped phone: its longest known prefix renamed, with a length mark kept
    when the table has no long form (espeak writes length as ':')."""
    text = "".join(symbols)
    if text in IPA_TO_ESPEAK:
        return IPA_TO_ESPEAK[text]
    core = "".join(s for s in symbols if s not in MODIFIERS)
    long_form = core + LENGTH
    if LENGTH in symbols and long_form in IPA_TO_ESPEAK:
        return IPA_TO_ESPEAK[long_form]
    if "\u0329" in symbols and core + "\u0329" in IPA_TO_ESPEAK:
        return IPA_TO_ESPEAK[core + "\u0329"]
    base = espeak_symbol(core) if core else text
    return base + ":" if LENGTH in symbols and not base.endswith(":") else base
