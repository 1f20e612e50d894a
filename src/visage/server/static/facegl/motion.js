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

  // the mouth's axes, lip lines and opening for the shader (mouth.py MouthInterior.draw's per-frame
  // part, the grid's maxima included), or null when the lips are closed
  mouth(pos, w) {
    const m = this.p.mouth, size = this.p.size, H = m.face_height, step = m.step;
    const pt = (i) => [pos[2 * i], pos[2 * i + 1]];
    const upper = m.upper.map(pt);
    const last = upper.length - 1;
    const centre = [(upper[0][0] + upper[last][0]) / 2, (upper[0][1] + upper[last][1]) / 2];
    let along = [upper[last][0] - upper[0][0], upper[last][1] - upper[0][1]];
    const halfW = Math.max(1, 0.5 * Math.hypot(along[0], along[1]));
    along = [along[0] / (2 * halfW), along[1] / (2 * halfW)];
    const down = [-along[1], along[0]];
    const line = (ids) => {
      const q = ids.map(pt).map((p) => [(p[0] - centre[0]) * along[0] + (p[1] - centre[1]) * along[1],
        (p[0] - centre[0]) * down[0] + (p[1] - centre[1]) * down[1]]);
      return [q.map((a) => a[0]), q.map((a) => a[1])];
    };
    const [upU, upV] = line(m.upper);
    const [loU, loV0] = line(m.lower);
    const loV = loV0.map((v, i) => Math.max(v, interp(loU[i], upU, upV)));
    let widest = -Infinity;
    for (let i = 1; i < loU.length - 1; i++) widest = Math.max(widest, loV[i] - interp(loU[i], upU, upV));
    if (widest < 0.6) return null;
    const [olU, olV] = line(m.outer_lo), [ouU, ouV] = line(m.outer_up), [cuU, cuV] = line(m.cover_up);
    const [clU, clV0] = line(m.cover_lo);
    const clV = clV0.map((v, i) => Math.max(v, interp(clU[i], cuU, cuV)));
    const shape = mouthShape(w, this.index);
    // the grid Python paints (its columns and rows), for the maxima its formulas take
    // the painting covers the lips' opening and `margin` px more, fading over `outline` (mouth.py)
    const margin = Math.max(1, 0.004 * H), outline = Math.max(step, 0.007 * H), spill = Math.ceil(margin + outline);
    const u0 = Math.floor(Math.min(cuU[0], clU[0])) - 2 - spill, u1 = Math.ceil(Math.max(cuU[last], clU[last])) + 3 + spill;
    const cols = Math.ceil((u1 - u0) / step);
    const lines = { upU, upV, loU, loV, cuU, cuV, clU, clV, ouU, ouV, olU, olV };
    let halfMax = 0, gapMax = 0, top0 = Infinity, bottom1 = -Infinity, roundB = 0;
    const columns = [];
    for (let i = 0; i < cols; i++) columns.push(mouthColumn(u0 + step * i, lines, shape, H, halfW, widest));
    for (const c of columns) roundB = Math.max(roundB, c.lipBottom - c.lipTop);
    roundB = 0.5 * roundB + 0.5;
    const uMid = 0.5 * (cuU[0] + cuU[last]), roundA = 0.5 * (cuU[last] - cuU[0]);
    for (const c of columns) {
      roundedLips(c, uMid, roundA, roundB);
      halfMax = Math.max(halfMax, c.half);
      gapMax = Math.max(gapMax, c.gap);
      top0 = Math.min(top0, c.lipTop, c.top);
      bottom1 = Math.max(bottom1, c.lipBottom + 0.7 * c.lipT);
    }
    let cgap = 0, centreAt = 0;
    for (const [i, c] of columns.entries()) {
      const h = Math.min(c.half, capAt(c.s, shape, halfMax));
      const ct = Math.max(c.mid - h, c.lipTop), cb = Math.min(c.mid + h, c.lipBottom);
      const mid = 0.5 * (ct + cb), half = Math.max(0.5 * (cb - ct), 0);
      c.ct = mid - half; c.cb = mid + half;
      cgap = Math.max(cgap, c.cb - c.ct);
      if (Math.abs(c.u) < Math.abs(columns[centreAt].u)) centreAt = i;
    }
    // the tongue pushed out over the lower lip (mouth.py draw, mouth_cavity.tongue_tip)
    const tc = columns[centreAt], tongueOut = w[this.index.tongueOut] * Math.min(1, widest / (0.03 * H));
    const tongueFront = tc.lipBottom + (0.15 + 0.45 * tongueOut) * tc.lipT, tongueBack = tc.ct + 0.35 * (tc.cb - tc.ct);
    const v0 = Math.floor(top0) - 2 - spill, v1 = Math.ceil(bottom1) + 3;
    const rows = Math.ceil((v1 - v0) / step);
    const ue = u0 + step * cols, ve = v0 + step * rows;
    const xs = [], ys = [];
    for (const [u, v] of [[u0, v0], [ue, v0], [u0, ve], [ue, ve]]) {
      xs.push(centre[0] + u * along[0] + v * down[0]);
      ys.push(centre[1] + u * along[1] + v * down[1]);
    }
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 1), y0 = Math.max(0, Math.floor(Math.min(...ys)) - 1);
    const x1 = Math.min(size, Math.ceil(Math.max(...xs)) + 2), y1 = Math.min(size, Math.ceil(Math.max(...ys)) + 2);
    if (x1 - x0 < 2 || y1 - y0 < 2) return null;
    const sp = m.sprites, logs = sp.gaps.map(Math.log);
    const x = interp(Math.log(Math.max(cgap, 1e-3)), logs, logs.map((_, i) => i));
    const k = Math.min(Math.floor(x), sp.levels - 2);
    return { rect: [x0, y0, x1, y1], centre, along, down, halfW, H, ...lines, shareUp: shape.shareUp,
      shareLo: shape.shareLo, end: shape.end, power: shape.power, reachIn: shape.reach, halfMax, gapMax, widest,
      edge: Math.max(step, 0.004 * H), softEdge: Math.max(step, 0.009 * H), outline, margin,
      uMid, roundA, roundB, rung: k, rungMix: x - k, tongueOut, tongueFront, tongueBack,
      tongueEdge: Math.max(step, 0.006 * H) };
  }
}

