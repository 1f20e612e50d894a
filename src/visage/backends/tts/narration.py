"""Speaking many sentences as one stream: sentence requests from text, and one audio clock across them.

A voice speaks one sentence at a time with times from 0; `narrate` strings sentences together, shifting
each one's chunks, phonemes and words onto a single clock, and reports each `Sentence` when it ends.
Nothing waits for the whole text: sentences are read, spoken and handed on one by one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from visage.backends.tts.base import TTSBackend
from visage.core.sentiment import classify_emotion
from visage.core.text import has_han, iter_sentences, sentence_type_of
from visage.core.types import Emotion, PitchStyle, Sentence, SentenceTags, SpeechChunk, SpeechRequest


def requests_for_text(
    pieces: Iterable[str],
    language: str = "en",
    voice: str | None = None,
    emotion: Emotion = Emotion.NEUTRAL,
    intensity: float = 0.5,
    emphasis: Iterable[str] = (),
    pitch: PitchStyle = PitchStyle.NORMAL,
) -> Iterator[SpeechRequest]:
    """One request per sentence of the text (given whole, or as pieces that stream in), each tagged
    with its type from its punctuation and the emphasised words it contains."""
    if isinstance(pieces, str):
        pieces = [pieces]
    wanted = tuple(w for w in emphasis if w.strip())
    for sentence in iter_sentences(pieces):
        present = tuple(w for w in wanted if _contains(sentence, w))
        tags = SentenceTags(emotion, intensity, sentence_type_of(sentence), present, language)
        yield SpeechRequest(sentence, voice, pitch, tags=tags)


def _contains(sentence: str, word: str) -> bool:
    if has_han(word):
        return word in sentence
    return re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", sentence, re.IGNORECASE) is not None


def narrate(tts: TTSBackend, requests: Iterable[SpeechRequest]) -> Iterator[SpeechChunk | Sentence]:
    """Speak each request in turn on one clock: yield its `Sentence` as it starts (end None, so that
    its tags reach the face before its audio), its chunks, then the `Sentence` again with its end."""
    clock = 0.0
    for index, request in enumerate(requests):
        start = clock
        started = Sentence(index, request.text, start, None, tags=request.tags)
        yield started
        for chunk in tts.stream(request):
            shifted = chunk.shifted(start)
            if shifted.words:
                shifted = replace(shifted, words=tuple(replace(w, sentence=index) for w in shifted.words))
            clock = max(clock, shifted.end)
            yield shifted
        yield replace(started, end=clock)


def with_detected_emotion(requests: Iterable[SpeechRequest], scale: float = 1.0) -> Iterator[SpeechRequest]:
    """Tag each sentence with the emotion its words show (`--emotion auto`), its strength times `scale`."""
    for request in requests:
        emotion, intensity = classify_emotion(request.text)
        if emotion != Emotion.NEUTRAL:
            intensity *= scale  # SentenceTags keeps it within [0, 1]
        yield replace(request, emotion=emotion, intensity=intensity)
