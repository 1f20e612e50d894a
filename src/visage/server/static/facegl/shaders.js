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

// The mouth painter (mouth.py MouthInterior.draw), per pixel where Python paints a grid in the mouth's
// axes: the lip lines (11 points each, in the mouth's axes), the opening's shape from the blendshapes,
// the inside sampled from the ladder of sprites (mouth_cavity.py, one atlas, rung under rung), the
// lips' wet inner sides in their own colours, the crease where they meet, a highlight on the lower
// lip. The output is premultiplied (blend ONE, ONE_MINUS_SRC_ALPHA), colours in 0..255.
export const MOUTH_FS = `#version 300 es
precision highp float;
${PIXEL}
${interp('interp11', 11)}
uniform vec2 centre, along, down;
uniform float halfW, H, edge, softEdge, outline, margin, widest, halfMax, gapMax, uMid, roundA, roundB;
uniform float upU[11], upV[11], loU[11], loV[11], cuU[11], cuV[11], clU[11], clV[11], ouU[11], ouV[11], olU[11], olV[11];
uniform float shareUp, shareLo, end, power, reachIn;
uniform float tongueOut, tongueFront, tongueBack, tongueEdge;
uniform vec3 tongueColour;
uniform sampler2D lipTex;  // the lips' strips (mouth_lips.py lip_texture): upper lip's rows, then the lower one's
uniform vec2 lipSize;  // rows per lip, columns
uniform vec2 saturation;  // the inner sides' by the lip line and by the dark (mouth_lips.py INNER_SATURATION)
uniform vec3 deepTint;
vec3 saturate(vec3 c, float amount) {  // _saturate_rows
  float luma = dot(c, vec3(0.299, 0.587, 0.114));
  return clamp(luma + (c - luma) * amount, 0.0, 255.0);
}
uniform vec3 highlight;
uniform sampler2D sprites;
uniform vec3 ladder;  // levels, rows, columns
uniform float rung, rungMix;
out vec4 colour;
vec3 lipTexAt(float col, float row) {  // cv2.remap, bilinear, borders replicated
  vec2 at = clamp(vec2(col, row), vec2(0.0), vec2(lipSize.y - 1.0, 2.0 * lipSize.x - 1.0));
  return texture(lipTex, vec2((at.x + 0.5) / lipSize.y, (at.y + 0.5) / (2.0 * lipSize.x))).rgb * 255.0;
}
vec3 spriteAt(float level, float col, float row) {  // cv2.remap, bilinear, borders replicated
  vec2 at = clamp(vec2(col, row), vec2(0.0), vec2(ladder.z - 1.0, ladder.y - 1.0));
  return texture(sprites, vec2((at.x + 0.5) / ladder.z, (level * ladder.y + at.y + 0.5) / (ladder.x * ladder.y))).rgb * 255.0;
}
void main() {
  vec2 r = pixel() - centre;
  float u = dot(r, along), v = dot(r, down);
  float top = interp11(u, upU, upV), bottom = interp11(u, loU, loV);
  float gap = max(bottom - top, 0.0);
  float lipTop = interp11(u, cuU, cuV), lipBottom = interp11(u, clU, clV);
  float lipT = max(interp11(u, olU, olV) - lipBottom, 1.0);
  float reach = reachIn * clamp((abs(u) / halfW - 0.55) / 0.45, 0.0, 1.0) * min(1.0, widest / (0.02 * H));
  lipTop -= reach * max(lipTop - interp11(u, ouU, ouV), 0.0);
  lipBottom += reach * lipT;
  lipTop = max(lipTop, interp11(u, ouU, ouV));  // inside the outer lip lines, and rounded (_rounded)
  lipBottom = min(lipBottom, interp11(u, olU, olV));
  float middle = 0.5 * (lipTop + lipBottom);
  float ra = clamp(abs(u - uMid) / max(roundA, 1.0), 0.0, 1.0);
  float rh = roundB * pow(max(1.0 - pow(ra, 2.4), 0.0), 1.0 / 2.4);
  lipTop = max(lipTop, middle - rh);
  lipBottom = min(lipBottom, middle + rh);
  float cover = max(lipBottom - lipTop, 0.0);
  float s = clamp(u / halfW, -1.0, 1.0);
  float ct = top + min(shareUp * gap, 0.02 * H), cb = bottom - min(shareLo * gap, 0.035 * H);
  float mid = 0.5 * (ct + cb), halfH = max(0.5 * (cb - ct), 0.0);
  float cap = halfMax * pow(max(1.0 - pow(min(abs(s) / end, 1.0), power), 0.0), 1.0 / power);
  halfH = min(halfH, cap);
  ct = max(mid - halfH, lipTop); cb = min(mid + halfH, lipBottom);
  mid = 0.5 * (ct + cb); halfH = max(0.5 * (cb - ct), 0.0);
  ct = mid - halfH; cb = mid + halfH;
  float localGap = 2.0 * halfH;
  float belowTop = v - ct, aboveBottom = cb - v;
  float col = (s + 1.0) * 0.5 * (ladder.z - 1.0), row = belowTop * (ladder.y - 1.0) / max(localGap, 0.5);
  vec3 inside = mix(spriteAt(rung, col, row), spriteAt(rung + 1.0, col, row), rungMix);
  float acrossLit = exp(-pow(s / 0.55, 2.0));
  float dark = clamp(min(belowTop, aboveBottom) / softEdge + 0.5, 0.0, 1.0) * (halfH > 0.25 ? 1.0 : 0.0);
  float meet = halfH > 0.0 ? mid : 0.5 * (lipTop + lipBottom);
  float lowerSide = v >= meet ? 1.0 : 0.0;
  float intoUp = clamp((v - lipTop) / (max(ct, lipTop) - lipTop + 0.5), 0.0, 1.0);
  float intoLo = clamp((lipBottom - v) / (lipBottom - min(cb, lipBottom) + 0.5), 0.0, 1.0);
  float into = intoUp + (intoLo - intoUp) * lowerSide;
  float closed = 0.2 * (1.0 - clamp(halfH / edge, 0.0, 1.0)) * clamp(cover / (0.012 * H + 1.0), 0.0, 1.0);
  float crease = 1.0 - closed * exp(-pow((v - meet) / max(0.7, 0.05 * gapMax), 2.0));
  float wet = 0.2 * acrossLit * exp(-pow((intoLo - 0.35) / 0.18, 2.0)) * lowerSide;
  float shine = 0.22 * min(1.0, widest / (0.02 * H)) * exp(-pow(s / 0.5, 2.0));
  shine *= exp(-pow((v - (lipBottom + 0.35 * lipT)) / (0.14 * lipT + 0.6), 2.0));
  // opaque over the opening and margin px past its edges and ends (mouth.py)
  float torn = clamp(cover / (2.0 * margin + 1.0), 0.0, 1.0);
  float within = min(min(v - lipTop, lipBottom - v) + margin * torn, min(u - cuU[0], cuU[10] - u) + margin);
  float alpha = clamp(within / outline + (min(0.5, 0.5 * cover) + 0.5 * torn), 0.0, 1.0);
  float side = alpha * (1.0 - dark);
  float opened = 0.3 + 0.7 * clamp(gap / (0.02 * H + 2.0), 0.0, 1.0) * clamp(1.0 - (abs(s) - end) / 0.2, 0.0, 1.0);
  float deep = into * into * opened;
  float litSide = side * (1.0 - wet) * crease * (0.9 - 0.1 * into - deep * (0.32 - 0.1 * lowerSide));
  vec3 base = lipTexAt((s + 1.0) * 0.5 * (lipSize.y - 1.0), into * (lipSize.x - 1.0) + lowerSide * lipSize.x);
  vec3 lip = mix(saturate(base, saturation.x), saturate(base * deepTint, saturation.y), deep);
  float glow = (1.0 - alpha) * shine;
  vec3 c = highlight * (glow + side * wet) + lip * litSide + inside * alpha * dark;
  float covered = clamp(alpha + glow, 0.0, 1.0);
  if (tongueOut > 0.01) {  // the tongue pushed out over the lower lip (mouth_cavity.py tongue_tip)
    float ta = halfW * (0.3 + 0.12 * tongueOut);
    float len = max(tongueFront - tongueBack, 1.0);
    float tip = max(min(1.2 * ta, len), 1.0);
    float y = max(v - (tongueFront - tip), 0.0) / tip;
    float width = ta * sqrt(max(1.0 - y * y, 0.0));
    float tc = clamp((width - abs(u)) / tongueEdge + 0.5, 0.0, 1.0) * clamp((tongueFront - v) / tongueEdge + 0.5, 0.0, 1.0);
    tc *= clamp((v - tongueBack) / (0.3 * len + tongueEdge), 0.0, 1.0) * min(1.0, 3.0 * tongueOut);
    float groove = u / (0.08 * ta + 0.5);
    float ts = (0.72 + 0.28 * cos(1.5707963 * clamp(abs(u) / ta, 0.0, 1.0))) * (1.0 - 0.15 * exp(-groove * groove));
    float depth = clamp((tongueFront - v) / len, 0.0, 1.0);
    ts *= (1.0 - 0.6 * pow(depth, 1.5)) * (1.0 - 0.25 * pow(y, 4.0));
    c += (tongueColour * 1.25 * ts - c) * tc;
    covered += (1.0 - covered) * tc;
  }
  colour = vec4(clamp(c / 255.0, 0.0, 1.0), covered);
}`;
