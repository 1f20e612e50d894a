"""The browser face (server/static/facegl) in headless Chromium, for tests and benchmarks: a loopback
HTTP server hands out the static files, an avatar payload (browser_payload.py) and a bare page with
one canvas; Chromium draws with WebGL 2 on SwiftShader (its CPU rasteriser), so no GPU is needed."""
from __future__ import annotations

import base64
import io
import json
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from browser_harness import CHROMEDRIVER, CHROMIUM

STATIC = Path(__file__).resolve().parents[1] / "src" / "visage" / "server" / "static"
PAGE = b"""<!doctype html><html><body style="margin:0"><canvas id="face"></canvas>
<script type="module">
import { FaceGL } from '/static/facegl/face.js';
window.faceReady = FaceGL.create(document.getElementById('face'), '/payload.json', { preserveDrawingBuffer: true })
  .then((face) => { window.face = face; return 'ready'; }, (e) => { window.faceError = String(e); return 'error'; });
</script></body></html>"""
SWIFTSHADER = ("--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
               "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync")


class _Files(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        if path == "/":
            body, kind = PAGE, "text/html"
        elif path == "/payload.json":
            body, kind = self.server.payload, "application/json"
        elif path.startswith("/static/") and ".." not in path and (STATIC / path[8:]).is_file():
            body = (STATIC / path[8:]).read_bytes()
            kind = "text/javascript" if path.endswith(".js") else "application/octet-stream"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class BrowserFace:
    """The face page open in headless Chromium; `render(frame_record)` -> RGB uint8 image."""

    def __init__(self, payload: dict) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.files = _Files(json.dumps(payload).encode())
        threading.Thread(target=self.files.serve_forever, daemon=True).start()
        self.profile = tempfile.mkdtemp(prefix="visage-facegl-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in SWIFTSHADER + (f"--user-data-dir={self.profile}", "--window-size=1100,1100"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_script_timeout(120)
        try:
            self.driver.get(f"http://127.0.0.1:{self.files.server_address[1]}/")
            state = self.driver.execute_async_script(
                "const done = arguments[0]; const wait = () => window.faceReady ? window.faceReady.then(done) "
                ": setTimeout(wait, 20); wait();")
            if state != "ready":
                raise RuntimeError(f"the browser face did not start: {self.driver.execute_script('return window.faceError')}")
        except BaseException:
            self.close()
            raise

    def info(self) -> dict:
        return self.driver.execute_script(
            "const gl = face.gl, e = gl.getExtension('WEBGL_debug_renderer_info');"
            "return {renderer: e ? gl.getParameter(e.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),"
            " version: gl.getParameter(gl.VERSION)};")

    def render(self, frame: dict) -> np.ndarray:
        from PIL import Image

        url = self.driver.execute_script(
            "face.draw(arguments[0]); return document.getElementById('face').toDataURL('image/png');", frame)
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
            return np.asarray(im.convert("RGB"))

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self.files.shutdown()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "BrowserFace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def poses() -> dict:
    """The comparison's poses, name -> FaceFrame: rest, an open vowel, a blink, a smile, a head turn."""
    from visage.core.arkit import weights
    from visage.core.types import FaceFrame, Gaze, HeadPose

    def frame(shapes, head=None, gaze=None):
        return FaceFrame(0.0, weights(shapes), head or HeadPose(), gaze or Gaze())

    return {
        "rest": frame({}),
        "open vowel": frame({"jawOpen": 0.7, "mouthFunnel": 0.1, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3}),
        "blink": frame({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),
        "smile": frame({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.4,
                        "cheekSquintRight": 0.4, "jawOpen": 0.15}, gaze=Gaze(yaw=6, pitch=-3)),
        "head turn": frame({"jawOpen": 0.3, "browInnerUp": 0.6},
                           HeadPose(yaw=15, pitch=5, roll=-6, x=0.01, y=0.005), Gaze(yaw=-8, pitch=2)),
    }


def compare(python_image: np.ndarray, browser_image: np.ndarray, detector) -> dict:
    """Per-pixel mean absolute error (0..255, over all pixels and channels), the share of pixels off by
    more than 16 levels, and the face-mesh landmarks found on both: mean and largest distance (px)."""
    diff = np.abs(python_image.astype(np.int16) - browser_image.astype(np.int16))
    found = [detector.detect(python_image, max_faces=1), detector.detect(browser_image, max_faces=1)]
    out = {"mae": float(diff.mean()), "off16": float((diff.max(axis=2) > 16).mean())}
    if all(found):
        gap = np.linalg.norm(found[0][0][:, :2] - found[1][0][:, :2], axis=1)
        out.update(landmarks_mean_px=float(gap.mean()), landmarks_max_px=float(gap.max()))
    return out