// What a frame's blendshapes say about the opening (mouth.py MouthShape: bands(), ends() and reach()).
export function mouthShape(w, index) {
  const mean = (...names) => names.reduce((a, n) => a + w[index[n]], 0) / names.length;
  const unit = (x) => Math.min(Math.max(x, 0), 1);
  const jaw = unit(mean('jawOpen')), round = unit(mean('mouthFunnel') + mean('mouthPucker'));
  const wide = unit(mean('mouthSmileLeft', 'mouthSmileRight') + mean('mouthStretchLeft', 'mouthStretchRight'));
  const lift = unit(mean('mouthUpperUpLeft', 'mouthUpperUpRight')), roll = unit(mean('mouthRollLower'));
  return {
    shareUp: Math.max(0.05 + 0.08 * round - 0.03 * lift - 0.02 * wide, 0.02),
    shareLo: Math.max(0.13 + 0.10 * jaw + 0.16 * round + 0.10 * roll - 0.05 * wide, 0.05),
    end: Math.min(Math.max(0.86 - 0.46 * round + 0.08 * wide, 0.4), 0.95),
    power: 2.0 + 0.8 * jaw * (1 - round),
    reach: 0.6 * (1 - 0.8 * round),
  };
}

// the rounded end of the opening's dark part at place s (mouth.py: cap)
function capAt(s, shape, halfMax) {
  const r = Math.min(Math.abs(s) / shape.end, 1);
  return halfMax * Math.pow(Math.max(1 - Math.pow(r, shape.power), 0), 1 / shape.power);
}

// one column of the mouth's grid at u (px across the mouth from its centre), before the end's cap
function mouthColumn(u, l, shape, H, halfW, widest) {
  const top = interp(u, l.upU, l.upV), bottom = interp(u, l.loU, l.loV);
  const gap = Math.max(bottom - top, 0);
  let lipTop = interp(u, l.cuU, l.cuV), lipBottom = interp(u, l.clU, l.clV);
  const lipT = Math.max(interp(u, l.olU, l.olV) - lipBottom, 1);
  const reach = shape.reach * Math.min(Math.max((Math.abs(u) / halfW - 0.55) / 0.45, 0), 1) * Math.min(1, widest / (0.02 * H));
  lipTop -= reach * Math.max(lipTop - interp(u, l.ouU, l.ouV), 0);
  lipBottom += reach * lipT;
  lipTop = Math.max(lipTop, interp(u, l.ouU, l.ouV));  // inside the outer lip lines (mouth.py _rounded)
  lipBottom = Math.min(lipBottom, interp(u, l.olU, l.olV));
  const ct = top + Math.min(shape.shareUp * gap, 0.02 * H), cb = bottom - Math.min(shape.shareLo * gap, 0.035 * H);
  return { u, top, gap, lipTop, lipBottom, lipT, mid: 0.5 * (ct + cb), half: Math.max(0.5 * (cb - ct), 0),
    s: Math.min(Math.max(u / halfW, -1), 1) };
}

// the lips' inner sides within a rounded contour (mouth.py _rounded): a superellipse corner to corner
export function roundedLips(c, uMid, roundA, roundB) {
  const middle = 0.5 * (c.lipTop + c.lipBottom);
  const a = Math.min(Math.abs(c.u - uMid) / Math.max(roundA, 1), 1);
  const h = roundB * Math.pow(Math.max(1 - Math.pow(a, 2.4), 0), 1 / 2.4);
  c.lipTop = Math.max(c.lipTop, middle - h);
  c.lipBottom = Math.min(c.lipBottom, middle + h);
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
