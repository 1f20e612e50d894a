"""libespeak-ng, a shared low-level piece: the ctypes binding (`engine`) and timed speech (`speech`).

Voices (the embedded espeak voice, piper's phonemizer) and aligners (DTW's reference rendering,
pocketsphinx's pronunciations) all use it; it imports neither kind, so they stay independent.
"""
