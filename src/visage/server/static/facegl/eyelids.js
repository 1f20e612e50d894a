// Closing eyelids, painted on the CPU (a port of eyelids.py as reworked for issue 16: the lid closed in
// the eye's own axes, toned, shaded, textured from under the eye, the photo's own lashes moved to the
// new edge). The eye's box is read back from the warped image, painted here with the same steps and
// the same Gaussian kernels as OpenCV, and drawn back: a few thousand pixels per eye, during blinks only.
import { interp } from './motion.js';

const LUMA = [0.299, 0.587, 0.114];

class Img {
  constructor(w, h, data) { this.w = w; this.h = h; this.data = data || new Float32Array(w * h * 3); }

  // bilinear sample at (x, y), edges replicated (cv2.remap, INTER_LINEAR, BORDER_REPLICATE)
  sample(x, y, out, o = 0) {
    const { w, h, data } = this;
    x = Math.min(Math.max(x, 0), w - 1); y = Math.min(Math.max(y, 0), h - 1);
    const x0 = Math.min(Math.floor(x), Math.max(w - 2, 0)), y0 = Math.min(Math.floor(y), Math.max(h - 2, 0));
    const fx = x - x0, fy = y - y0, x1 = Math.min(x0 + 1, w - 1), y1 = Math.min(y0 + 1, h - 1);
    for (let c = 0; c < 3; c++) {
      const a = data[3 * (y0 * w + x0) + c], b = data[3 * (y0 * w + x1) + c];
      const d = data[3 * (y1 * w + x0) + c], e = data[3 * (y1 * w + x1) + c];
      out[o + c] = (a + (b - a) * fx) * (1 - fy) + (d + (e - d) * fx) * fy;
    }
  }
}

// OpenCV's Gaussian kernel: 3 sigma a side for 8-bit images, 4 for float ones; reflect-101 borders
function kernel(sigma, eightBit) {
  const size = (Math.round(sigma * (eightBit ? 3 : 4) * 2 + 1) | 1), half = (size - 1) / 2;
  const k = Array.from({ length: size }, (_, i) => Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
}

const reflect = (i, n) => {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
};

function blur(img, sx, sy, eightBit = false, channels = 3) {
  sy = sy || sx;
  const kx = kernel(sx, eightBit), ky = kernel(sy, eightBit), hx = (kx.length - 1) / 2, hy = (ky.length - 1) / 2;
  const { w, h } = img, tmp = new Float32Array(w * h * channels), out = new Float32Array(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let i = 0; i < kx.length; i++) s += kx[i] * img.data[channels * (y * w + reflect(x + i - hx, w)) + c];
    tmp[channels * (y * w + x) + c] = s;
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let j = 0; j < ky.length; j++) s += ky[j] * tmp[channels * (reflect(y + j - hy, h) * w + x) + c];
    out[channels * (y * w + x) + c] = eightBit ? Math.round(s) : s;
  }
  return channels === 3 ? new Img(w, h, out) : out;
}

const smooth = (x) => { x = Math.min(Math.max(x, 0), 1); return x * x * (3 - 2 * x); };
const clamp01 = (x) => Math.min(Math.max(x, 0), 1);

// the eye's centre, its axis from the first corner to the last, and the axis across it, downwards
function axes(upper) {
  const centre = [(upper[0][0] + upper[upper.length - 1][0]) / 2, (upper[0][1] + upper[upper.length - 1][1]) / 2];
  let along = [upper[upper.length - 1][0] - upper[0][0], upper[upper.length - 1][1] - upper[0][1]];
  const n = Math.max(1e-6, Math.hypot(along[0], along[1]));
  along = [along[0] / n, along[1] / n];
  let down = [-along[1], along[0]];
  if (down[1] < 0) down = [-down[0], -down[1]];
  return { centre, along, down };
}

function byU(points, ax) {
  const uv = points.map((p) => [(p[0] - ax.centre[0]) * ax.along[0] + (p[1] - ax.centre[1]) * ax.along[1],
    (p[0] - ax.centre[0]) * ax.down[0] + (p[1] - ax.centre[1]) * ax.down[1]]).sort((a, b) => a[0] - b[0]);
  return [uv.map((q) => q[0]), uv.map((q) => q[1])];
}

// the lash line's half thickness in the middle of the eye (pixels): a share of the face's height
const lashHalf = (payload) => Math.max(1, payload.lids.constants.lash_thick * payload.lids.face_height,
  payload.lids.constants.lash_photo * (payload.lids.photo_pixel || 1));

// the closed lid's light from the eyeball it wraps (Lambert, n . l), relative to its lit middle
function roundness(k, ball, u, v) {
  const nx = u / ball.ru, ny = (v - ball.centre) / ball.rv;
  const nz = Math.sqrt(Math.min(Math.max(1 - nx * nx - ny * ny, 0.0025), 1));
  const lit = Math.max(nx * k.light[0] + ny * k.light[1] + nz * k.light[2], 0);
  return k.round * (lit - k.lit_middle);
}

