// The warp's inverse map (warp.py MeshWarp.warp), on the CPU: the mesh's vertex displacements become a
// displacement field on a coarse grid (sparse barycentric tables from the payload), then one
// fixed-point step inverts it, q = p - d(p - d(p)), as the Python renderer does; the mouth's box gets
// its own full-resolution field and inversion. The shader (shaders.js WARP_FS) upsamples the coarse
// answer and pulls the photo through it, so the two renderers agree pixel for pixel, folds included.
// As the lips part the mouth's box takes the exact map (warp.py _exact): the triangles rasterised at
// their moved places, each pixel pulled back through its triangle's affine map.

const typed = (b64, Type) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new Type(bytes.buffer);
};

class Table {
  constructor(t) {
    const runs = typed(t.runs, Uint32Array), q = typed(t.weights, Uint16Array);
    this.corners = typed(t.corners, Uint16Array);
    const count = this.corners.length / 3;
    this.rows = new Uint32Array(count);
    for (let r = 0, k = 0; r < runs.length; r += 2) for (let i = 0; i < runs[r + 1]; i++) this.rows[k++] = runs[r] + i;
    const [lo, hi] = t.weight_range;
    this.weights = new Float64Array(3 * count);
    for (let r = 0; r < count; r++) {
      const a = lo + (hi - lo) * q[2 * r] / 65535, b = lo + (hi - lo) * q[2 * r + 1] / 65535;
      this.weights.set([a, b, 1 - a - b], 3 * r);
    }
  }

  // field[row] = sum of weight * displacement over the row's three vertices (others stay 0)
  apply(d, field) {
    const { rows, corners: c, weights: w } = this;
    for (let r = 0; r < rows.length; r++) {
      const k = 3 * r, a = 2 * c[k], b = 2 * c[k + 1], e = 2 * c[k + 2], o = 2 * rows[r];
      field[o] = w[k] * d[a] + w[k + 1] * d[b] + w[k + 2] * d[e];
      field[o + 1] = w[k] * d[a + 1] + w[k + 1] * d[b + 1] + w[k + 2] * d[e + 1];
    }
  }
}

// bilinear sample of an (h, w, 2) field at (x, y), edges replicated (cv2.remap, BORDER_REPLICATE)
function sample(field, w, h, x, y, out) {
  x = Math.min(Math.max(x, 0), w - 1);
  y = Math.min(Math.max(y, 0), h - 1);
  const x0 = Math.min(Math.floor(x), w - 2 < 0 ? 0 : w - 2), y0 = Math.min(Math.floor(y), h - 2 < 0 ? 0 : h - 2);
  const fx = x - x0, fy = y - y0;
  const i00 = 2 * (y0 * w + x0), i01 = i00 + 2, i10 = i00 + 2 * w, i11 = i10 + 2;
  for (let c = 0; c < 2; c++) {
    const top = field[i00 + c] + (field[i01 + c] - field[i00 + c]) * fx;
    const bottom = field[i10 + c] + (field[i11 + c] - field[i10 + c]) * fx;
    out[c] = top + (bottom - top) * fy;
  }
}

export class InverseWarp {
  constructor(warp) {
    this.step = warp.step;
    this.n = warp.n;
    this.coarse = new Table(warp.coarse);
    this.field = new Float32Array(this.n * this.n * 2);
    this.inverse = new Float32Array(this.n * this.n * 2);  // d2: the displacement to pull back by
    this.fine = null;
    if (warp.fine) {
      const [x0, y0, x1, y1] = warp.fine.box;
      this.fine = { box: warp.fine.box, w: x1 - x0, h: y1 - y0, table: new Table(warp.fine),
        field: new Float32Array((x1 - x0) * (y1 - y0) * 2), map: new Float32Array((x1 - x0) * (y1 - y0) * 4) };
      const e = warp.fine.exact;
      this.exact = { triangles: typed(e.triangles, Uint16Array), rest: typed(e.rest, Float32Array), feather: e.feather,
        upper: e.upper, lower: e.lower, gap: e.gap, rows: e.rows, last: new Int32Array(this.fine.w * e.rows),
      };
    }
  }

  // how much of the exact map to take (portrait.py exact_share): all once the lips part by `gap`
  share(d) {
    const { rest, upper, lower, gap } = this.exact;
    let widest = -Infinity;
    for (let k = 0; k < upper.length; k++) {
      const u = upper[k], l = lower[k];
      widest = Math.max(widest, (rest[2 * l + 1] + d[2 * l + 1]) - (rest[2 * u + 1] + d[2 * u + 1]));
    }
    return Math.min(Math.max(widest / gap, 0), 1);
  }

