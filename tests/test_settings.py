"""One settings model: each rule (fps, size, voice, brain, knowledge base, style, language) is stated in
visage.config.settings and obeyed alike by the CLI's flags, the server's defaults and each page's
options; the builders make the same voice and brain for the CLI and for live sessions."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from browser_harness import ServerThread
from llm_servers import LocalChatServer
from visage.backends.tts.espeak import EspeakTTS
from visage.backends.tts.fallback import FallbackTTS
from visage.cli.main import build_parser, main
from visage.config import BrainSettings, VideoSettings, VoiceSettings, build_brain, build_voice
from visage.config.settings import load_settings
from visage.errors import InputError
from visage.live.options import LiveOptions
from visage.live.services import LiveServices

SIZE_RULE = "the video size must be an even number of pixels from 256 to 1024, not 301"


@pytest.fixture(scope="module")
def server():
    from visage.server.app import create_app

    with ServerThread(create_app(LiveServices())) as running:
        yield running


def offer(server, options: dict) -> httpx.Response:
    return httpx.post(server.url + "/api/offer", json={"sdp": "v=0\r\n", "type": "offer", "options": options},
                      timeout=30)


@pytest.mark.parametrize("command", [["say", "hi", "-o", "x.mp4"], ["ask", "hi", "-o", "x.mp4"], ["serve"]])
def test_the_cli_refuses_a_size_by_the_settings_rule(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--size", "301"])
    assert exit_.value.code == 2
    assert f"--size: {SIZE_RULE}" in capsys.readouterr().err


def test_the_page_is_refused_the_same_size_with_a_422_naming_it(server):
    refused = offer(server, {"size": 301})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == f"size: {SIZE_RULE}"  # the CLI's words, from the same rule


@pytest.mark.parametrize("fps,words", [(24, "live video runs at 25 or 30 frames per second, not 24"),
                                       (60, "not 60"), ("fast", "fps: Input should be a valid integer")])
def test_a_bad_fps_from_the_page_is_a_422_not_a_500(server, fps, words):
    refused = offer(server, {"fps": fps})
    assert refused.status_code == 422 and refused.json()["error"].startswith("fps: "), refused.text
    assert words in refused.json()["error"]


@pytest.mark.parametrize("options,field", [({"brain": "gpt"}, "brain"), ({"style": "wild"}, "style"),
                                           ({"tts": "nosuchvoice"}, "tts"), ({"language": "en us!"}, "language"),
                                           ({"size": 300, "fps": 31}, "fps")])
def test_every_invalid_page_setting_is_a_422_with_the_field_named(server, options, field):
    refused = offer(server, options)
    assert refused.status_code == 422 and f"{field}: " in refused.json()["error"], refused.text


def test_websocket_settings_are_checked_by_the_same_rules(server):
    async def ask():
        async with websockets.connect(server.url.replace("http", "ws") + "/ws/motion") as ws:
            await ws.send(json.dumps({"type": "say", "text": "Hello", "options": {"size": 301}}))
            return json.loads(await asyncio.wait_for(ws.recv(), 30))

    assert asyncio.run(ask()) == {"type": "error", "message": f"size: {SIZE_RULE}"}


def test_serve_refuses_a_bad_default_in_the_flags_words():
    assert main(["serve", "--style", "wild"]) == 2  # before any model loads or port opens


def test_serve_flags_become_the_pages_defaults():
    from visage.cli.serve import defaults_from

    args = build_parser().parse_args(["serve", "--size", "384", "--fps", "30", "--knowledge", "faq.md",
                                      "--lang", "zh", "--brain", "openai"])
    assert defaults_from(args) == {"size": 384, "fps": 30, "knowledge": "faq.md", "language": "zh", "brain": "openai"}
    args = build_parser().parse_args(["serve", "--tts", "espeak", "--no-prepare-reply", "--end-silence", "0.5"])
    assert defaults_from(args) == {"tts": "espeak", "prepare_reply": False, "vad_silence": 0.5}


@pytest.mark.parametrize("command", ["chat", "ask"])
def test_the_knowledge_base_has_one_name_and_the_old_one_still_works(command):
    tail = ["q", "-o", "x.mp4"] if command == "ask" else []
    new = build_parser().parse_args([command, *tail, "--knowledge", "faq.yaml"])
    old = build_parser().parse_args([command, *tail, "--kb", "faq.yaml"])
    assert new.knowledge == old.knowledge == "faq.yaml"
    help_text = build_parser()._subparsers._group_actions[0].choices[command].format_help()
    assert "--knowledge" in help_text and "--kb" not in help_text


def test_brain_defaults_are_the_same_for_cli_and_pages(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("VISAGE_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    cli = BrainSettings()
    live = LiveOptions().brain_settings()
    assert cli == live and cli.base_url == "http://127.0.0.1:11434/v1" and cli.model == "qwen2.5:7b"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.0.0.2:8000/v1")
    monkeypatch.setenv("VISAGE_MODEL", "qwen2.5:14b")
    assert BrainSettings().base_url == LiveOptions().base_url == "http://10.0.0.2:8000/v1"
    assert BrainSettings().model == LiveOptions().model == "qwen2.5:14b"


def test_settings_are_read_from_a_file_with_overrides(tmp_path):
    path = tmp_path / "visage.yaml"
    path.write_text("video:\n  size: 384\n  style: lively\nbrain:\n  brain: openai\n  model: m\n")
    assert load_settings(VideoSettings, path, "video", fps=30) == VideoSettings(size=384, style="lively", fps=30)
    assert load_settings(BrainSettings, path, "brain").model == "m"
    path.write_text("video:\n  size: 301\n")
    with pytest.raises(InputError, match=f"invalid setting in .*visage.yaml: size: {SIZE_RULE}"):
        load_settings(VideoSettings, path, "video")


def test_serve_reads_its_defaults_from_a_file_and_flags_win(tmp_path, capsys):
    from visage.cli.serve import conversation_defaults

    path = tmp_path / "serve.yaml"
    path.write_text("size: 384\nstyle: lively\nvad_silence: 0.6\n")
    args = build_parser().parse_args(["serve", "--config", str(path), "--style", "calm"])
    assert conversation_defaults(args) == {"size": 384, "style": "calm", "vad_silence": 0.6}
    path.write_text("size: 301\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert f"size: {SIZE_RULE}" in capsys.readouterr().err
    path.write_text("szie: 384\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert "unknown setting(s) in" in capsys.readouterr().err


def test_the_voice_builder_backs_a_voice_with_the_fallback_unless_told_not_to():
    assert isinstance(build_voice(VoiceSettings(tts="espeak")), EspeakTTS)  # its own last resort
    default = build_voice(VoiceSettings())  # the auto voice (neural English), backed by espeak
    assert isinstance(default, FallbackTTS) and isinstance(default.fallback, EspeakTTS)
    with pytest.raises(InputError, match="unknown voice 'nobody'; choose one of: joe-female"):
        build_voice(VoiceSettings(voice="nobody"))
    backed = build_voice(VoiceSettings(tts="cosyvoice"))
    assert isinstance(backed, FallbackTTS) and isinstance(backed.fallback, EspeakTTS)
    assert not isinstance(build_voice(VoiceSettings(tts="cosyvoice", fallback="none")), FallbackTTS)
    with pytest.raises(ValueError, match="unknown voice backend 'nosuch'; choose one of: .*espeak"):
        VoiceSettings(tts="nosuch")


def test_the_cli_and_live_sessions_get_their_voice_from_the_same_builder(tmp_path):
    from visage.cli.options import voice_settings

    args = build_parser().parse_args(["speak", "hi", "-o", "x.wav", "--tts", "cosyvoice"])
    cli_voice = build_voice(voice_settings(args))
    live_voice = LiveServices(tmp_path).tts(LiveOptions(tts="cosyvoice"))
    assert type(cli_voice) is type(live_voice) is FallbackTTS
    assert type(cli_voice.primary) is type(live_voice.primary)
    assert main(["speak", "hi", "-o", str(tmp_path / "x.wav"), "--tts", "nosuch"]) == 2  # the rule's words


def test_the_brain_builder_serves_the_cli_and_live_sessions_alike(tmp_path):
    from visage.backends.llm.sessions import SessionStore
    from visage.cli.brain_options import brain_settings

    with LocalChatServer(tokens=["[happy 0.8] Hello", " there!"]) as chat_server:
        args = build_parser().parse_args(["chat", "--brain", "openai", "--base-url", chat_server.url,
                                          "--model", "visage-test"])
        cli_brain = build_brain(brain_settings(args), "en")
        services = LiveServices(SessionStore(tmp_path / "s.sqlite"))
        live_brain = services.brain(LiveOptions(brain="openai", base_url=chat_server.url, model="visage-test"))
        assert services.brain(LiveOptions(brain="openai", base_url=chat_server.url, model="visage-test")) is live_brain
        for brain in (cli_brain, live_brain):
            assert (brain.name, brain.base_url, brain.model) == ("openai", chat_server.url, "visage-test")
    embedded = build_brain(BrainSettings(), "en")
    assert embedded.name == "embedded"
