// A 3D head driven by ARKit-52 blendshapes: what a three.js, VRM or Unity client does with the motion
// stream, in ~200 lines of plain WebGL and no downloads. The head is made here, procedurally: a
// deformed sphere for the skull and face, two eyeballs, and one morph target (a displacement per
// vertex) for each blendshape it shows; a frame's weights sum those targets, its head pose turns the
// model, its gaze turns the eyes. A real client loads its own rigged head (glTF/VRM) whose morph
// targets carry the same 52 ARKit names, and feeds them the same weights.

const VS = `
attribute vec3 position; attribute vec3 normal; attribute vec3 colour;
uniform mat4 model; uniform mat4 viewProj;
varying vec3 vNormal; varying vec3 vColour;
void main() {
  vNormal = mat3(model) * normal; vColour = colour;
  gl_Position = viewProj * model * vec4(position, 1.0);
}`;
const FS = `
precision mediump float;
varying vec3 vNormal; varying vec3 vColour;
void main() {
  float light = 0.35 + 0.65 * max(dot(normalize(vNormal), normalize(vec3(0.3, 0.4, 1.0))), 0.0);
  gl_FragColor = vec4(vColour * light, 1.0);
}`;

const SKIN = [0.85, 0.66, 0.55];
const LIPS = [0.62, 0.28, 0.3];
const MOUTH = [0.12, 0.03, 0.04];

// the head's surface: a sphere of (rings x segments), stretched into a head, y up, z towards the viewer
function headMesh(rings = 48, segments = 64) {
  const pos = [], col = [], idx = [];
  for (let r = 0; r <= rings; r++) {
    const v = r / rings, phi = v * Math.PI;
    for (let s = 0; s <= segments; s++) {
      const u = s / segments, theta = u * 2 * Math.PI;
      let x = Math.sin(phi) * Math.sin(theta), y = Math.cos(phi), z = Math.sin(phi) * Math.cos(theta);
      x *= 0.78; z *= 0.9; y *= 1.05;
      if (y < 0) { x *= 1 + 0.25 * y; z *= 1 + 0.1 * y; } // a narrower jaw and chin
      if (z > 0.5 && Math.abs(y + 0.05) < 0.25 && Math.abs(x) < 0.12) z += 0.12 * (1 - Math.abs(x) / 0.12) * (1 - Math.abs(y + 0.05) / 0.25); // nose
      pos.push(x, y, z);
      const inMouth = z > 0.6 && Math.abs(y + 0.42) < 0.06 && Math.abs(x) < 0.22;
      const parting = inMouth && Math.abs(y + 0.42) < 0.022; // between the lips: stretches dark as the jaw opens
      col.push(...(parting ? MOUTH : inMouth ? LIPS : SKIN));
    }
  }
  for (let r = 0; r < rings; r++) {
    for (let s = 0; s < segments; s++) {
      const a = r * (segments + 1) + s, b = a + segments + 1;
      idx.push(a, b, a + 1, b, b + 1, a + 1);
    }
  }
  return { pos: new Float32Array(pos), col: new Float32Array(col), idx };
}

