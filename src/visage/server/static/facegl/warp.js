// The warp's inverse map (warp.py MeshWarp.warp), on the CPU: the mesh's vertex displacements become a
// displacement field on a coarse grid (sparse barycentric tables from the payload), then one
// fixed-point step inverts it, q = p - d(p - d(p)), as the Python renderer does; the mouth's box gets
// its own full-resolution field and inversion. The shader (shaders.js WARP_FS) upsamples the coarse
// answer and pulls the photo through it, so the two renderers agree pixel for pixel, folds included.

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
  }
}
