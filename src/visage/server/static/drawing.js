// Browser drawing: the page draws the avatar's face itself (FaceGL, WebGL 2) from the motion frames the
// server sends on the "motion" data channel, in step with the voice it plays.
//
// The clock: every frame carries `t`, seconds on the server's output clock, the clock its audio track
// is stamped with. The server's "clock" event gives the RTP timestamp of output time 0; the audio
// receiver's synchronization source says which RTP timestamp was played out last, and when. So the
// voice heard now is at ((rtpTimestamp - origin) mod 2^32) / rate + (now - then), less the output
// latency still ahead of the loudspeaker; the face draws the frame of that time, interpolating between
// frames at the display's rate. The estimate is smoothed (the source updates every 10-20 ms). Without
// the clock event (an older server) the frames are drawn a fixed 100 ms after they arrive.
import { FaceGL } from '/static/facegl/face.js';

const SMOOTH = 0.05; // weight of a new clock reading
const FALLBACK_LAG = 0.1; // s behind arrival when the audio clock is unknown

export function browserCanDraw() {
  return FaceGL.supported();
}

export class BrowserFace {
  constructor(canvas, stats, { measure = false } = {}) {
    this.canvas = canvas;
    this.stats = stats;
    this.measure = measure; // keep the drawn image readable, for the page's mouth sampling
    this.face = null;
    this.url = null;
    this.receiver = null;
    this.origin = null;
    this.rate = 48000;
    this.offset = null; // audio clock - performance clock, s
    this.arrival = null; // fallback: frame time - arrival time, s (the largest seen)
    this.outputLatency = 0;
  }

  // the avatar's face, fetched once per URL (the server versions it, the browser caches it)
  async load(url) {
    if (this.face && this.url === url) {
      this.face.start(() => this.now());
      return this.face;
    }
    if (this.face) this.face.destroy();
    this.face = await FaceGL.create(this.canvas, url, { preserveDrawingBuffer: this.measure });
    this.url = url;
    this.face.start(() => this.now());
    this._sample();
    return this.face;
  }

  attach(receiver, audioCtx) {
    this.receiver = receiver;
    this.outputLatency = audioCtx ? (audioCtx.outputLatency || audioCtx.baseLatency || 0) : 0;
  }

  setClock(event) {
    this.origin = event.audio_rtp_origin;
    this.rate = event.audio_rate || 48000;
    this.offset = null;
  }

  push(frame) {
    const arrived = performance.now() / 1000;
    this.arrival = this.arrival === null ? frame.t - arrived : Math.max(this.arrival, frame.t - arrived);
    if (this.face) this.face.push(frame);
  }

  // seconds on the output clock of the voice heard now
  now() {
    const perf = performance.now() / 1000;
    const heard = this._heard(perf);
    if (heard === null) return this.arrival === null ? 0 : perf + this.arrival - FALLBACK_LAG;
    const offset = heard - perf;
    if (this.offset === null || Math.abs(offset - this.offset) > 0.25) this.offset = offset;
    else this.offset += SMOOTH * (offset - this.offset);
    return perf + this.offset;
  }

  _heard(perf) {
    if (!this.receiver || this.origin === null || !this.receiver.getSynchronizationSources) return null;
    const source = this.receiver.getSynchronizationSources()[0];
    if (!source || source.rtpTimestamp === undefined) return null;
    // Chrome stamps sources on the wall clock (ms since 1970), the spec on the performance clock
    const stamp = source.timestamp > 1e12 ? (source.timestamp - performance.timeOrigin) / 1000 : source.timestamp / 1000;
    const played = ((source.rtpTimestamp - this.origin) >>> 0) / this.rate;
    return played + (perf - stamp) - this.outputLatency;
  }

  // the page's A/V measurement: the mouth's brightness in every drawn frame (stats.js)
  _sample() {
    if (this._sampling) return;
    this._sampling = true;
    const tick = (now) => {
      if (this.face && this.receiver) this.stats.onDrawn(this.canvas, now);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  stop() {
    if (this.face) this.face.stop();
    this.receiver = null;
    this.origin = null;
    this.offset = null;
    this.arrival = null;
  }

  resume() {
    if (this.face) this.face.start(() => this.now());
  }
}