// one morph target per blendshape the procedural head shows: a displacement field over the surface
function morphTargets(rest, names) {
  const n = rest.length / 3, targets = {};
  const field = (fn) => {
    const d = new Float32Array(rest.length);
    for (let i = 0; i < n; i++) {
      const [dx, dy, dz] = fn(rest[3 * i], rest[3 * i + 1], rest[3 * i + 2]);
      d[3 * i] = dx; d[3 * i + 1] = dy; d[3 * i + 2] = dz;
    }
    return d;
  };
  const bump = (x, y, cx, cy, rx, ry) => Math.max(0, 1 - ((x - cx) / rx) ** 2 - ((y - cy) / ry) ** 2);
  const front = (z) => Math.max(0, Math.min(1, (z - 0.3) / 0.3));
  const defs = {
    jawOpen: (x, y, z) => { const w = front(z) * Math.max(0, Math.min(1, (-0.42 - y) / 0.05 + 1)) * (y < -0.4 ? 1 : 0.4 * bump(x, y, 0, -0.42, 0.25, 0.04)); return [0, -0.22 * w, -0.05 * w]; },
    mouthClose: (x, y, z) => { const w = front(z) * (y < -0.42 ? bump(x, y, 0, -0.46, 0.3, 0.1) : 0); return [0, 0.08 * w, 0]; },
    mouthSmileLeft: (x, y, z) => { const w = front(z) * bump(x, y, 0.2, -0.42, 0.16, 0.12); return [0.05 * w, 0.07 * w, 0]; },
    mouthSmileRight: (x, y, z) => { const w = front(z) * bump(x, y, -0.2, -0.42, 0.16, 0.12); return [-0.05 * w, 0.07 * w, 0]; },
    mouthFunnel: (x, y, z) => { const w = front(z) * bump(x, y, 0, -0.42, 0.28, 0.12); return [-0.25 * x * w, 0, 0.06 * w]; },
    mouthPucker: (x, y, z) => { const w = front(z) * bump(x, y, 0, -0.42, 0.3, 0.12); return [-0.35 * x * w, 0, 0.08 * w]; },
    browInnerUp: (x, y, z) => { const w = front(z) * bump(x, y, 0, 0.38, 0.3, 0.12); return [0, 0.06 * w, 0]; },
    browDownLeft: (x, y, z) => { const w = front(z) * bump(x, y, 0.25, 0.36, 0.2, 0.1); return [0, -0.05 * w, 0]; },
    browDownRight: (x, y, z) => { const w = front(z) * bump(x, y, -0.25, 0.36, 0.2, 0.1); return [0, -0.05 * w, 0]; },
    cheekPuff: (x, y, z) => { const w = front(z) * (bump(x, y, 0.3, -0.3, 0.18, 0.18) + bump(x, y, -0.3, -0.3, 0.18, 0.18)); return [0.06 * Math.sign(x) * w, 0, 0.03 * w]; },
  };
  for (const [name, fn] of Object.entries(defs)) if (names.includes(name)) targets[name] = field(fn);
  return targets;
}

function normals(pos, idx) {
  const nrm = new Float32Array(pos.length);
  for (let i = 0; i < idx.length; i += 3) {
    const [a, b, c] = [idx[i] * 3, idx[i + 1] * 3, idx[i + 2] * 3];
    const u = [pos[b] - pos[a], pos[b + 1] - pos[a + 1], pos[b + 2] - pos[a + 2]];
    const v = [pos[c] - pos[a], pos[c + 1] - pos[a + 1], pos[c + 2] - pos[a + 2]];
    const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    for (const k of [a, b, c]) { nrm[k] += n[0]; nrm[k + 1] += n[1]; nrm[k + 2] += n[2]; }
  }
  for (let k = 0; k < nrm.length; k += 3) { // outwards: the meshes are star-shaped around their origin
    if (nrm[k] * pos[k] + nrm[k + 1] * pos[k + 1] + nrm[k + 2] * pos[k + 2] < 0) { nrm[k] *= -1; nrm[k + 1] *= -1; nrm[k + 2] *= -1; }
  }
  return nrm;
}

function rotation(pitch, yaw, roll) { // degrees -> column-major 4x4, R = Ry(yaw) Rx(pitch) Rz(roll)
  const [p, y, r] = [pitch, yaw, roll].map((d) => (d * Math.PI) / 180);
  const [cp, sp, cy, sy, cr, sr] = [Math.cos(p), Math.sin(p), Math.cos(y), Math.sin(y), Math.cos(r), Math.sin(r)];
  const m = [cy * cr + sy * sp * sr, cp * sr, -sy * cr + cy * sp * sr, 0,
    -cy * sr + sy * sp * cr, cp * cr, sy * sr + cy * sp * cr, 0,
    sy * cp, -sp, cy * cp, 0, 0, 0, 0, 1];
  return m;
}

function translate(m, x, y, z) { const o = m.slice(); o[12] += x; o[13] += y; o[14] += z; return o; }

function scaleMatrix(m, sx, sy, sz) {
  const o = m.slice();
  for (let i = 0; i < 3; i++) { o[i] *= sx; o[4 + i] *= sy; o[8 + i] *= sz; }
  return o;
}

function multiply(a, b) {
  const o = new Array(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) for (let k = 0; k < 4; k++) o[c * 4 + r] += a[k * 4 + r] * b[c * 4 + k];
  return o;
}

