// The face model's per-frame arithmetic on the CPU (a few thousand multiply-adds): blendshape weights,
// gaze and head pose to vertex positions (face_model.py FaceMotionModel.displace, head_displacement),
// the mouth's axes and opening (mouth.py), all from the payload
// the server made with the Python renderer's own tables (browser_payload.py). Also the motion frames'
// queue: frames arrive with times on the audio clock and are interpolated at the display's rate.

const floats = (b64) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new Float32Array(bytes.buffer);
};

// np.interp: xp increasing, clamped at both ends
export function interp(x, xp, fp) {
  if (x <= xp[0]) return fp[0];
  for (let i = 1; i < xp.length; i++) {
    if (x <= xp[i]) return fp[i - 1] + (fp[i] - fp[i - 1]) * (x - xp[i - 1]) / Math.max(xp[i] - xp[i - 1], 1e-6);
  }
  return fp[fp.length - 1];
}

export class FaceModel {
  constructor(payload) {
    this.p = payload;
    this.names = payload.blendshape_names;
    this.index = Object.fromEntries(this.names.map((n, i) => [n, i]));
    this.vertices = Float32Array.from(payload.vertices);
    this.count = this.vertices.length / 3;
    this.basis = floats(payload.basis);
    this.rest = floats(payload.rest);
    this.closeLips = floats(payload.close_lips);
    this.gazeBasis = floats(payload.gaze_basis);
    this.follow = Float32Array.from(payload.follow);
    this.d = new Float64Array(this.count * 2);
    this.positions = new Float32Array(this.count * 2);
  }

  // the frame's 52 weights, from an array in BLENDSHAPE_NAMES order or a {name: weight} object
  weights(frame) {
    const given = frame.blendshapes ?? frame.weights ?? [];
    if (Array.isArray(given) || ArrayBuffer.isView(given)) return Float32Array.from(given);
    const w = new Float32Array(this.names.length);
    for (const [name, value] of Object.entries(given)) if (name in this.index) w[this.index[name]] = value;
    return w;
  }

  // vertex positions (V x 2, image pixels) for one frame: expression, gaze, then the head's rigid motion
  deform(frame) {
    const { count: n, d, vertices: v } = this;
    const w = this.weights(frame);
    for (let i = 0; i < 2 * n; i++) d[i] = this.rest[i];
    for (let k = 0; k < w.length; k++) {
      if (Math.abs(w[k]) < 1e-7) continue;
      const base = k * 2 * n;
      for (let i = 0; i < 2 * n; i++) d[i] += w[k] * this.basis[base + i];
    }
    const close = w[this.index.jawOpen] * w[this.index.mouthClose];
    const gaze = frame.gaze || {};
    const gy = gaze.yaw || 0, gp = gaze.pitch || 0;
    for (let i = 0; i < 2 * n; i++) d[i] += close * this.closeLips[i] + gy * this.gazeBasis[i] + gp * this.gazeBasis[2 * n + i];
    const head = frame.head || {};
    const rad = Math.PI / 180;
    const yaw = (head.yaw || 0) * rad, pitch = (head.pitch || 0) * rad, roll = (head.roll || 0) * rad;
    const [cy, sy, cp, sp, cr, sr] = [Math.cos(yaw), Math.sin(yaw), Math.cos(pitch), Math.sin(pitch), Math.cos(roll), Math.sin(roll)];
    const [px, py, pz] = this.p.pivot;
    const tx = (head.x || 0) * this.p.metres, ty = -(head.y || 0) * this.p.metres;
    for (let i = 0; i < n; i++) {
      const f = this.follow[i];
      const x = v[3 * i] + d[2 * i] - px, y = v[3 * i + 1] + d[2 * i + 1] - py, z = v[3 * i + 2] - pz;
      if (f !== 0) {
        const x1 = x * cy - z * sy, z1 = x * sy + z * cy;
        const y1 = y * cp - z1 * sp;
        const x2 = x1 * cr - y1 * sr, y2 = x1 * sr + y1 * cr;
        d[2 * i] += f * (x2 - x + tx);
        d[2 * i + 1] += f * (y2 - y + ty);
      }
      this.positions[2 * i] = v[3 * i] + d[2 * i];
      this.positions[2 * i + 1] = v[3 * i + 1] + d[2 * i + 1];
    }
    return { positions: this.positions, weights: w };
  }

