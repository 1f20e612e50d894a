"""Who speaks for an avatar: its voice name and pitch register, by one rule of precedence.

An avatar may carry the voice it speaks with (`visage avatar create --voice joe --pitch low`, kept in
its avatar.json). Every door that speaks for an avatar (`visage say` and `ask`, each live session of
`visage serve`, the motion WebSocket) resolves its speaker here, the voice and the pitch each on its own:

    an explicit choice (a CLI flag, a page's or --config's setting)  >  the avatar's stored one  >  the default

"default" (what the page's voice menu sends for "the avatar's own voice") is no explicit choice. An
explicit voice the voice backend does not offer is an InputError (the person who chose it can fix it);
a stored voice it no longer offers (a renamed voice, a hand-edited avatar.json, another backend) is a
warning, and the default voice speaks: the avatar stays usable and a server keeps serving.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from visage.core.types import PitchStyle
from visage.errors import InputError

NOT_CHOSEN = (None, "", "default")  # a voice setting that leaves the choice to the avatar


@dataclass(frozen=True)
class Speaker:
    """The voice (None: the backend's default) and pitch register a session or a video speaks with,
    where each came from ("chosen", "avatar" or "default"), and why a stored choice was set aside."""

    voice: str | None = None
    pitch: PitchStyle = PitchStyle.NORMAL
    voice_from: str = "default"
    pitch_from: str = "default"
    warning: str | None = None

    def listing(self, default_voice: str = "default") -> dict:
        """What a listing (GET /api/options) shows of it."""
        shown = {"voice": self.voice or default_voice, "pitch": self.pitch.value, "voice_from": self.voice_from,
                 "pitch_from": self.pitch_from}
        return {**shown, "warning": self.warning} if self.warning else shown


def resolve_speaker(info: Mapping | None, voice: str | None = None, pitch: str | PitchStyle | None = None,
                    offered: Sequence[str] = (), avatar: str = "the avatar") -> Speaker:
    """The speaker for an avatar whose analysis record is `info`, given the explicit `voice` and `pitch`
    (None when not chosen) and the names the voice backend `offered` (empty: it lists none, so any
    name is passed on and the backend judges it)."""
    info = info or {}
    names = {n.lower(): n for n in offered}  # a name as the backend spells it
    warnings = []
    if voice not in NOT_CHOSEN:
        if names and voice.lower() not in names:
            raise InputError(f"unknown voice {voice!r}; choose one of: {', '.join(offered)}")
        chosen_voice, voice_from = names.get(voice.lower(), voice), "chosen"
    else:
        chosen_voice, voice_from = None, "default"
        stored = info.get("voice")
        if stored not in NOT_CHOSEN:
            if not isinstance(stored, str) or (names and stored.lower() not in names):
                warnings.append(f"the voice {stored!r} stored with {avatar} is not one this voice offers "
                                f"({', '.join(offered)}); the default voice speaks instead (set another with "
                                f"`visage avatar create ... --voice NAME --force`)")
            else:
                chosen_voice, voice_from = names.get(stored.lower(), stored), "avatar"
    if pitch is not None:
        chosen_pitch, pitch_from = _pitch(pitch), "chosen"
    else:
        chosen_pitch, pitch_from = PitchStyle.NORMAL, "default"
        stored = info.get("pitch")
        if stored not in (None, ""):
            try:
                chosen_pitch, pitch_from = _pitch(stored), "avatar"
            except InputError as exc:
                warnings.append(f"the pitch stored with {avatar} is set aside: {exc}")
    return Speaker(chosen_voice, chosen_pitch, voice_from, pitch_from, "; ".join(warnings) or None)


def _pitch(value) -> PitchStyle:
    try:
        return PitchStyle(value)
    except ValueError:
        raise InputError(f"unknown pitch {value!r}; choose one of: "
                         f"{', '.join(s.value for s in PitchStyle)}") from None


def offered_voices(tts: str, options: Mapping[str, str] | None = None) -> list[str]:
    """The voice names the `tts` backend offers, without loading it; empty when it lists none (or
    cannot be made here: it then judges a name when it speaks)."""
    from visage.backends.tts import create_tts

    try:
        return list(create_tts(tts, **dict(options or {})).voices())
    except Exception:  # a backend that needs its model or server to list: no list, no check here
        return []