// the lid's crease: a soft dark arc a share of the way down the lid, the fold's light edge below it
function crease(k, H, v, s, e, across) {
  const width = Math.max(0.7, k.crease_width * H), off = (v - (s + k.crease_at * (e - s))) / width;
  const corners = Math.sqrt(clamp01(1 - across * across));
  return k.crease * corners * (Math.exp(-off * off) - 0.35 * Math.exp(-(((off - 2) / 1.5) ** 2)));
}

// the box to read back around one eye (image pixels), or null when this blink needs no painting
export function lidBox(payload, eye, pos, b) {
  const l = payload.lids, k = l.constants, size = payload.size;
  if (!(b > 0.05)) return null;
  const reach = Math.min(k.overshoot * b, k.overshoot);
  const share = Math.max(0, (reach - l.warped * b) / Math.max(1e-3, 1 - l.warped * b));
  if (share <= 0) return null;
  const pt = (i) => [pos[2 * i], pos[2 * i + 1]];
  const upper = eye.upper.map(pt), lower = eye.lower.map(pt);
  const ax = axes(upper);
  const [upU, upV] = byU(upper, ax), [loU, loV] = byU(lower, ax);
  const u0 = upU[0], u1 = upU[upU.length - 1], half = 0.5 * (u1 - u0);
  if (half < 1.5) return null;
  const band = k.band * half;
  // room below the lower lid for the lash line and the lashes mirrored under it
  const lashRoom = Math.max(2.5, 2 * lashHalf(payload), 1.2 * k.lash_skip * band);
  const vTop = Math.min(...upV) - band - 1.5, vBottom = Math.max(Math.max(...loV), Math.max(...upV)) + lashRoom;
  const cs = [[u0 - 2, vTop], [u1 + 2, vTop], [u0 - 2, vBottom], [u1 + 2, vBottom]].map(([u, v]) =>
    [ax.centre[0] + u * ax.along[0] + v * ax.down[0], ax.centre[1] + u * ax.along[1] + v * ax.down[1]]);
  const x0 = Math.max(Math.floor(Math.min(...cs.map((c) => c[0]))), 0), y0 = Math.max(Math.floor(Math.min(...cs.map((c) => c[1]))), 0);
  const x1 = Math.min(Math.ceil(Math.max(...cs.map((c) => c[0]))) + 1, size), y1 = Math.min(Math.ceil(Math.max(...cs.map((c) => c[1]))) + 1, size);
  if (x1 - x0 < 3 || y1 - y0 < 3) return null;
  const pad = Math.ceil(2 * band + 6);  // the texture under the eye and the lashes above it are read too
  const read = [Math.max(0, x0 - pad), Math.max(0, y0 - pad), Math.min(size, x1 + pad), Math.min(size, y1 + pad)];
  // the eyeball the closed lid wraps: about the open eye's middle, as tall as an eye facing the camera
  const t0 = interp(0, upU, upV), b0 = interp(0, loU, loV);
  const opening = Math.max(0, b0 - t0) / Math.max(1e-3, 1 - l.warped * b);
  const ball = { centre: b0 - 0.5 * opening, ru: k.ball * half, rv: k.ball * Math.max(half, l.wide_half) };
  return { rect: [x0, y0, x1, y1], read, share, ax, upU, upV, loU, loV, u0, u1, half, band, ball, lash: eye.lash, lid: eye.lid };
}

