"""Which stage of the neural voice loses words: the WER benchmark's sentences made stage by stage.

    PYTHONPATH=src .venv/bin/python bench/wer_stages.py [--n 50] [--stages piper,tempo,...] [--set emotional]

The default voice is Piper joe, then WORLD shaping (emotion's pitch, range, tilt, breath, emphasis,
final contour) and the female transform (F0 x1.25, envelope x1.18). Each stage below adds one step,
so a word that is heard at one stage and lost at the next was lost by that step; a word every stage
loses (plain Piper included) is the recogniser's or the model's own.

- piper: Piper alone, the neutral tempo, no WORLD (the sentence's pieces as the voice cuts them)
- whole: the same without the word cut (one piece per sentence)
- tempo: Piper at the emotion's length scale, no WORLD (only the loudness gain)
- world: that, through WORLD analysis and resynthesis with nothing changed (the vocoder's own loss)
- prosody: the emotion's full WORLD shaping, joe's own register and formants (voice "joe")
- female: the female transform only (F0 and formants, the final contour), at the emotion's tempo
- full: the default voice as a reply speaks it (bench_voice_neural.py's figure)

Transcription and scoring are bench_voice_neural.py's (faster-whisper base, beam 5, English).
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import bench_voice_neural as bvn  # noqa: E402
import visage.backends.tts.neural as neural  # noqa: E402
from visage.backends.tts import create_tts, shaping  # noqa: E402
from visage.backends.tts.catalogue import voice_spec  # noqa: E402
from visage.core.audio import resample  # noqa: E402
from visage.core.types import Emotion, SpeechRequest  # noqa: E402

STAGES = ("piper", "whole", "tempo", "world", "prosody", "female", "full")
_FEMALE = voice_spec("joe-female")


def _plain(x, rate, shape):
    return (np.asarray(x) * shape.gain).astype(np.float32)


def _world_only(x, rate, shape):
    # final_semitones without a span changes nothing but keeps WORLD from being skipped
    return shaping.reshape(x, rate, shaping.Shape(gain=shape.gain, voiced=shape.voiced, final_semitones=1e-9))


def _female_only(x, rate, shape):
    return shaping.reshape(x, rate, shaping.Shape(
        f0_scale=_FEMALE.f0_scale, formant_scale=_FEMALE.formant_scale, gain=shape.gain, emphasis=shape.emphasis,
        final_span=shape.final_span, final_semitones=shape.final_semitones, voiced=shape.voiced,
        reference_f0=shape.reference_f0))


def stage_setup(stage: str, emotion: Emotion):
    """(reshape function, voice name, emotion to request, split the first phrase) for a stage."""
    real = shaping.reshape
    return {
        "piper": (_plain, "joe", Emotion.NEUTRAL, True),
        "whole": (_plain, "joe", Emotion.NEUTRAL, False),
        "tempo": (_plain, "joe", emotion, True),
        "world": (_world_only, "joe", emotion, True),
        "prosody": (real, "joe", emotion, True),
        "female": (_female_only, "joe-female", emotion, True),
        "full": (real, None, emotion, True),
    }[stage]


def missed(ref: list[str], hyp: list[str]) -> str:
    """The edits that turn the reference into what was heard, as 'said->heard' items."""
    out = []
    for op, a, b, c, d in difflib.SequenceMatcher(None, ref, hyp, autojunk=False).get_opcodes():
        if op != "equal":
            out.append(f"{' '.join(ref[a:b]) or '-'}->{' '.join(hyp[c:d]) or '-'}")
    return "; ".join(out)


def run_stage(stage: str, emotional: bool, n: int, model, voices: dict) -> tuple[int, int, dict[int, str]]:
    fn, voice, _, split = stage_setup(stage, Emotion.NEUTRAL)
    tts = voices[split]
    errors = total = 0
    misses: dict[int, str] = {}
    real = neural.reshape
    neural.reshape = fn
    try:
        for i, text in enumerate(bvn.WER_SENTENCES[:n]):
            emotion = bvn.EMOTIONS[i % len(bvn.EMOTIONS)] if emotional else Emotion.NEUTRAL
            _, _, asked, _ = stage_setup(stage, emotion)
            x, rate, _ = bvn.spoken(tts, SpeechRequest(text, voice=voice, emotion=asked, intensity=0.8))
            audio = resample(x, rate, 16000).astype(np.float32)
            segments, _ = model.transcribe(audio, language="en", beam_size=5, vad_filter=False)
            heard = " ".join(s.text for s in segments)
            ref, hyp = bvn.words_of(text), bvn.words_of(heard)
            e, n = bvn.spoken_word_errors(text, heard)
            errors += e
            total += n
            if e:
                misses[i] = missed(ref, hyp)
    finally:
        neural.reshape = real
    return errors, total, misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--set", choices=("neutral", "emotional", "both"), default="both")
    parser.add_argument("--const", action="append", default=[],
                        help="a shaping constant for this run, e.g. FFT_SIZE=1024 (repeatable)")
    args = parser.parse_args()
    for item in args.const:
        name, value = item.split("=")
        old = getattr(shaping, name)
        setattr(shaping, name, value.lower() in ("1", "true") if isinstance(old, bool) else type(old)(value))
        print(f"shaping.{name} = {getattr(shaping, name)}")
    from faster_whisper import WhisperModel

    print(f"load {os.getloadavg()[0]:.1f}")
    model = WhisperModel(str(bvn.whisper_model_dir()), device="cpu", compute_type="int8")
    voices = {True: create_tts("neural"), False: create_tts("neural", split_first_phrase=False)}
    for v in voices.values():
        v.load()
    sets = (False, True) if args.set == "both" else (args.set == "emotional",)
    for emotional in sets:
        label = "emotional" if emotional else "neutral"
        for stage in args.stages.split(","):
            began = time.perf_counter()
            errors, total, misses = run_stage(stage, emotional, args.n, model, voices)
            print(f"{label:9s} {stage:8s} WER {errors / total * 100:4.1f} % ({errors}/{total})"
                  f"  [{time.perf_counter() - began:.0f} s]", flush=True)
            for i, m in misses.items():
                emotion = bvn.EMOTIONS[i % len(bvn.EMOTIONS)].value if emotional else "neutral"
                print(f"    #{i:02d} {emotion:9s} {m}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
