"""A real RTMP server for the broadcast tests: Debian's nginx with libnginx-mod-rtmp, on a free
loopback port, with its own configuration, recording every publish session into a directory."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
CONFIG = """\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        application live {{
            live on;
            record all;
            record_path {records};
            record_unique on;
        }}
    }}
}}
"""


def nginx_missing() -> str | None:
    """Why the server cannot run here, or None; scripts/system_deps.sh installs both packages."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (apt-get install nginx libnginx-mod-rtmp; `make system-deps` does it)"
    if not MODULE.exists():
        return "the nginx RTMP module is not installed (apt-get install libnginx-mod-rtmp)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtmpServer:
    """nginx-rtmp on 127.0.0.1:`port`; `start()` and `stop()` may be called again (the reconnect test)."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root, self.port = root, port or free_port()
        self.records = root / "records"
        self.records.mkdir(parents=True, exist_ok=True)
        self.records.chmod(0o777)
        self.config = root / "nginx.conf"
        self.config.write_text(CONFIG.format(module=MODULE, dir=root, port=self.port, records=self.records))
        self.process: subprocess.Popen | None = None

    def url(self, key: str = "test") -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def start(self, timeout: float = 10.0) -> "RtmpServer":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([nginx, "-p", str(self.root), "-c", str(self.config), "-e",
                                         str(self.root / "error.log")], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on port {self.port}")

    def stop(self) -> None:
        """Fast shutdown (SIGTERM): publishers are cut off, recordings are closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def recordings(self) -> list[Path]:
        return sorted(self.records.glob("*.flv"), key=lambda p: p.stat().st_mtime)
