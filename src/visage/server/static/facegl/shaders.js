// GLSL (WebGL 2) for the browser face: ports of the Python portrait renderer's per-pixel work.
// Coordinates are image pixels of the avatar payload (pixel i's centre at i, y down), as in numpy.
// Pass 1 draws into an offscreen image with rows in image order: the warped photo with its creases
// (warp.py + shading.py), then the mouth's inside (mouth.py). Pass 2 copies that image to the
// canvas (flipping it upright); the closing eyelids are painted on the CPU (eyelids.js) over it.

// A rectangle of whole pixels [x0, x1) x [y0, y1), drawn into the offscreen image or (flip) the canvas.
export const RECT_VS = `#version 300 es
in vec2 corner;
uniform vec4 rect;
uniform float size;
uniform float flip;
void main() {
  vec2 n = mix(rect.xy, rect.zw, corner) / size * 2.0 - 1.0;
  if (flip > 0.5) n.y = -n.y;
  gl_Position = vec4(n, 0.0, 1.0);
}`;

const PIXEL = `
uniform float size;
uniform float flip;
vec2 pixel() {
  vec2 f = gl_FragCoord.xy;
  if (flip > 0.5) f.y = size - f.y;
  return f - 0.5;
}`;

// The warp (warp.py): the coarse inverse displacement upsampled as cv2.resize does, the mouth's box
// from its own full-resolution map, then the photo pulled through it with the creases (shading.py:
// the photo times 1 + depth * relief, one relief channel per crease group).
export const WARP_FS = `#version 300 es
precision highp float;
${PIXEL}
uniform sampler2D photo;
uniform sampler2D relief;
uniform highp sampler2D inverse;
uniform highp sampler2D fine;
uniform vec4 fineBox;
uniform float n;
uniform vec4 crease;
out vec4 colour;
vec2 at(int x, int y) { return texelFetch(inverse, ivec2(x, y), 0).rg; }
void main() {
  vec2 p = pixel();
  vec2 src = clamp((p + 0.5) * (n / size) - 0.5, 0.0, n - 1.0);
  vec2 f0 = min(floor(src), vec2(n - 2.0));
  vec2 t = src - f0;
  ivec2 i = ivec2(f0);
  vec2 d = mix(mix(at(i.x, i.y), at(i.x + 1, i.y), t.x), mix(at(i.x, i.y + 1), at(i.x + 1, i.y + 1), t.x), t.y);
  vec2 q = p - d;
  if (p.x >= fineBox.x && p.y >= fineBox.y && p.x < fineBox.z && p.y < fineBox.w) {
    vec4 m = texelFetch(fine, ivec2(p - fineBox.xy), 0);
    if (m.z > 0.5) q = m.xy;
  }
  vec2 uv = (q + 0.5) / size;
  vec3 c = texture(photo, uv).rgb;
  vec4 k = 1.0 + crease * ((texture(relief, uv) * 255.0 - 128.0) / 127.5);
  colour = vec4(clamp(c * k.x * k.y * k.z * k.w, 0.0, 1.0), 1.0);
}`;

export const COPY_FS = `#version 300 es
precision highp float;
uniform sampler2D image;
${PIXEL}
out vec4 colour;
void main() { colour = vec4(texture(image, (pixel() + 0.5) / size).rgb, 1.0); }`;

// A patch painted on the CPU (eyelids.js), rows in image order, over its rectangle of the canvas.
export const PATCH_FS = `#version 300 es
precision highp float;
${PIXEL}
uniform sampler2D painted;
uniform vec4 rect;
out vec4 colour;
void main() { colour = vec4(texelFetch(painted, ivec2(pixel() - rect.xy), 0).rgb, 1.0); }`;

// np.interp over N sample points (increasing xp), clamped at both ends.
const interp = (name, n) => `
float ${name}(float x, float xp[${n}], float fp[${n}]) {
  if (x <= xp[0]) return fp[0];
  for (int i = 1; i < ${n}; i++) {
    if (x <= xp[i]) return mix(fp[i - 1], fp[i], (x - xp[i - 1]) / max(xp[i] - xp[i - 1], 1e-6));
  }
  return fp[${n - 1}];
}`;

