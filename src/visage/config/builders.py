"""One builder each for the voice, the brain and the portrait renderer: the CLI commands, the public
facade and every live session get their parts here, so a part is made the same way whichever door it
is asked for through."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from visage.backends.llm import create_brain
from visage.backends.llm.base import Brain
from visage.backends.renderers import create_renderer, renderer_for
from visage.backends.renderers.base import Renderer
from visage.backends.tts import TTSBackend, create_tts
from visage.backends.tts.fallback import with_fallback
from visage.config.settings import NO_FALLBACK, BrainSettings, VideoSettings, VoiceSettings
from visage.errors import InputError

log = logging.getLogger(__name__)


def build_voice(settings: VoiceSettings) -> TTSBackend:
    """The voice the settings ask for, backed by the fallback voice for sentences it fails (unless the
    fallback is 'none' or the voice itself). Not loaded: `load()` it, or let its first sentence do so."""
    if settings.tts == "auto" and settings.voice:
        from visage.backends.tts.auto import check_voice_name

        check_voice_name(settings.voice)  # now: a wrong name is an error, not a silent fallback
    voice = create_tts(settings.tts, **settings.tts_options)
    if settings.fallback != NO_FALLBACK and settings.fallback != settings.tts:
        voice = with_fallback(voice, create_tts(settings.fallback))
    return voice


def build_brain(settings: BrainSettings, language: str) -> Brain:
    """The brain the settings ask for, speaking `language`, loaded (its knowledge base indexed, or
    its server asked for its models)."""
    if settings.brain == "openai":
        brain = create_brain("openai", base_url=settings.base_url, model=settings.model, api_key=settings.api_key,
                             language=language, knowledge=settings.knowledge)
    else:
        brain = create_brain("embedded", knowledge=settings.knowledge, language=language)
    brain.load()
    return brain


def build_renderer(settings: VideoSettings, warn: Callable[[str], None] = log.warning) -> Renderer:
    """The renderer for the settings' photo (analysed now, its doubts told to `warn`), saved avatar (a
    video avatar gets the video renderer), or the built-in portrait, at the settings' size."""
    avatar = None
    if settings.portrait:
        if not Path(settings.portrait).is_file():
            raise InputError(f"no such photo: {settings.portrait}")
        from visage.backends.renderers.analysis import analyse_portrait

        avatar, warnings = analyse_portrait(settings.portrait)
        for warning in warnings:
            warn(warning)
    elif settings.avatar:
        from visage.backends.renderers.avatar_store import AvatarStore

        avatar = AvatarStore().load(settings.avatar)
    return create_renderer(renderer_for(avatar), avatar=avatar, size=settings.size)
