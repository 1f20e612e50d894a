// FaceGL: the portrait avatar drawn in the browser with WebGL 2, the same face the server's Python
// renderer draws (backends/renderers/portrait.py). The page gets the avatar once, as the payload the
// server makes with browser_payload.py, then only motion frames (the motion stream's schema: t on the
// audio clock, 52 ARKit weights, head pose, gaze); it draws them at the display's rate, interpolating
// between frames, so a server sends kilobytes a second instead of encoding video.
//
//   const face = await FaceGL.create(canvas, '/avatar/browser');   // or the payload object itself
//   face.push(frame); face.start(FaceGL.audioClock(audioCtx, t0));  // or face.draw(frame) for one pose
import { COPY_FS, MOUTH_FS, PATCH_FS, RECT_VS, WARP_FS } from './shaders.js';
import { lidBox, paintLid } from './eyelids.js';
import { FaceModel, FrameQueue } from './motion.js';
import { buffer, floatTexture, imageTexture, program, target } from './gl.js';
import { InverseWarp } from './warp.js';

export const FORMAT = 'visage-face/1';

export class FaceGL {
  // whether this browser can draw the face (the page falls back to server video when not)
  static supported() {
    try {
      return !!document.createElement('canvas').getContext('webgl2');
    } catch (e) {
      return false;
    }
  }

  // a clock for start(): seconds since `start` (a time on ctx's clock, e.g. when the reply's audio was
  // scheduled) of the sound being heard now; smooth between the audio callbacks, output latency included
  static audioClock(ctx, start = 0) {
    return () => {
      const stamp = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : {};
      if (stamp.contextTime === undefined || !stamp.performanceTime) {
        return ctx.currentTime - (ctx.outputLatency || ctx.baseLatency || 0) - start;
      }
      return stamp.contextTime + (performance.now() - stamp.performanceTime) / 1000 - start;
    };
  }