// The mouth painter's head: the mouth's axes and lip lines, its colours, and the opening's mask
// (cv2's anti-aliased polygon fill, then its Gaussian: OpenCV's fixed 3- and 5-tap kernels).
const MOUTH_HEAD = `#version 300 es
precision highp float;
${PIXEL}
${interp('interp11', 11)}
uniform vec2 centre, along, down;
uniform float halfW, H, tongueH;
uniform float upU[11], upV[11], loU[11], loV[11];
uniform vec3 cavity, deep, gum, teeth, tongue;
out vec4 colour;
const float PI = 3.14159265;
const float ARCH = 1.25;
float coverage(vec2 q) {
  vec2 r = q - centre;
  float a = dot(r, along), d = dot(r, down);
  float top = interp11(a, upU, upV), bottom = interp11(a, loU, loV);
  // cv2's anti-aliased fill reaches about a pixel past the polygon's edge (measured against it)
  return clamp(min(min(d - top, bottom - d) + 1.0, bottom - top + 0.5), 0.0, 1.0);
}
float tap(int i, int h) { return h == 1 ? (i == 0 ? 0.5 : 0.25) : (i == 0 ? 0.375 : (abs(i) == 1 ? 0.25 : 0.0625)); }
float mouthMask(vec2 p) {  // SOFT_H (half the kernel) is defined when the program is built: fixed loops
  float mask = 0.0, total = 0.0;
  for (int j = -SOFT_H; j <= SOFT_H; j++) for (int i = -SOFT_H; i <= SOFT_H; i++) {
    mask += coverage(p + vec2(i, j)) * tap(i, SOFT_H) * tap(j, SOFT_H);
    total += tap(i, SOFT_H) * tap(j, SOFT_H);
  }
  return mask / total;
}
// a pixel in the mouth's axes: across it, the opening there, its place s in [-1, 1], its distances
// below the upper lip and above the lower one, and the cavity's colour there (darker at the back)
struct Mouth { float across, gap, s, belowTop, aboveBottom; vec3 c; };
Mouth mouthAt(vec2 p) {
  Mouth m;
  vec2 r = p - centre;
  m.across = dot(r, along);
  float depth = dot(r, down);
  float top = interp11(m.across, upU, upV), bottom = interp11(m.across, loU, loV);
  m.gap = max(bottom - top, 0.0);
  m.s = clamp(m.across / halfW, -1.0, 1.0);
  m.belowTop = depth - top;
  m.aboveBottom = bottom - depth;
  float back = clamp(0.35 + 0.65 * pow(abs(m.s), 1.5), 0.0, 1.0) * clamp(1.0 - m.aboveBottom / (m.gap + 1.0), 0.3, 1.0);
  m.c = cavity + (deep - cavity) * back;
  return m;
}`;

