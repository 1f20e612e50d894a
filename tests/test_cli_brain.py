"""`visage chat`, `visage emotion` and `visage ask` from the command line."""
import json
import os
import subprocess
import sys

import av

from visage.cli.main import main


def run_cli(args, stdin="", home=None):
    env = dict(os.environ, VISAGE_HOME=str(home)) if home else None
    return subprocess.run([sys.executable, "-m", "visage.cli.main", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


def test_emotion_prints_json(capsys):
    assert main(["emotion", "I am so happy to see you!"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["emotion"] == "happy" and 0 < result["intensity"] <= 1


def test_chat_prints_tagged_sentences_and_remembers_the_session(tmp_path):
    first = run_cli(["chat", "--session", "demo"], "Hello!\nWhat can you do?\n", home=tmp_path)
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if line.startswith("[")]
    assert lines and lines[0].startswith("[happy")
    assert all(line.split()[2].rstrip("]") in ("statement", "question", "exclamation") for line in lines)
    again = run_cli(["chat", "--session", "demo"], "Tell me more.\n", home=tmp_path)
    assert again.returncode == 0 and again.stdout.strip()
    from visage.backends.llm.sessions import SessionStore

    history = SessionStore(tmp_path / "sessions.sqlite").load("demo").history
    assert [t.role for t in history][:2] == ["user", "assistant"] and len(history) == 6


def test_chat_with_a_server_that_is_down_says_how_to_fix_it(tmp_path):
    result = run_cli(["chat", "--brain", "openai", "--base-url", "http://127.0.0.1:9/v1"], "Hi there\n",
                     home=tmp_path)
    assert result.returncode == 2
    assert "cannot reach the chat model server" in result.stderr and "ollama serve" in result.stderr


def test_ask_makes_a_video_of_the_reply(tmp_path, default_avatar):
    out = tmp_path / "reply.mp4"
    env_home = tmp_path / "home"
    result = run_cli(["ask", "What is visage?", "-o", str(out), "--size", "256", "--quiet"], home=env_home)
    assert result.returncode == 0, result.stderr[-2000:]
    with av.open(str(out)) as container:
        kinds = {s.type for s in container.streams}
        assert kinds == {"video", "audio"} and container.duration > 2_000_000
    assert (tmp_path / "reply.srt").read_text().count("-->") >= 2