  // the fine box's exact map over its fixed-point one (warp.py MeshWarp._exact)
  applyExact(d, share) {
    const f = this.fine, e = this.exact, { rest, triangles } = e;
    const [x0, y0] = f.box, W = f.w, H = e.rows, T = triangles.length / 3;
    const aff = new Float64Array(6 * T), ok = new Uint8Array(T), corners = new Array(T);
    for (let t = 0; t < T; t++) {
      const i = triangles.subarray(3 * t, 3 * t + 3);
      const r = [], m = [];
      for (let c = 0; c < 3; c++) {
        const v = i[c];
        r.push([rest[2 * v], rest[2 * v + 1]]);
        m.push([rest[2 * v] + d[2 * v] - x0, rest[2 * v + 1] + d[2 * v + 1] - y0]);
      }
      const e1 = [m[0][0] - m[2][0], m[0][1] - m[2][1]], e2 = [m[1][0] - m[2][0], m[1][1] - m[2][1]];
      const r1 = [r[0][0] - r[2][0], r[0][1] - r[2][1]], r2 = [r[1][0] - r[2][0], r[1][1] - r[2][1]];
      const det = e1[0] * e2[1] - e1[1] * e2[0], restDet = r1[0] * r2[1] - r1[1] * r2[0];
      ok[t] = Math.abs(det) > 1e-3 && det * restDet > 0 ? 1 : 0;
      if (!ok[t]) continue;
      // lin = [r1 r2] @ inv([e1 e2]); shift = r2' - lin @ m2
      const i00 = e2[1] / det, i01 = -e2[0] / det, i10 = -e1[1] / det, i11 = e1[0] / det;
      const a = r1[0] * i00 + r2[0] * i10, b = r1[0] * i01 + r2[0] * i11;
      const c = r1[1] * i00 + r2[1] * i10, g = r1[1] * i01 + r2[1] * i11;
      aff.set([a, b, r[2][0] - (a * m[2][0] + b * m[2][1]), c, g, r[2][1] - (c * m[2][0] + g * m[2][1])], 6 * t);
      // corners in 1/16 px, as cv2.fillConvexPoly with shift 4 draws them
      corners[t] = m.flatMap(([x, y]) => [Math.round(x * 16), Math.round(y * 16)]);
    }
    const fill = (owner, order) => {
      owner.fill(-1);
      for (const t of order) {
        if (!ok[t]) continue;
        const p = corners[t];
        const xs = [p[0] / 16, p[2] / 16, p[4] / 16], ys = [p[1] / 16, p[3] / 16, p[5] / 16];
        const bx0 = Math.max(0, Math.ceil(Math.min(...xs))), bx1 = Math.min(W - 1, Math.floor(Math.max(...xs)));
        const by0 = Math.max(0, Math.ceil(Math.min(...ys))), by1 = Math.min(H - 1, Math.floor(Math.max(...ys)));
        const area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (ys[1] - ys[0]) * (xs[2] - xs[0]);
        const sgn = area > 0 ? 1 : -1;
        for (let y = by0; y <= by1; y++) {
          for (let x = bx0; x <= bx1; x++) {
            let inside = true;
            for (let k = 0; k < 3 && inside; k++) {
              const k1 = (k + 1) % 3;
              const cross = (xs[k1] - xs[k]) * (y - ys[k]) - (ys[k1] - ys[k]) * (x - xs[k]);
              inside = sgn * cross >= -1e-9;
            }
            if (inside) owner[y * W + x] = t;
          }
        }
      }
    };
    fill(e.last, Array.from({ length: T }, (_, t) => t));  // the last drawn wins, as on a GPU
    const got = [0, 0];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x, t = e.last[i];
        if (t < 0) continue;
        // the fixed-point answer here, faded into by the box's edges: the fine one, or the coarse one
        // upsampled (cv2.resize's pixel centres)
        let sx, sy;
        if (f.map[4 * i + 2]) { sx = f.map[4 * i]; sy = f.map[4 * i + 1]; } else {
          const X = x0 + x, Y = y0 + y;
          sample(this.inverse, this.n, this.n, (X + 0.5) / this.step - 0.5, (Y + 0.5) / this.step - 0.5, got);
          sx = X - got[0]; sy = Y - got[1];
        }
        const a = 6 * t;
        const ex = aff[a] * x + aff[a + 1] * y + aff[a + 2], ey = aff[a + 3] * x + aff[a + 4] * y + aff[a + 5];
        const edge = Math.min(Math.min(x, W - 1 - x), Math.min(y, H - 1 - y));
        const wgt = Math.min(Math.max(edge / e.feather, 0), 1) * share;
        f.map[4 * i] = sx + (ex - sx) * wgt;
        f.map[4 * i + 1] = sy + (ey - sy) * wgt;
        f.map[4 * i + 2] = 1;
      }
    }
  }

  // d: vertex displacements (V x 2). Fills `inverse` (coarse) and the fine box's map (x, y, use, 0).
  update(d) {
    const { n, step, field, inverse } = this;
    this.coarse.apply(d, field);
    const got = [0, 0];
    const rows = this.coarse.rows;
    for (let r = 0; r < rows.length; r++) {  // elsewhere d = 0, so the inverse is 0 there too
      const o = 2 * rows[r], gx = rows[r] % n, gy = (rows[r] - gx) / n;
      sample(field, n, n, gx - field[o] / step, gy - field[o + 1] / step, got);
      inverse[o] = got[0];
      inverse[o + 1] = got[1];
    }
    const f = this.fine;
    if (!f) return;
    f.field.fill(0);
    f.table.apply(d, f.field);
    const [x0, y0] = f.box;
    for (let y = 0; y < f.h; y++) {
      for (let x = 0; x < f.w; x++) {
        const i = y * f.w + x;
        const gx = x - f.field[2 * i], gy = y - f.field[2 * i + 1];
        const out = gx < 0 || gy < 0 || gx > f.w - 1 || gy > f.h - 1;  // then the coarse answer stands
        sample(f.field, f.w, f.h, gx, gy, got);
        f.map[4 * i] = x0 + x - got[0];
        f.map[4 * i + 1] = y0 + y - got[1];
        f.map[4 * i + 2] = out ? 0 : 1;
      }
    }
    const share = this.share(d);
    if (share > 0) this.applyExact(d, share);
  }
}