// paint one eye: `pixels` RGBA8 rows of the read box in image order (the offscreen image keeps them so);
// returns the painted box (x0..x1, y0..y1) as RGBA8 rows in image order
export function paintLid(payload, g, pixels) {
  const k = payload.lids.constants, H = payload.lids.face_height, photoPixel = payload.lids.photo_pixel || 1;
  const soft = 0.45 * Math.max(0, photoPixel - 1);
  const [rx0, ry0, rx1, ry1] = g.read, rw = rx1 - rx0, rh = ry1 - ry0;
  const image = new Img(rw, rh);  // the read box, top-down, image coordinates offset by (rx0, ry0)
  for (let y = 0; y < rh; y++) for (let x = 0; x < rw; x++) for (let c = 0; c < 3; c++) {
    image.data[3 * (y * rw + x) + c] = pixels[4 * (y * rw + x) + c];
  }
  const [x0, y0, x1, y1] = g.rect, w = x1 - x0, h = y1 - y0;
  const roi = new Img(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    roi.data[3 * (y * w + x) + c] = image.data[3 * ((y + y0 - ry0) * rw + x + x0 - rx0) + c];
  }
  const { centre, along, down } = g.ax, { share, band, half, u0, u1 } = g;
  const n = w * h, f = (len) => new Float32Array(n * len);
  const U = f(1), V = f(1), top = f(1), bottom = f(1), edge = f(1), start = f(1), fade = f(1);
  const moved = new Img(w, h), aboveRaw = new Img(w, h), texRaw = new Img(w, h), strip = new Img(w, h);
  const at = (img, u, v, out, o, dx, dy) => img.sample(centre[0] + u * along[0] + v * down[0] - dx, centre[1] + u * along[1] + v * down[1] - dy, out, o);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x, gx = x + x0 - centre[0], gy = y + y0 - centre[1];
    const u = gx * along[0] + gy * along[1], v = gx * down[0] + gy * down[1];
    const t = interp(u, g.upU, g.upV), bt = Math.max(interp(u, g.loU, g.loV), t);
    const e = t + share * (bt - t) + (share >= 1 ? 0.8 : 0), s = t - band;
    const stretch = (t - k.lash_skip * band - s) / Math.max(e - s, 1e-3);
    let src = v >= s && v <= e ? s + (v - s) * stretch : v;
    const fd = clamp01(Math.min(u - u0, u1 - u) / 1.5 + 1);
    src = v + (src - v) * fd;
    U[i] = u; V[i] = v; top[i] = t; bottom[i] = bt; edge[i] = e; start[i] = s; fade[i] = fd;
    at(roi, u, src, moved.data, 3 * i, x0, y0);
    for (let c = 0; c < 3; c++) moved.data[3 * i + c] = Math.round(moved.data[3 * i + c]);
    at(roi, u, s - 0.5, aboveRaw.data, 3 * i, x0, y0);
    for (let c = 0; c < 3; c++) aboveRaw.data[3 * i + c] = Math.round(aboveRaw.data[3 * i + c]);
    const texV = bt + 0.15 * band + Math.max(bt - v, 0) * 0.7;
    at(image, u, texV, texRaw.data, 3 * i, rx0, ry0);
    for (let c = 0; c < 3; c++) texRaw.data[3 * i + c] = Math.round(texRaw.data[3 * i + c]);
    at(image, u, t - 0.5 - Math.abs(v - e), strip.data, 3 * i, rx0, ry0);
    for (let c = 0; c < 3; c++) strip.data[3 * i + c] = Math.round(strip.data[3 * i + c]);
  }
  const sigma = Math.max(0.5, 0.004 * H);
  const fine = blur(moved, 2.5 * sigma, 0.5 * sigma), broad = blur(moved, Math.max(1, 0.3 * band));
  const above = blur(aboveRaw, Math.max(1, 0.15 * half), 0.1, true);
  const texLow = blur(texRaw, Math.max(1, 0.2 * band));
  const out = new Img(w, h), alphaA = f(1), lashA = f(1);
  const S = Math.min(1, share), reachV = k.lash_skip * band;
  for (let i = 0; i < n; i++) {
    const v = V[i], e = edge[i], s = start[i];
    const depth = clamp01((v - s) / Math.max(e - s, 1e-3)), across = Math.min(Math.max(U[i] / half, -1), 1);
    const margin = k.margin_shade * Math.exp(-(((e - v) / Math.max(1, 0.18 * band)) ** 2));
    const light = (roundness(k, g.ball, U[i], v) - margin - crease(k, H, v, s, e, across)) * S;
    const kk = k.lid_skin * smooth(depth / k.tone_in), ramp = smooth(depth / 0.3);
    const alpha = clamp01(e + 0.7 - v) * clamp01(v - s + 1) * fade[i];
    const o = 3 * i;
    for (let c = 0; c < 3; c++) {
      const tone = (above.data[o + c] + (g.lid[c] - above.data[o + c]) * kk) * (1 + light);
      const closed = tone + k.detail * (fine.data[o + c] - broad.data[o + c]) + k.texture * (texRaw.data[o + c] - texLow.data[o + c]);
      const m = moved.data[o + c] + (closed - moved.data[o + c]) * ramp;
      out.data[o + c] = roi.data[o + c] * (1 - alpha) + m * alpha;
    }
    const thick = lashHalf(payload) * (0.45 + 0.55 * Math.sqrt(clamp01(1 - across * across)));
    const off = v - e;
    let diff = 0;
    for (let c = 0; c < 3; c++) diff += (out.data[o + c] - strip.data[o + c]) * LUMA[c];
    const near = Math.exp(-((off / Math.max(1, 0.6 * reachV)) ** 2)) * (off > -reachV ? 1 : 0) * fade[i] * Math.min(1, 1.5 * share);
    const dk = clamp01(diff / 30) * near;
    const la = k.lash_darken * Math.min(1, 1.5 * share) * fade[i] * Math.exp(-(((off + 0.4 * thick) / thick) ** 2));
    for (let c = 0; c < 3; c++) {
      let value = out.data[o + c] + (strip.data[o + c] - out.data[o + c]) * dk;
      value += (g.lash[c] - value) * la;
      out.data[o + c] = value;
    }
    alphaA[i] = alpha; lashA[i] = la;
  }
  let final = out;
  if (soft > 0.4) {  // a soft photo's lid is as soft as the rest of it
    const painted = new Img(w, h);
    for (let i = 0; i < n; i++) painted.data[3 * i] = clamp01(Math.max(alphaA[i], lashA[i]) * 2);
    const p = blur(painted, soft), b = blur(out, soft);
    final = new Img(w, h);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) {
      final.data[3 * i + c] = roi.data[3 * i + c] + (b.data[3 * i + c] - roi.data[3 * i + c]) * p.data[3 * i];
    }
  }
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = Math.min(255, Math.max(0, Math.floor(final.data[3 * i + c])));
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}
