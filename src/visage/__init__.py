"""visage: a real-time conversational digital human that runs on an ordinary CPU.

The public facade, for scripts and notebooks (the CLI and the server are built from the same parts):

    import visage

    visage.say("Hello! Nice to meet you.", "hello.mp4")            # talking-portrait MP4 + subtitles
    frames = visage.animate("Did you see that?", emotion="surprised")  # FaceFrames: ARKit-52, head, gaze
    chat = visage.chat(language="en")                               # the offline brain, or BrainSettings
    for sentence in chat.reply("What can you do?"): print(sentence.text, sentence.emotion)

Settings are visage.config's typed models (VoiceSettings, VideoSettings, BrainSettings), the same the
CLI's flags and the page's options are checked by. Each helper imports its layer when called, so
`import visage` stays light and every layer may import `visage` for its version.

Layers point inward: `visage.core` (pure numpy data, emotion, text, motion) <- `visage.backends` (voices,
aligners, recognisers, brains, renderers) <- `visage.config` (settings and builders) <- `visage.offline`
and `visage.live` <- `visage.server` and `visage.cli`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

# The parts a script builds with, importable from here; each module is imported on first use.
_EXPORTS = {
    "BrainSettings": "visage.config.settings", "VideoSettings": "visage.config.settings",
    "VoiceSettings": "visage.config.settings", "build_brain": "visage.config.builders",
    "build_voice": "visage.config.builders", "create_tts": "visage.backends.tts",
    "narrate": "visage.backends.tts.narration", "requests_for_text": "visage.backends.tts.narration",
    "MotionEngine": "visage.core.motion.engine", "ConversationState": "visage.core.types",
    "Emotion": "visage.core.types", "FaceFrame": "visage.core.types", "SpeechRequest": "visage.core.types",
}
__all__ = ["__version__", "animate", "chat", "say", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'visage' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)

if TYPE_CHECKING:
    from visage.backends.llm.chat import Chat
    from visage.config.settings import BrainSettings, VideoSettings, VoiceSettings
    from visage.core.types import Emotion, FaceFrame
    from visage.offline.say import SaySummary


def _requests(text: str, voice: VoiceSettings, emotion: Emotion | str, intensity: float, avatar: str | None = None):
    """The sentences' requests; a saved avatar's stored voice and pitch speak unless `voice` names one
    (visage.config.speaker's rule, as in `visage say --avatar`)."""
    from visage.backends.tts.narration import requests_for_text
    from visage.config.speaker import offered_voices, resolve_speaker
    from visage.core.emotion import parse_emotion_strict

    info = None
    if avatar:
        from visage.backends.renderers.avatar_store import AvatarStore

        store = AvatarStore()
        info = store.info(avatar) if store.exists(avatar) else None
    speaker = resolve_speaker(info, voice.voice, None, offered_voices(voice.tts, voice.tts_options),
                              f"the avatar {avatar!r}")
    if speaker.warning:
        import logging

        logging.getLogger(__name__).warning("%s", speaker.warning)
    return requests_for_text(text, language=voice.language, voice=speaker.voice, intensity=intensity,
                             emotion=parse_emotion_strict(emotion) if isinstance(emotion, str) else emotion,
                             pitch=speaker.pitch)


def say(text: str, output: str, *, voice: VoiceSettings | None = None, video: VideoSettings | None = None,
        emotion: Emotion | str = "neutral", intensity: float = 0.6) -> SaySummary:
    """Speak `text` and render the portrait saying it into `output` (.mp4), with .srt, .vtt and
    .motion.json beside it; as `visage say` does."""
    from visage.backends.tts.narration import narrate
    from visage.config import VideoSettings, VoiceSettings, build_renderer, build_voice
    from visage.offline.say import say_to_files

    voice, video = voice or VoiceSettings(), video or VideoSettings()
    stream = narrate(build_voice(voice), _requests(text, voice, emotion, intensity, video.avatar))
    return say_to_files(stream, output, build_renderer(video), fps=video.fps, style=video.style, seed=video.seed)


def animate(text: str, *, voice: VoiceSettings | None = None, fps: int = 25, style: str = "friendly", seed: int = 0,
            emotion: Emotion | str = "neutral", intensity: float = 0.6) -> list[FaceFrame]:
    """The face's motion for `text` spoken by the voice, frame by frame (as `visage animate` writes)."""
    from visage.backends.tts.narration import narrate
    from visage.config import VideoSettings, VoiceSettings, build_voice
    from visage.core.motion.engine import animate as motion_frames

    voice = voice or VoiceSettings()
    checked = VideoSettings(fps=fps, style=style, seed=seed)  # the same rules as the CLI's flags
    stream = narrate(build_voice(voice), _requests(text, voice, emotion, intensity))
    return list(motion_frames(stream, fps=checked.fps, style=checked.style, seed=checked.seed))


def chat(brain: BrainSettings | None = None, language: str = "en", persona: str = "") -> Chat:
    """A conversation with the brain (offline by default) that remembers what was said, in memory:
    `.reply(text)` streams the answer's tagged sentences, `.ask(text)` returns them all."""
    import uuid

    from visage.backends.llm.base import Conversation
    from visage.backends.llm.chat import Chat
    from visage.config import BrainSettings, build_brain

    return Chat(build_brain(brain or BrainSettings(), language),
                Conversation(uuid.uuid4().hex, persona=persona, language=language))