// The mouth's inside (mouth.py, MouthInterior.draw), line for line, colours in 0..255: a dark, never
// black cavity, a domed tongue, rounded front teeth, the photo's own teeth laid in where it showed them.
export const MOUTH_FS = `${MOUTH_HEAD}
uniform float teethStep, hasTeeth;
uniform sampler2D photoTeeth;  // rgb: the photo's teeth in the mouth's axes; a: where they are
float validAt(ivec2 i, ivec2 n) {  // cv2.remap with a zero border
  return (i.x < 0 || i.y < 0 || i.x >= n.x || i.y >= n.y) ? 0.0 : texelFetch(photoTeeth, i, 0).a;
}
void main() {
  vec2 p = pixel();
  float mask = mouthMask(p);
  Mouth m = mouthAt(p);
  float across = m.across, gap = m.gap, s = m.s, belowTop = m.belowTop, aboveBottom = m.aboveBottom;
  vec3 c = m.c;
  if (tongueH > 0.8) {
    float s8 = s / 0.78;
    float dome = tongueH * pow(clamp(1.0 - s8 * s8, 0.0, 1.0), 0.8);
    float into = aboveBottom - 0.1 * tongueH;
    float inside = clamp((dome - into) / max(1.5, 0.25 * tongueH), 0.0, 1.0);
    float height = clamp(into / (dome + 1e-3), 0.0, 1.0);
    float shade = (0.6 + 0.4 * sin(PI * clamp(0.2 + 0.6 * height, 0.0, 1.0))) * (1.0 - 0.45 * s8 * s8);
    shade *= (1.0 - 0.35 * pow(height, 3.0)) * (1.0 - 0.05 * exp(-pow(s / 0.04, 2.0)));
    c += (tongue * shade - c) * inside;
  }
  float len = min(0.36 * gap, 0.11 * 2.0 * halfW) * (1.0 - 0.5 * s * s);
  float theta = asin(s * sin(ARCH));
  float edges[5] = float[5](0.0, 0.34, 0.60, 0.88, 1.12);
  float d1 = 1e9, d2 = 1e9;  // the two nearest tooth boundaries
  for (int k = 0; k < 5; k++) {
    float g = abs(abs(across) - sin(edges[k]) / sin(ARCH) * halfW);
    if (g < d1) { d2 = d1; d1 = g; } else if (g < d2) { d2 = g; }
  }
  float seam = exp(-pow(d1 / max(0.5, 0.002 * H), 2.0));
  float toothW = max(d1 + d2, 1.0);
  float rounded = 0.82 + 0.18 * sin(PI * clamp(d1 / toothW * 2.0, 0.0, 1.0));
  float tip = len * (1.0 - 0.2 * seam);
  float gumH = clamp(0.1 * gap - 0.008 * H, 0.0, 0.015 * H) * (1.0 + 0.8 * seam);
  float sides = clamp((0.85 - abs(s)) / 0.3, 0.0, 1.0);
  float teethA = clamp(tip - belowTop + 0.5, 0.0, 1.0) * sides;
  float gumA = clamp(gumH - belowTop + 0.5, 0.0, 1.0);
  float lit = exp(-pow(s / 0.55, 2.0)) * (0.35 + 0.65 * clamp(belowTop / (0.45 * len + 1.0), 0.0, 1.0)) * rounded;
  lit = 1.05 * lit * (1.0 - 0.25 * seam) * (1.0 - 0.25 * abs(theta));
  float edgeZone = clamp((belowTop - 0.75 * tip) / (0.25 * tip + 1e-3), 0.0, 1.0);
  vec3 t = teeth * lit;
  if (hasTeeth > 0.5) {
    ivec2 n = textureSize(photoTeeth, 0);
    vec2 at = vec2((s + 1.0) * 0.5 * float(n.x - 1), max(belowTop, 0.0) / teethStep);
    vec3 own = floor(texture(photoTeeth, (clamp(at, vec2(0.0), vec2(n - 1)) + 0.5) / vec2(n)).rgb * 255.0 + 0.5);
    vec2 f0 = floor(at), f = at - f0;
    ivec2 i0 = ivec2(f0);
    float ok = mix(mix(validAt(i0, n), validAt(i0 + ivec2(1, 0), n), f.x),
                   mix(validAt(i0 + ivec2(0, 1), n), validAt(i0 + ivec2(1, 1), n), f.x), f.y);
    float sideLit = exp(-pow(s / 0.55, 2.0)) * (0.55 + 0.45 * clamp(belowTop / (0.45 * len + 1.0), 0.0, 1.0));
    t += (own * (0.45 + 0.55 * sideLit) - t) * 0.9 * ok;
  }
  t += (c - t) * 0.3 * edgeZone;
  t += (gum * (0.7 + 0.3 * (1.0 - s * s)) - t) * gumA;
  c += (t - c) * teethA;
  float low = clamp(0.08 * gap - 0.012 * H, 0.0, 0.012 * H) * clamp(1.0 - pow(s / 0.45, 2.0), 0.0, 1.0) * (1.0 - 0.3 * seam);
  float lowA = clamp(low - aboveBottom + 0.5, 0.0, 1.0) * (low > 0.3 ? 1.0 : 0.0);
  c += (teeth * 0.55 * (1.0 - 0.8 * s * s) * rounded - c) * lowA;
  float sigma = max(1.0, 0.012 * H);
  c *= 1.0 - 0.45 * exp(-max(belowTop, 0.0) / sigma) - 0.25 * exp(-max(aboveBottom, 0.0) / sigma);
  float alpha = mask * pow(clamp((1.0 - abs(s)) / 0.12, 0.0, 1.0), 0.7);
  colour = vec4(clamp(c / 255.0, 0.0, 1.0), alpha);
}`;