export class ArkitHead {
  constructor(canvas, names) {
    const gl = canvas.getContext('webgl', { preserveDrawingBuffer: true, antialias: true });
    if (!gl) throw new Error('this browser has no WebGL');
    gl.getExtension('OES_element_index_uint');
    this.gl = gl; this.canvas = canvas; this.names = names;
    const mesh = headMesh();
    this.rest = mesh.pos; this.idx = new Uint32Array(mesh.idx);
    this.targets = morphTargets(this.rest, names);
    this.positions = new Float32Array(this.rest);
    const shader = (type, src) => { const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; };
    const prog = gl.createProgram();
    gl.attachShader(prog, shader(gl.VERTEX_SHADER, VS)); gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(prog);
    this.prog = prog;
    this.head = this._buffers(this.positions, mesh.col, this.idx, true);
    const eye = headMesh(12, 16);
    const eyeCol = new Float32Array(eye.col.length);
    for (let i = 0; i < eye.pos.length; i += 3) eyeCol.set(eye.pos[i + 2] > 0.75 ? [0.1, 0.08, 0.06] : [0.95, 0.95, 0.92], i);
    this.eye = this._buffers(eye.pos, eyeCol, new Uint32Array(eye.idx), false);
    this.frame = null;
    this.drawn = 0;
  }

  _buffers(pos, col, idx, dynamic) {
    const gl = this.gl;
    const make = (data, target = gl.ARRAY_BUFFER) => { const b = gl.createBuffer(); gl.bindBuffer(target, b); gl.bufferData(target, data, dynamic ? gl.DYNAMIC_DRAW : gl.STATIC_DRAW); return b; };
    return { pos: make(pos), nrm: make(normals(pos, idx)), col: make(col), idx: make(idx, gl.ELEMENT_ARRAY_BUFFER), count: idx.length, posData: pos };
  }

  // draw one motion frame ({blendshapes: [52] in the header's order, head: {pitch, yaw, roll}, gaze})
  draw(frame) {
    const gl = this.gl, w = frame ? frame.blendshapes : [];
    this.positions.set(this.rest);
    for (const [name, delta] of Object.entries(this.targets)) {
      const weight = w[this.names.indexOf(name)] || 0;
      if (weight > 0.001) for (let i = 0; i < delta.length; i++) this.positions[i] += weight * delta[i];
    }
    gl.bindBuffer(gl.ARRAY_BUFFER, this.head.pos);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, this.positions);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.head.nrm);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, normals(this.positions, this.idx));
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0.1, 0.12, 0.15, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    gl.useProgram(this.prog);
    const h = (frame && frame.head) || {}, g = (frame && frame.gaze) || {};
    const aspect = this.canvas.width / this.canvas.height;
    const viewProj = [1.6 / aspect, 0, 0, 0, 0, 1.6, 0, 0, 0, 0, -0.5, -1, 0, 0, 1.5, 3.5]; // camera at z = 3.5, depth grows away from it
    gl.uniformMatrix4fv(gl.getUniformLocation(this.prog, 'viewProj'), false, viewProj);
    const model = rotation(-(h.pitch || 0), h.yaw || 0, h.roll || 0);
    this._mesh(this.head, translate(model, h.x || 0, h.y || 0, h.z || 0));
    const blink = (name) => 1 - 0.9 * (w[this.names.indexOf(name)] || 0);
    for (const [side, name] of [[1, 'eyeBlinkLeft'], [-1, 'eyeBlinkRight']]) {
      const eye = multiply(rotation(-(g.pitch || 0), g.yaw || 0, 0), scaleMatrix(rotation(0, 0, 0), 0.11, 0.11 * blink(name), 0.11));
      const placed = translate(multiply(model, translate(eye, 0.27 * side, 0.12, 0.8)), h.x || 0, h.y || 0, h.z || 0);
      this._mesh(this.eye, placed);
    }
    this.frame = frame;
    this.drawn += 1;
  }

  _mesh(m, model) {
    const gl = this.gl, p = this.prog;
    gl.uniformMatrix4fv(gl.getUniformLocation(p, 'model'), false, model);
    for (const [name, buf] of [['position', m.pos], ['normal', m.nrm], ['colour', m.col]]) {
      const loc = gl.getAttribLocation(p, name);
      gl.bindBuffer(gl.ARRAY_BUFFER, buf); gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
    }
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, m.idx);
    gl.drawElements(gl.TRIANGLES, m.count, gl.UNSIGNED_INT, 0);
  }
}
