"""The embedded voice: streaming, timings in the audio's clock, languages and voices, hostile text.

The timing tests take `timed_voice`: every voice with its own timings (espeak, neural) passes them."""
import threading
import time

import numpy as np
import pytest

from conftest import speak, speak_in_fresh_espeak
from visage.backends.espeak.engine import EspeakEngine
from visage.core.audio import rms_envelope
from visage.core.types import SpeechRequest
from visage.errors import InputError

LONG = ("This sentence is deliberately long, so that it takes several seconds to speak, and the first "
        "buffer of its audio can be handed on well before the last one has been made by the voice.")


def test_first_chunk_arrives_before_the_sentence_is_synthesised(espeak):
    engine = EspeakEngine.get()
    full = sum(len(c.samples) for c in espeak.stream(SpeechRequest(LONG)))
    before = engine.samples_made
    stream = espeak.stream(SpeechRequest(LONG))
    first = next(stream)
    assert 0 < len(first.samples) < full / 20
    time.sleep(0.2)  # the bounded queue holds synthesis back while nobody reads
    made_while_paused = engine.samples_made - before
    stream.close()  # a consumer that stops early cancels the synthesis
    assert made_while_paused < full / 3
    after_close = engine.samples_made
    time.sleep(0.1)
    assert engine.samples_made == after_close


def test_phonemes_and_words_are_ordered_and_inside_the_audio(timed_voice):
    x, rate, phonemes, words = speak(timed_voice, SpeechRequest("Hello big world, nice to meet you."))
    duration = len(x) / rate
    assert [w.text for w in words] == ["Hello", "big", "world", "nice", "to", "meet", "you"]
    for seq in (phonemes, words):
        starts = [e.start for e in seq]
        assert starts == sorted(starts)
        assert all(0 <= e.start <= e.end <= duration + 1e-6 for e in seq)
    assert [p.symbol for p in phonemes if p.symbol != "_"][:4] == ["h", "@", "l", "oU"]
    assert any(p.stressed for p in phonemes)
    # the phoneme timeline covers the audio without gaps
    assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(phonemes, phonemes[1:]))


def test_word_timings_match_where_the_sound_is(timed_voice):
    x, rate, _, words = speak(timed_voice, SpeechRequest("One. Two. Three."))
    env = rms_envelope(x, rate, hop=0.01)
    loud = env > 0.1 * env.max()
    for w in words:
        inside = loud[int(w.start * 100) : int(w.end * 100)]
        assert inside.mean() > 0.6, w  # a word's span is mostly sound
    gap = loud[int(words[0].end * 100) + 3 : int(words[1].start * 100) - 3]
    assert gap.mean() < 0.2  # the pause between sentences is silent


def test_word_spans_point_into_the_text(timed_voice):
    text = "I am sure it isn't 3.5 metres, Dr. Who!"
    _, _, _, words = speak(timed_voice, SpeechRequest(text))
    for w in words:
        assert text[w.char_start : w.char_end] == w.text
    assert [w.text for w in words][:5] == ["I", "am", "sure", "it", "isn't"]


def test_mandarin_speaks_with_timings(espeak):
    text = "你好，世界。我很高兴见到你！"
    x, rate, phonemes, words = speak(espeak, SpeechRequest(text, language="zh"))
    assert len(x) / rate > 1.5
    assert "".join(w.text for w in words) == "你好世界我很高兴见到你"
    assert len([p for p in phonemes if p.symbol != "_"]) >= 20


@pytest.mark.parametrize("language", ["de", "fr", "es", "ja", "yue", "en-gb"])
def test_any_espeak_language_by_code(espeak, language):
    x, rate, phonemes, _ = speak(espeak, SpeechRequest("12345", language=language))
    assert len(x) > rate * 0.5 and phonemes


def test_voices_sound_different(espeak):
    def f0(voice):
        from visage.core.audio import pitch_track

        x, rate, _, _ = speak(espeak, SpeechRequest("How are you doing today?", voice=voice))
        f = pitch_track(x, rate)
        return float(np.median(f[f > 0]))

    male, female = f0("male1"), f0("female2")
    assert female > male * 1.3
    assert len(espeak.voices("en")) >= 5


def test_unknown_language_and_voice_list_the_choices(espeak):
    with pytest.raises(InputError, match="choose one of: .*cmn.*en-us"):
        list(espeak.stream(SpeechRequest("hi", language="klingon")))
    with pytest.raises(InputError, match="choose one of: default, male1"):
        list(espeak.stream(SpeechRequest("hi", voice="nobody")))
    with pytest.raises(InputError, match="empty"):
        list(espeak.stream(SpeechRequest("   ")))


def test_markup_in_text_is_spoken_never_interpreted(espeak):
    attack = 'Hi <break time="9s"/> <prosody rate="10%">slow</prosody> &amp; <audio src="x"/> ok'
    x, rate, _, words = speak(espeak, SpeechRequest(attack))
    # a real <break time="9s"/> would add nine seconds of silence; spoken as text it is a few seconds
    env = rms_envelope(x, rate)
    longest_silence = max((len(run) for run in "".join("1" if v < 0.01 else "0" for v in env).split("0")), default=0)
    assert longest_silence * 0.01 < 1.0
    assert "prosody" in [w.text for w in words] and "ok" == words[-1].text


def test_concurrent_callers_are_serialised_safely(espeak):
    results = {}

    def run(i):
        results[i] = speak(espeak, SpeechRequest(f"Thread number {i} is speaking now."))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (_, _, _, words) in results.items():
        assert [w.text for w in words][:3] == ["Thread", "number", str(i)]



def test_a_breathy_voice_repeats_itself_from_run_to_run(tmp_path):
    """espeak-ng's breathy and klatt voices mix in noise from its random generator; it is reseeded
    before each synthesis, so a run that says the same sentences in the same order gives the same
    samples (the benchmarks' audio repeats). Within one process espeak's other state (the pitch
    flutter's phase) runs on from sentence to sentence, so only whole runs are compared."""
    said = [("Something else first.", "klatt"), ("She sells sea shells by the sea shore.", "f2")]
    runs = [speak_in_fresh_espeak(said, tmp_path)[0][-1] for _ in range(2)]
    assert len(runs[0]) > 0 and np.array_equal(runs[0], runs[1])
