# Two commands for a newcomer: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps demo test test-slow bench serve clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

demo: setup
	$(PY) scripts/demo.py

system-deps:
	bash scripts/system_deps.sh

test: setup system-deps
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pip install --quiet -e ".[llamacpp]"  # the real model server of tests/test_brain_llama.py
	$(PY) -m pytest -q -m slow

bench: setup
	$(PY) bench/bench_tts.py --long
	$(PY) bench/bench_voice_neural.py
	$(PY) bench/bench_align.py
	$(PY) bench/bench_motion.py
	$(PY) bench/bench_motion_layers.py
	$(PY) bench/bench_motion_quality.py
	$(PY) bench/bench_render.py
	$(PY) bench/ab_render_warp.py
	$(PY) scripts/browser_face_sheet.py
	$(PY) bench/bench_video_avatar.py
	$(PY) bench/bench_say.py
	$(PY) bench/bench_batch.py
	$(PY) bench/bench_broadcast.py --seconds 60
	$(PY) bench/bench_brain.py
	$(PY) bench/bench_brain_quality.py
	$(PY) bench/bench_brain_quality.py --cases tests/data/brain_turns_heldout2.yaml
	$(PY) bench/bench_tags.py
	$(PY) bench/bench_asr.py
	$(PY) bench/bench_asr_stall.py
	$(PY) bench/bench_ear.py
	$(PY) bench/bench_live.py --asr pocketsphinx,whisper --no-concurrency
	$(PY) bench/bench_live.py
	$(PY) bench/bench_live_scale.py

serve: setup
	$(VENV)/bin/visage serve

clean:
	rm -rf $(VENV) out .pytest_cache
