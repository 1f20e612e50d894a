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
  .then((face) => { window.face = face; window.FaceGLClass = FaceGL; return 'ready'; }, (e) => { window.faceError = String(e); return 'error'; });
</script></body></html>"""
SWIFTSHADER = ("--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
               "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
               "--disable-renderer-backgrounding", "--disable-background-timer-throttling")


class _Files(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, payload: bytes) -> None:
        self.payloads = {"payload": payload}
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        if path == "/":
            body, kind = PAGE, "text/html"
        elif path.endswith(".json") and path[1:-5] in self.server.payloads:
            body, kind = self.server.payloads[path[1:-5]], "application/json"
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

    def add(self, name: str, payload: dict) -> None:
        """Another avatar in the same page, on its own canvas: render(frame, name) draws it."""
        self.files.payloads[name] = json.dumps(payload).encode()
        state = self.driver.execute_async_script("""
            const [name, done] = arguments, canvas = document.createElement('canvas');
            document.body.appendChild(canvas);
            window.FaceGLClass.create(canvas, `/${name}.json`, { preserveDrawingBuffer: true })
              .then((face) => { (window.faces = window.faces || {})[name] = face; done('ready'); }, (e) => done(String(e)));""", name)
        if state != "ready":
            raise RuntimeError(f"the browser face {name!r} did not start: {state}")

    def render(self, frame: dict, name: str | None = None) -> np.ndarray:
        from PIL import Image

        url = self.driver.execute_script(
            "const face = arguments[1] ? window.faces[arguments[1]] : window.face;"
            "face.draw(arguments[0]); return face.canvas.toDataURL('image/png');", frame, name)
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


PLAY = """
const [frames, pcm, rate, box, name, done] = arguments;
const face = name ? window.faces[name] : window.face, gl = face.gl;
const bytes = Uint8Array.from(atob(pcm), (c) => c.charCodeAt(0));
const s16 = new Int16Array(bytes.buffer);
const ctx = new AudioContext();
const buf = ctx.createBuffer(1, s16.length, rate);
const ch = buf.getChannelData(0);
for (let i = 0; i < s16.length; i++) ch[i] = s16[i] / 32768;
const src = ctx.createBufferSource();
src.buffer = buf;
src.connect(ctx.destination);
face.clear();
for (const f of frames) face.push(f);
const [x0, y0, x1, y1] = box, w = x1 - x0, h = y1 - y0, px = new Uint8Array(w * h * 4);
const log = [];
let clock = null;
const draw = face.draw.bind(face);
face.draw = (f) => {  // what the face shows at each drawn frame: its time, and the mouth box's brightness
  const at = clock();
  draw(f);
  gl.readPixels(x0, face.size - y1, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
  let sum = 0;
  for (let i = 0; i < px.length; i += 4) sum += px[i] * 0.299 + px[i + 1] * 0.587 + px[i + 2] * 0.114;
  log.push([at, sum / (w * h)]);
};
ctx.resume().then(() => {
  const t0 = ctx.currentTime + 0.1;
  src.start(t0);
  clock = window.FaceGLClass.audioClock(ctx, t0);
  face.start(clock);
  setTimeout(() => { face.stop(); face.draw = draw; ctx.close(); done(log); }, (s16.length / rate + 0.3) * 1000);
});
"""


def play_and_watch(browser: BrowserFace, frames: list[dict], audio: np.ndarray, rate: int, box,
                   name: str | None = None) -> np.ndarray:
    """Play `audio` in the page with Web Audio while the face draws `frames` on its clock (FaceGL.start
    with FaceGL.audioClock), on the page's face `name` (add) or its first; returns (N, 2): each drawn frame's time on the audio clock and the mean
    brightness of the image box (x0, y0, x1, y1), the mouth's darkening being its opening."""
    pcm = base64.b64encode((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()).decode()
    return np.array(browser.driver.execute_async_script(PLAY, frames, pcm, int(rate), [int(v) for v in box], name))


def best_lag(t_a: np.ndarray, a: np.ndarray, t_b: np.ndarray, b: np.ndarray, reach: float = 0.2,
             step: float = 0.005) -> tuple[float, float]:
    """(lag in seconds, correlation) at which signal b best follows signal a (positive: b after a),
    both resampled every `step` seconds over their common span and standardised."""
    grid = np.arange(max(t_a[0], t_b[0]), min(t_a[-1], t_b[-1]), step)
    x, y = np.interp(grid, t_a, a), np.interp(grid, t_b, b)
    x, y = (x - x.mean()) / (x.std() + 1e-9), (y - y.mean()) / (y.std() + 1e-9)
    lags = np.arange(-int(reach / step), int(reach / step) + 1)
    scores = [float(np.mean(x[max(0, -k): len(x) - max(0, k)] * y[max(0, k): len(y) - max(0, -k)])) for k in lags]
    best = int(np.argmax(scores))
    return float(lags[best] * step), scores[best]


def voice_level(audio: np.ndarray, rate: int, step: float = 0.005, window: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """RMS level of `audio` every `step` seconds over `window`-long windows: (times, levels)."""
    half = int(window * rate / 2)
    times = np.arange(0.0, len(audio) / rate, step)
    centres = (times * rate).astype(int)
    levels = np.array([np.sqrt(np.mean(audio[max(0, c - half): c + half] ** 2)) for c in centres])
    return times, levels
