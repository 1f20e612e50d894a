"""Same face, both ways, as a picture: the Python portrait renderer and the browser's WebGL renderer
(headless Chromium, SwiftShader) for rest, an open vowel, a blink, a smile and a head turn, with their
difference magnified 16x. Writes docs/browser-face.png and prints the figures (JSON, last line).

    .venv/bin/python scripts/browser_face_sheet.py [--out docs/browser-face.png]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from browser_face import BrowserFace, compare, poses  # noqa: E402


def main() -> None:
    import cv2

    from visage.backends.renderers.avatar_store import default_avatar
    from visage.backends.renderers.browser_payload import browser_payload
    from visage.backends.renderers.portrait import PortraitRenderer
    from visage.backends.vision.face_mesh import FaceMeshDetector
    from visage.core.records import frame_record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "browser-face.png"))
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    avatar = default_avatar()
    payload = browser_payload(avatar, size=args.size)
    renderer = PortraitRenderer(avatar, size=args.size)
    renderer.load()
    detector = FaceMeshDetector(static=True)
    figures, rows = {}, []
    s = args.size
    crop = (slice(int(0.12 * s), int(0.82 * s)), slice(int(0.18 * s), int(0.82 * s)))
    with BrowserFace(payload) as browser:
        for name, frame in poses().items():
            python_image = renderer.render(frame)
            browser_image = browser.render(frame_record(frame))
            figures[name] = {k: round(v, 3) for k, v in compare(python_image, browser_image, detector).items()}
            diff = np.clip(np.abs(python_image.astype(np.int16) - browser_image) * 16, 0, 255).astype(np.uint8)
            row = np.concatenate([im[crop] for im in (python_image, browser_image, diff)], axis=1).copy()
            cv2.putText(row, name, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
            rows.append(row)
        # the page's own cost per drawn frame (SwiftShader rasterises on the CPU: a GPU is far faster)
        timing = browser.js("""
            const face = window.face, n = face.payload.blendshape_names.length, jaw = face.model.index.jawOpen;
            const frames = Array.from({length: 60}, (_, i) => { const b = new Array(n).fill(0); b[jaw] = (i % 10) / 10;
              return {t: i / 30, blendshapes: b, head: {yaw: i % 7, pitch: 0, roll: 0, x: 0, y: 0, z: 0}, gaze: {yaw: 0, pitch: 0}}; });
            let cpu = 0; const t0 = performance.now();
            for (const f of frames) { const a = performance.now(); face.model.deform(f); face.warp.update(face.model.d); cpu += performance.now() - a; face.draw(f); }
            face.gl.finish();
            return {draw_ms: (performance.now() - t0) / frames.length, cpu_ms: cpu / frames.length};""")
    started = time.perf_counter()
    for frame in poses().values():
        renderer.render(frame)
    python_ms = (time.perf_counter() - started) / len(poses()) * 1000
    head = np.zeros((36, rows[0].shape[1], 3), np.uint8)
    w = rows[0].shape[1] // 3
    for k, label in enumerate(("python (server)", "browser (WebGL 2)", "difference x16")):
        cv2.putText(head, label, (k * w + 8, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    sheet = np.concatenate([head] + rows, axis=0)
    sheet = cv2.resize(sheet, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)  # under 1 MB    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    result = {"poses": figures, "payload_bytes": len(json.dumps(payload)),
              "browser_draw_ms_swiftshader": round(timing["draw_ms"], 2),
              "browser_cpu_ms_per_frame": round(timing["cpu_ms"], 2), "python_render_ms": round(python_ms, 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