  // each crease group's depth this frame (shading.py ExpressionShading.apply), as the shader's factor
  creases(w) {
    const k = this.p.crease_constants;
    const out = [0, 0, 0, 0];
    for (const c of this.p.creases) {
      let depth = c.offset;
      for (const [name, gain] of c.shapes) depth += gain * w[this.index[name]];
      depth = Math.min(1.5, Math.max(-k.max_lighten, depth));
      depth = Math.round(depth / k.step) * k.step;
      out[c.channel] = Math.abs(depth) < k.step / 2 ? 0 : k.fold_depth * depth * (depth < 0 ? 0.5 : 1);
    }
    return out;
  }

  // the mouth's axes and opening for the shader, or null when the lips are closed
  mouth(pos, w) {
    const m = this.p.mouth, size = this.p.size;
    const pt = (i) => [pos[2 * i], pos[2 * i + 1]];
    const upper = m.upper.map(pt), lower = m.lower.map(pt);
    const last = upper.length - 1;
    const centre = [(upper[0][0] + upper[last][0]) / 2, (upper[0][1] + upper[last][1]) / 2];
    let along = [upper[last][0] - upper[0][0], upper[last][1] - upper[0][1]];
    const halfW = Math.max(1, 0.5 * Math.hypot(along[0], along[1]));
    along = [along[0] / (2 * halfW), along[1] / (2 * halfW)];
    const down = [-along[1], along[0]];
    const uv = (q) => [(q[0] - centre[0]) * along[0] + (q[1] - centre[1]) * along[1],
      (q[0] - centre[0]) * down[0] + (q[1] - centre[1]) * down[1]];
    const up = upper.map(uv), lo = lower.map(uv);
    const upU = up.map((q) => q[0]), upV = up.map((q) => q[1]);
    const loU = lo.map((q) => q[0]);
    const loV = lo.map((q) => Math.max(q[1], interp(q[0], upU, upV)));
    let gap = -Infinity;
    for (let i = 1; i < loU.length - 1; i++) gap = Math.max(gap, loV[i] - interp(loU[i], upU, upV));
    if (gap < 0.6) return null;
    const pts = upper.concat(  // the outline: upper lip, then the lower one as drawn
      loU.map((u, i) => [centre[0] + u * along[0] + loV[i] * down[0], centre[1] + u * along[1] + loV[i] * down[1]]));
    const xs = pts.map((q) => q[0]), ys = pts.map((q) => q[1]);
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 2), y0 = Math.max(0, Math.floor(Math.min(...ys)) - 2);
    const x1 = Math.min(size, Math.ceil(Math.max(...xs)) + 3), y1 = Math.min(size, Math.ceil(Math.max(...ys)) + 3);
    if (x1 - x0 < 3 || y1 - y0 < 2) return null;
    const H = m.face_height;
    const tongueH = Math.min(0.42 * gap, 0.05 * H) * (1 + w[this.index.tongueOut]);
    return { rect: [x0, y0, x1, y1], centre, along, down, halfW, H, tongueH, upU, upV, loU, loV };
  }
}

// Motion frames on the audio clock, kept in time order; `at(t)` interpolates the two around t.
export class FrameQueue {
  constructor(keep = 2.0) { this.frames = []; this.keep = keep; }

  push(frame) {
    const f = { t: Number(frame.t) || 0, blendshapes: frame.blendshapes ?? frame.weights, head: frame.head || {}, gaze: frame.gaze || {} };
    const list = this.frames;
    let i = list.length;
    while (i > 0 && list[i - 1].t > f.t) i--;
    list.splice(i, 0, f);
  }

  clear() { this.frames = []; }

  at(t, model) {
    const list = this.frames;
    while (list.length > 2 && list[1].t < t - this.keep) list.shift();
    if (!list.length) return null;
    if (t <= list[0].t) return list[0];
    let i = 1;
    while (i < list.length && list[i].t < t) i++;
    if (i >= list.length) return list[list.length - 1];
    const a = list[i - 1], b = list[i];
    return mix(a, b, (t - a.t) / Math.max(b.t - a.t, 1e-6), model);
  }
}

const HEAD = ['yaw', 'pitch', 'roll', 'x', 'y', 'z'];

export function mix(a, b, s, model) {
  const wa = model.weights(a), wb = model.weights(b);
  const w = wa.map((v, k) => v + (wb[k] - v) * s);
  const lerp = (p, q, key) => (p[key] || 0) + ((q[key] || 0) - (p[key] || 0)) * s;
  const head = Object.fromEntries(HEAD.map((k) => [k, lerp(a.head || {}, b.head || {}, k)]));
  const gaze = { yaw: lerp(a.gaze || {}, b.gaze || {}, 'yaw'), pitch: lerp(a.gaze || {}, b.gaze || {}, 'pitch') };
  return { t: a.t + (b.t - a.t) * s, blendshapes: w, head, gaze };
}