  static async create(canvas, source, options = {}) {
    let payload = source;
    if (typeof source === 'string') {
      const response = await fetch(source);
      if (!response.ok) throw new Error(`the avatar could not be fetched (${response.status} from ${source})`);
      payload = await response.json();
    }
    if (!payload || payload.format !== FORMAT) throw new Error(`not a ${FORMAT} avatar payload`);
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, premultipliedAlpha: false,
      depth: false, stencil: false, preserveDrawingBuffer: !!options.preserveDrawingBuffer });
    if (!gl) throw new Error('this browser cannot draw the face (no WebGL 2)');
    const face = new FaceGL(canvas, gl, payload);
    await face._gpu();
    face.draw(null);
    return face;
  }

  constructor(canvas, gl, payload) {
    this.canvas = canvas;
    this.gl = gl;
    this.payload = payload;
    this.size = payload.size;
    canvas.width = canvas.height = this.size;
    this.model = new FaceModel(payload);
    this.queue = new FrameQueue();
    this.rest = { t: 0, blendshapes: new Float32Array(payload.blendshape_names.length), head: {}, gaze: {} };
    this.last = null;
    this.stats = { frames: 0, drawMs: 0 };
    this._raf = null;
    this.warp = new InverseWarp(payload.warp);
    this.ready = false;
    // a phone or a driver may take the GPU back at any time: stop drawing, rebuild when it returns
    canvas.addEventListener('webglcontextlost', (e) => { e.preventDefault(); this.ready = false; });
    canvas.addEventListener('webglcontextrestored', () => {
      this._gpu().then(() => this.draw(this.last), (e) => console.error('the face could not be rebuilt', e));
    });
  }

  // everything that lives on the GPU: made at the start and again after a lost context
  async _gpu() {
    const gl = this.gl;
    this.warpProgram = program(gl, RECT_VS, WARP_FS);
    this.copy = program(gl, RECT_VS, COPY_FS);
    this.mouth = program(gl, RECT_VS, MOUTH_FS);
    this.patch = program(gl, RECT_VS, PATCH_FS);
    this.patchTex = gl.createTexture();
    this.offscreen = target(gl, this.size);
    this._buffers();
    this.photo = await imageTexture(gl, this.payload.photo);
    this.relief = await imageTexture(gl, this.payload.relief);
    this.spritesTex = await imageTexture(gl, this.payload.mouth.sprites.image);
    this.lipTex = await imageTexture(gl, this.payload.mouth.lip_texture.image);
    this.ready = true;
  }

  _buffers() {
    const gl = this.gl, w = this.warp;
    this.inverseTex = floatTexture(gl, gl.RG32F, gl.RG, w.n, w.n);
    if (w.fine) this.fineTex = floatTexture(gl, gl.RGBA32F, gl.RGBA, w.fine.w, w.fine.h);
    else this.fineTex = floatTexture(gl, gl.RGBA32F, gl.RGBA, 1, 1);
    this.rectVaos = new Map();
    const corners = buffer(gl, Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1]));
    for (const p of [this.warpProgram, this.copy, this.mouth, this.patch]) {
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      gl.bindBuffer(gl.ARRAY_BUFFER, corners);
      gl.enableVertexAttribArray(p.attrib('corner'));
      gl.vertexAttribPointer(p.attrib('corner'), 2, gl.FLOAT, false, 0, 0);
      this.rectVaos.set(p, vao);
    }
    gl.bindVertexArray(null);
  }

  _rect(p, rect, flip, uniforms) {
    const gl = this.gl;
    gl.useProgram(p.prog);
    p.set({ rect, size: this.size, flip, ...uniforms });
    gl.bindVertexArray(this.rectVaos.get(p));
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }

  _sampler(p, name, unit, tex) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.uniform1i(p.loc(name), unit);
  }

  // draw one frame now (null: the rest pose); frame in the motion stream's schema
  draw(frame) {
    if (!this.ready || this.gl.isContextLost()) {
      this.last = frame;
      return;
    }
    const started = performance.now();
    const gl = this.gl, S = this.size, m = this.model;
    const { positions, weights } = m.deform(frame || this.rest);
    const idx = m.index;
    // pass 1, offscreen, rows in image order: the warped photo with its creases, then the mouth
    const w = this.warp;
    w.update(m.d);
    gl.bindTexture(gl.TEXTURE_2D, this.inverseTex);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w.n, w.n, gl.RG, gl.FLOAT, w.inverse);
    if (w.fine) {
      gl.bindTexture(gl.TEXTURE_2D, this.fineTex);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w.fine.w, w.fine.h, gl.RGBA, gl.FLOAT, w.fine.map);
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.offscreen.fbo);
    gl.viewport(0, 0, S, S);
    gl.disable(gl.BLEND);
    const wp = this.warpProgram;
    gl.useProgram(wp.prog);
    this._sampler(wp, 'photo', 0, this.photo);
    this._sampler(wp, 'relief', 1, this.relief);
    this._sampler(wp, 'inverse', 2, this.inverseTex);
    this._sampler(wp, 'fine', 3, this.fineTex);
    this._rect(wp, [0, 0, S, S], 0, { n: w.n, crease: m.creases(weights), fineBox: w.fine ? w.fine.box : [0, 0, 0, 0] });
    const mouth = m.mouth(positions, weights);
    if (mouth) {
      const pm = this.payload.mouth, sp = pm.sprites;
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);  // the mouth's colour comes premultiplied
      gl.useProgram(this.mouth.prog);
      this._sampler(this.mouth, 'sprites', 1, this.spritesTex);
      this._sampler(this.mouth, 'lipTex', 2, this.lipTex);
      const { rect, rung, ...uniforms } = mouth, lt = pm.lip_texture;
      this._rect(this.mouth, rect, 0, { ...uniforms, rung, lipSize: [lt.rows, lt.columns],
        saturation: pm.inner_saturation, deepTint: pm.deep_tint,
        highlight: pm.highlight, tongueColour: pm.tongue, ladder: [sp.levels, sp.rows, sp.columns] });
      gl.disable(gl.BLEND);
    }
    // pass 2, on the canvas: the image upright, then the closing lids repainted from it
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.useProgram(this.copy.prog);
    this._sampler(this.copy, 'image', 0, this.offscreen.tex);
    this._rect(this.copy, [0, 0, S, S], 1, {});
    const blinks = { L: weights[idx.eyeBlinkLeft], R: weights[idx.eyeBlinkRight] };
    this._paintLids(positions, blinks);
    gl.bindVertexArray(null);
    this.last = frame;
    this.stats.frames += 1;
    this.stats.drawMs = performance.now() - started;
  }

  // each closing eye's box read back, painted on the CPU (eyelids.js) and drawn over
  _paintLids(positions, blinks) {
    const gl = this.gl;
    for (const side of ['L', 'R']) {
      const g = lidBox(this.payload, this.payload.eyes[side], positions, blinks[side]);
      if (!g) continue;
      const [rx0, ry0, rx1, ry1] = g.read, pixels = new Uint8Array((rx1 - rx0) * (ry1 - ry0) * 4);
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.offscreen.fbo);
      gl.readPixels(rx0, ry0, rx1 - rx0, ry1 - ry0, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      const [x0, y0, x1, y1] = g.rect;
      gl.bindTexture(gl.TEXTURE_2D, this.patchTex);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, x1 - x0, y1 - y0, 0, gl.RGBA, gl.UNSIGNED_BYTE, paintLid(this.payload, g, pixels));
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.useProgram(this.patch.prog);
      this._sampler(this.patch, 'painted', 0, this.patchTex);
      this._rect(this.patch, g.rect, 1, {});
    }
  }

  setMotion(frame) { this.draw(frame); }

  // a motion frame to draw when the clock reaches its time
  push(frame) { this.queue.push(frame); }

  // drop the frames not yet drawn (barge-in): the face holds its last pose
  clear() { this.queue.clear(); }

  // draw at the display's rate; clock() gives the audio clock's time in seconds
  start(clock) {
    this.stop();
    const tick = () => {
      const frame = this.queue.at(clock(), this.model);
      if (frame && frame !== this.last) this.draw(frame);  // a held pose is not drawn again (battery)
      this._raf = requestAnimationFrame(tick);
    };
    this._raf = requestAnimationFrame(tick);
  }

  stop() {
    if (this._raf !== null) cancelAnimationFrame(this._raf);
    this._raf = null;
  }

  destroy() {
    this.stop();
    const lose = this.gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
  }
}
