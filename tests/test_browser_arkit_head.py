"""The 3D client example (server/static/arkit_head/): a procedurally made head driven by the motion
stream's ARKit-52 weights in headless Chromium. Its pixels must follow the motion: a frame with the
jaw open draws a different mouth than one with it closed, a turned head a different picture, and while
the server speaks a text the drawn mouth region changes with the streamed jawOpen."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from browser_harness import live_server, Chromium, ServerThread, chromium_available

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs /usr/bin/chromium and /usr/bin/chromedriver"),
]

SHEET = Path(os.environ["VISAGE_ARKIT_SHOT"]) if os.environ.get("VISAGE_ARKIT_SHOT") else None
# the mean brightness of the canvas' mouth region (the lower middle of the face), and its jawOpen
SAMPLE = """
const c = document.getElementById('head'), g = window._g || (window._g = Object.assign(document.createElement('canvas'), {width: 64, height: 32}).getContext('2d', {willReadFrequently: true}));
g.drawImage(c, c.width * 0.42, c.height * 0.58, c.width * 0.16, c.height * 0.1, 0, 0, 64, 32);
const px = g.getImageData(0, 0, 64, 32).data; let s = 0;
for (let i = 0; i < px.length; i += 4) s += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
const h = window.arkit.head, f = h && h.frame;
return [s / (px.length / 4), f ? f.blendshapes[h.names.indexOf('jawOpen')] : 0, h ? h.drawn : 0];
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("home"), {"asr": "pocketsphinx"}, defaults={"tts": "espeak"}) as running:
        yield running


def test_the_3d_head_moves_with_the_motion_stream(server):
    with Chromium(None, size=(700, 900)) as browser:
        text = "Hello there! I am a head made of numbers, and I open my mouth when I speak."
        browser.driver.get(f"{server.url}/static/arkit_head/index.html?say={text}")
        browser.wait("window.arkit && window.arkit.head && window.arkit.state.frames > 10", 30, "frames arrive")
        samples = []
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and not (browser.js("return window.arkit.state.ended;") and len(samples) > 60):
            samples.append(browser.js(SAMPLE))
            time.sleep(0.04)
        assert browser.js("return window.arkit.state.error;") is None
        names = browser.js("return window.arkit.head.names;")
        # one pose at a time: jaw closed, jaw open, the head turned
        still = browser.js("""window.arkit.hold = true; const h = window.arkit.head, n = h.names.length;
            const pose = (jaw, yaw) => { const w = new Array(n).fill(0); w[h.names.indexOf('jawOpen')] = jaw;
              h.draw({t: 0, blendshapes: w, head: {pitch: 0, yaw: yaw, roll: 0, x: 0, y: 0, z: 0}, gaze: {yaw: 0, pitch: 0}}); };
            const grab = () => { const g = h.gl, px = new Uint8Array(4 * 512 * 512); g.readPixels(0, 0, 512, 512, g.RGBA, g.UNSIGNED_BYTE, px); return px; };
            pose(0, 0); const closed = grab(); pose(1, 0); const open = grab(); pose(0, 25); const turned = grab();
            const diff = (a, b) => { let d = 0; for (let i = 0; i < a.length; i += 4) d += Math.abs(a[i] - b[i]) > 8; return d; };
            return [diff(closed, open), diff(closed, turned)];""")
        if SHEET:  # docs/arkit-head.png: the rest pose, the jaw open and smiling, the head turned
            browser.js("""const h = window.arkit.head, n = h.names.length, w = new Array(n).fill(0);
                w[h.names.indexOf('jawOpen')] = 0.8; w[h.names.indexOf('mouthSmileLeft')] = 0.7;
                w[h.names.indexOf('mouthSmileRight')] = 0.7; w[h.names.indexOf('eyeBlinkLeft')] = 0.9;
                h.draw({t: 0, blendshapes: w, head: {pitch: 8, yaw: 20, roll: 5, x: 0, y: 0, z: 0}, gaze: {yaw: 10, pitch: 0}});""")
            browser.driver.find_element("id", "head").screenshot(str(SHEET))
    assert len(names) == 52 and "jawOpen" in names
    assert still[0] > 500, f"opening the jaw changes {still[0]} pixels"
    assert still[1] > 2000, f"turning the head changes {still[1]} pixels"
    s = np.array(samples)
    assert s[-1, 2] - s[0, 2] > 20, "the head was not redrawn while the stream played"
    assert s[:, 1].max() > 0.2, "the stream never opened the jaw"
    assert np.ptp(s[:, 0]) > 3, "the mouth region never changed"
    corr = float(np.corrcoef(s[:, 0], s[:, 1])[0, 1])
    assert abs(corr) > 0.4, f"the drawn mouth does not follow jawOpen (r={corr:.2f})"
