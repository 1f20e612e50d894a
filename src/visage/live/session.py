"""One live conversation: microphone or text in, an avatar that listens, thinks and answers out.

User audio runs through voice activity detection and streaming recognition; a finished utterance (or
a typed message) starts a turn: the brain streams tagged sentences, the voice speaks each as it comes,
and the output schedules the speech on its clock, where the motion engine and the renderer pick it up.
Speaking over the avatar (barge-in) or the stop button cancels the brain's stream and silences the
avatar at once. Everything blocking runs in worker threads; the asyncio side only routes.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from typing import TYPE_CHECKING


from visage.backends.asr.base import SAMPLE_RATE
from visage.backends.llm.chat import Chat
from visage.backends.tts.narration import narrate
from visage.core.motion.engine import MotionEngine
from visage.core.types import ConversationState, Sentence, SpeechChunk
from visage.errors import InputError
from visage.live.events import (EmotionShown, ErrorReported, LatencyMeasured, LiveEvent, ReplySaid, StateChanged,
                                UserSaid)
from visage.live.listening import Heard, HeardKind, TurnListener
from visage.live.microphone import MicBatcher, MicrophoneResampler
from visage.live.options import LiveOptions
from visage.live.prepared import PreparedReply
from visage.live.output import AvatarOutput
from visage.live.services import LiveServices
from visage.live.tracks import AvatarAudioTrack, AvatarVideoTrack

if TYPE_CHECKING:
    from visage.live.motion_feed import MotionFeed

log = logging.getLogger(__name__)

# The user speaking again this soon after their turn was taken, over the avatar's answer, means they had
# only paused: the answer stops (barge-in) and the next turn is answered as the continuation of that one.
CONTINUATION_WINDOW = 1.0
BUSY = (ConversationState.THINKING, ConversationState.SPEAKING)  # a new turn or the user's voice stops these


class LiveSession:
    def __init__(self, options: LiveOptions, services: LiveServices) -> None:
        from visage.backends.renderers import create_renderer, renderer_for
        from visage.backends.vad import create_vad

        self.options, self.services = options, services
        self.brain = services.brain(options)
        self.tts = services.tts(options)
        self.asr = services.asr().conversation()  # adapts to this speaker; decoders come from a shared pool
        vad = create_vad("webrtc", silence=options.vad_silence)
        self.listener = TurnListener(vad, self.asr, options.language, silence=options.vad_silence,
                                     hold=options.unfinished_hold)
        avatar = services.avatar(options.avatar)
        self.speaker = services.speaker(options)  # the avatar's stored voice unless the options chose one
        if self.speaker.warning:
            log.warning("%s", self.speaker.warning)
        self.browser_draws = options.drawing == "browser"
        if self.browser_draws and renderer_for(avatar) == "video":
            raise InputError("this avatar was made from a video and has no browser drawing; choose the "
                             "server's video (drawing: server)")
        renderer = None
        if not self.browser_draws:  # a browser-drawn face needs no renderer here: the page has its own
            renderer = create_renderer(renderer_for(avatar), avatar=avatar, size=options.size)
            renderer.load()
        self.output = AvatarOutput(MotionEngine(fps=options.fps, style=options.style), renderer, options.fps)
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="visage-session")
        self.video = None if self.browser_draws else AvatarVideoTrack(self.output, self.executor)
        self.audio = AvatarAudioTrack(self.output)
        store = services.sessions
        if options.session_id and options.session_id in store.list():
            conversation = store.load(options.session_id)
        else:
            conversation = store.create(persona=options.persona, language=options.language)
        self.chat = Chat(self.brain, conversation, store)
        self._events: asyncio.Queue[LiveEvent] = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._cancel = threading.Event()
        self._turn: asyncio.Future | None = None
        self._closed = False
        self._last_spoken: tuple[str, float] | None = None  # the last spoken turn, and when it was taken
        self._continues: str | None = None  # the turn the user is continuing, if they cut in right after it
        self._prepared: PreparedReply | None = None  # the reply to the words of a GUESS, not yet said
        self._mic_backlog = 0.0  # s the newest microphone frame came later than the least-delayed one
        self.state = ConversationState.LISTENING

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.services.active.add(self)
        self._emit(StateChanged(self.state))
        if self.speaker.warning:  # the page says why the avatar does not speak with its own voice
            self._emit(ErrorReported(self.speaker.warning))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.interrupt()
        for task in list(self._tasks):
            task.cancel()
        if self.video is not None:
            self.video.stop()
        self.audio.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.listener.close()
        self.asr.close()
        self.services.active.discard(self)

    async def events(self) -> AsyncIterator[LiveEvent]:
        while not self._closed:
            yield await self._events.get()

    def _emit(self, event: LiveEvent) -> None:
        """Thread-safe: queue an event for the page."""
        try:
            loop = self.loop
        except AttributeError:
            return
        if _in_loop(loop):
            self._events.put_nowait(event)
        else:
            loop.call_soon_threadsafe(self._events.put_nowait, event)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- input ----------------------------------------------------------------------------------------
    async def add_microphone(self, track) -> None:
        self._spawn(self._listen(track))

    def motion_feed(self, send) -> "MotionFeed":
        """The face's frames for a page that draws it (browser drawing), handed to `send` as made."""
        from visage.live.motion_feed import MotionFeed

        return MotionFeed(self.output, send)

    async def say_text(self, text: str) -> None:
        text = text.strip()[:2000]
        if text:
            self._emit(UserSaid(text, final=True))
            self._start_turn(text, {"typed": time.time()})

    def interrupt(self) -> None:
        """Stop the avatar now: cancel the brain and voice, drop scheduled speech, listen."""
        self._drop_prepared()
        self._cancel.set()
        self.output.interrupt()
        self._set_state(ConversationState.LISTENING)

    async def _listen(self, track) -> None:
        """Microphone frames -> turns (listening.py). Runs until the track ends or the session closes.
        An idle listener hears 100 ms at a time (one worker hop, not five: microphone.py)."""
        heard_until = 0.0  # seconds of microphone audio received
        lag_least = None  # the smallest (arrival wall time - audio seconds) seen: a frame that waited nowhere
        to_16k, batch = MicrophoneResampler(SAMPLE_RATE), MicBatcher(SAMPLE_RATE)
        try:
            while not self._closed:
                frame = await track.recv()
                arrived = time.time()
                audio = to_16k(frame)
                heard_until += len(audio) / SAMPLE_RATE
                lag = arrived - heard_until
                lag_least = lag if lag_least is None else min(lag_least, lag)
                self._mic_backlog = lag - lag_least  # how much later than the least-delayed frame this one came
                batch.add(audio)
                if not batch.ready(self.listener.idle):
                    continue
                for heard in await self.loop.run_in_executor(self.executor, self.listener.hear, batch.take()):
                    self._on_heard(heard, arrived)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the track ended (client left) or a backend failed: this session only
            if not self._closed:
                log.info("microphone stopped: %s", exc)

    def _on_heard(self, heard: Heard, now: float) -> None:
        if heard.kind == HeardKind.START:
            self._drop_prepared()
            self._continues = None
            if self.state in BUSY:
                last = self._last_spoken
                if last is not None and now - last[1] < CONTINUATION_WINDOW:
                    self._continues = last[0]  # the turn had not really ended: the user paused and went on
                self.interrupt()  # barge-in
                self._emit(StateChanged(ConversationState.LISTENING, barge_in=True))
        elif heard.kind == HeardKind.PARTIAL:
            self._emit(UserSaid(heard.text, final=False))
        elif heard.kind == HeardKind.GUESS:
            if self.options.prepare_reply and self.state == ConversationState.LISTENING:
                self._prepare(self._continued(heard.text))
        elif heard.kind == HeardKind.RESUMED:
            self._drop_prepared()
        elif heard.kind == HeardKind.ERROR:
            self._drop_prepared()
            self._emit(ErrorReported(f"your last words were not recognised: {heard.text}"))
        elif heard.kind == HeardKind.TURN:
            # audio clock -> wall clock: the chunk that ended the turn arrived `now`, and `hear` may have
            # waited for the transcript after that (which the asr stage then shows)
            clock = self.listener.heard
            marks = {"speech_end": now - (clock - heard.speech_end), "vad_end": now - (clock - heard.decided),
                     "mic_backlog": self._mic_backlog}
            marks["asr_final"] = max(heard.final_ready, marks["vad_end"])
            text = self._continued(heard.text)
            self._continues = None
            self._emit(UserSaid(text, final=True))
            prepared, self._prepared = self._prepared, None
            if prepared is not None and (prepared.text != text or prepared.cancel.is_set() or prepared.future.done()):
                prepared.drop()  # other words, or it failed or ended before it could be said: made afresh
                prepared = None
            if text.strip():
                self._last_spoken = (text, now)
                if prepared is not None:
                    self._say_prepared(prepared, marks)
                else:
                    self._start_turn(text, marks)

    def _continued(self, text: str) -> str:
        """The user's words, after those of the turn they are continuing (if they cut in right after it)."""
        return f"{self._continues} {text}" if self._continues and text.strip() else text

    # -- a reply prepared in the silence that ends the turn (prepared.py) ------------------------------
    def _prepare(self, text: str) -> None:
        self._drop_prepared()
        prepared = self._prepared = PreparedReply(text)
        prepared.future = self.loop.run_in_executor(self.executor, self._reply, text, prepared.marks,
                                                    prepared.cancel, prepared)
        prepared.future.add_done_callback(_log_failure)

    def _say_prepared(self, prepared: PreparedReply, marks: dict) -> None:
        self._cancel = prepared.cancel
        self._set_state(ConversationState.THINKING)
        self.output.set_state(ConversationState.THINKING)
        self._turn = prepared.future
        prepared.say(marks)

    def _drop_prepared(self) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            prepared.drop()

    # -- a turn ---------------------------------------------------------------------------------------
    def _start_turn(self, text: str, marks: dict) -> None:
        self._drop_prepared()
        if self.state in BUSY:
            self.interrupt()
        self._cancel = cancel = threading.Event()
        self._set_state(ConversationState.THINKING)
        self.output.set_state(ConversationState.THINKING)
        self._turn = self.loop.run_in_executor(self.executor, self._reply, text, marks, cancel)
        self._turn.add_done_callback(_log_failure)

    def _reply(self, text: str, marks: dict, cancel: threading.Event, prepared: PreparedReply | None = None) -> None:
        """Worker thread: brain -> voice -> output, sentence by sentence, until done or cancelled. A
        `prepared` reply shows and plays nothing until it is said (prepared.py)."""
        offset, begun = None, time.time()
        held: list[LiveEvent] | None = None if prepared is None else []  # events waiting for the gate

        def show(event: LiveEvent) -> None:
            (self._emit if held is None else held.append)(event)

        def release() -> bool:
            """Whether the reply may go out (a prepared one waits for its turn's end here)."""
            nonlocal held
            if held is None:
                return True
            if not prepared.wait():
                return False
            # the stages after the turn's end count only what it still waited for
            marks["first_sentence"] = max(marks["first_sentence"], marks["asr_final"])
            marks["prepared_ahead"] = marks["asr_final"] - begun
            for event in held:
                self._emit(event)
            held = None
            return True

        kept = None if prepared is None else (lambda: prepared.kept)
        with contextlib.closing(self.chat.reply(text, cancel, kept)) as sentences:  # closing records the turns
            for sentence in sentences:
                if cancel.is_set():
                    break
                marks.setdefault("first_sentence", time.time())
                show(ReplySaid(sentence.text, sentence.emotion, sentence.intensity, sentence.sentence_type))
                show(EmotionShown(sentence.emotion))
                # the sentence is placed on the output clock when its first audio exists, not before: the
                # neural voice takes 0.1-0.3 s to make it, and a start fixed earlier lay in the past by
                # then (its first chunk was moved to the present and the next one cut its end off)
                start, waiting = None, []
                for item in narrate(self.tts, [sentence.to_request(self.speaker.voice, self.speaker.pitch)]):
                    if cancel.is_set():
                        break
                    if start is None:
                        if not isinstance(item, SpeechChunk):
                            waiting.append(item)
                            continue
                        if not release():
                            break
                        start = self.output.start_time() if offset is None else max(offset, self.output.start_time())
                        for early in waiting:
                            self.output.schedule(early, start, cancel)
                    if isinstance(item, SpeechChunk) and "first_voice" not in marks:
                        marks["first_voice"] = time.time()
                        marks["playout"] = time.time() + (start - self.output.now())
                        self.output.begin_reply(start)
                        self.audio.begin_reply()
                        self._set_state(ConversationState.SPEAKING)
                    if isinstance(item, Sentence) and item.end is not None:
                        offset = start + item.end
                    self.output.schedule(item, start, cancel)
                if start is None and waiting and not cancel.is_set() and release():  # a sentence without audio
                    start = self.output.start_time() if offset is None else max(offset, self.output.start_time())
                    for early in waiting:
                        self.output.schedule(early, start, cancel)
        if not cancel.is_set() and "first_voice" in marks:
            deadline = time.time() + 3.0
            while self.audio.first_sound is None and time.time() < deadline and not cancel.is_set():
                time.sleep(0.01)
            self._report_latency(marks)
            # back to listening when the scheduled speech has played
            remaining = self.output.playing_until - self.output.now()
            if cancel.wait(max(0.0, remaining)) is False and self._cancel is cancel:
                self._set_state(ConversationState.LISTENING)
                self.output.set_state(ConversationState.LISTENING)

    def _report_latency(self, marks: dict) -> None:
        """Stages from the end of the user's speech (or the typed message) to the first sound sent."""
        origin = marks.get("speech_end", marks.get("typed"))
        if origin is None or "first_voice" not in marks:
            return
        end = self.audio.first_sound or marks["playout"]
        frame = self.output.first_speech_frame
        stages = {"silence_detection": marks.get("vad_end", origin) - origin,
                  "asr": marks.get("asr_final", origin) - marks.get("vad_end", origin),
                  "brain_first_sentence": marks["first_sentence"] - marks.get("asr_final", origin),
                  "first_voice_chunk": marks["first_voice"] - marks["first_sentence"],
                  "scheduled_playout": marks["playout"] - marks["first_voice"],
                  "first_frame": (frame - marks["first_voice"]) if frame else None,
                  "prepared_ahead": marks.get("prepared_ahead"),  # begun this long before the turn's end
                  "mic_backlog": marks.get("mic_backlog"), "audio_send_late_max": self.audio.late_max,  # since the last report
                  "total_to_first_sound_sent": end - origin}
        self.audio.late_max = 0.0
        self._emit(LatencyMeasured({k: round(v, 4) for k, v in stages.items() if v is not None}, origin, end))

    def _set_state(self, state: ConversationState) -> None:
        if state != self.state:
            self.state = state
            self._emit(StateChanged(state))


def _log_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception():
        log.error("turn failed: %s", future.exception())


def _in_loop(loop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
