// Measurements made in the browser, where the user sees and hears the avatar: window.visageStats.
//
// Reply latency: the microphone and the avatar's voice both go through one AudioContext, each into a
// level meter (meter.js), so both are timed on the same audio clock. The user's speech ends at the last
// loud window before 350 ms of quiet; the reply's first sound is the first window of the avatar's voice
// above -46 dBFS after that. latency = their difference + the context's output latency (the time from
// the audio graph to the loudspeaker). What is not counted: the microphone's own capture delay (about
// 10 ms for a real microphone, none for a file).
//
// A/V offset: every displayed video frame (requestVideoFrameCallback: the time it is shown), or with
// browser drawing every frame the page drew (its animation frame's time), is sampled
// in the mouth's box (the server sends where the mouth is) for its brightness, which drops as the lips
// part and the dark mouth shows; the voice's level is mapped to the time it leaves the loudspeaker
// (AudioContext.getOutputTimestamp). The two series are exported raw (series()); the benchmark finds
// the lag that best lines them up and subtracts the same lag measured on the server's own output,
// where sound and picture are aligned by construction. The remainder is the offset the page adds.
const SPEECH_ON = 0.02; // rms of the microphone that counts as speech (-34 dBFS)
const SPEECH_HANG = 0.35; // s of quiet that end the user's speech
const VOICE_ON = 0.005; // rms of the avatar's voice that counts as audible (-46 dBFS)
const KEEP = 60000; // samples kept per series (about 5 minutes of audio windows)

function ring(list, item, keep = KEEP) {
  list.push(item);
  if (list.length > keep) list.splice(0, list.length - keep);
}

export class ClientStats {
  constructor() {
    this.created = performance.now();
    this.events = []; // [performance time, event] for every event from the server
    this.turns = []; // {kind, speechStart, speechEnd, firstSound, latencyMs, overlapped, stages}
    this.errors = [];
    this.connection = 'new';
    this.video = { frames: 0, width: 0, height: 0, firstFrameAt: null }; // shown pictures, video or drawn
    this.motion = { frames: 0, lastT: null }; // browser drawing: motion frames received
    this.drawing = false;
    this.audio = { windows: 0, audibleWindows: 0, level: 0, outputLatencyMs: null };
    this.mic = { level: 0, speaking: false };
    this.rtc = { first: null, last: null, audioBuffer: [] };
    this.clock = { offsetMs: null, rttMs: null };
    this.mouthBox = null;
    this._voice = []; // [output performance time, rms] of the avatar's voice
    this._mouth = []; // [display performance time, mouth brightness 0..255]
    this._lastLoudVoice = -1;
    this._speech = null;
    window.visageStats = this;
  }

  // -- audio ----------------------------------------------------------------------------------------
  async attachAudio(ctx, micStream, remoteStream) {
    this.ctx = ctx;
    await ctx.audioWorklet.addModule('/static/meter.js');
    const sink = ctx.createGain();
    sink.gain.value = 0; // meters must be pulled by the graph, but nothing is played twice
    sink.connect(ctx.destination);
    const meter = (stream, onLevel) => {
      const node = new AudioWorkletNode(ctx, 'level-meter');
      ctx.createMediaStreamSource(stream).connect(node);
      node.connect(sink);
      node.port.onmessage = (e) => onLevel(e.data[0], e.data[1]);
      return node;
    };
    (this._nodes || []).forEach((n) => n.disconnect()); // a reconnection replaces the meters
    this._nodes = [meter(remoteStream, (t, rms) => this._onVoice(t, rms))];
    if (micStream) this._nodes.push(meter(micStream, (t, rms) => this._onMic(t, rms)));
  }

  outputLatency() {
    const ctx = this.ctx;
    const s = ctx ? (ctx.outputLatency || ctx.baseLatency || 0) : 0;
    this.audio.outputLatencyMs = s * 1000;
    return s;
  }

  toPerformance(t) {
    // performance time at which the sample at context time t leaves the loudspeaker
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0) return ts.performanceTime + (t - ts.contextTime) * 1000;
    return performance.now() - (this.ctx.currentTime - t) * 1000 + this.outputLatency() * 1000;
  }

  toEpoch(t) {
    // wall-clock ms (the server's clock on the same machine) at which the graph processed time t
    return performance.timeOrigin + performance.now() - (this.ctx.currentTime - t) * 1000;
  }

  _onMic(t, rms) {
    this.mic.level = rms;
    const s = this._speech;
    if (rms > SPEECH_ON) {
      if (!s) this._speech = { start: t, lastLoud: t };
      else s.lastLoud = t;
      this.mic.speaking = true;
    } else if (s && t - s.lastLoud > SPEECH_HANG) {
      this._speech = null;
      this.mic.speaking = false;
      this._closePending();
      this.turns.push({ kind: 'spoken', speechStart: s.start, speechEnd: s.lastLoud, firstSound: null,
        latencyMs: null, overlapped: this._lastLoudVoice > s.lastLoud - 0.3, stages: null,
        speechEndEpoch: this.toEpoch(s.lastLoud), firstSoundEpoch: null });
    }
  }

  _onVoice(t, rms) {
    this.audio.windows += 1;
    this.audio.level = rms;
    ring(this._voice, [this.toPerformance(t), rms, performance.now()]);
    if (rms <= VOICE_ON) return;
    this.audio.audibleWindows += 1;
    this._lastLoudVoice = t;
    for (const turn of this.turns) {
      if (turn.firstSound === null && !turn.unanswered && t > turn.speechEnd) {
        turn.firstSound = t;
        turn.latencyMs = (t - turn.speechEnd + this.outputLatency()) * 1000;
        turn.firstSoundEpoch = this.toEpoch(t) + this.outputLatency() * 1000;
      }
    }
  }

  _closePending() {
    // a new turn starts: an earlier one still waiting for its first sound got no answer
    for (const turn of this.turns) if (turn.firstSound === null) turn.unanswered = true;
  }

  typed() {
    // a typed message: the reply's latency counts from sending it
    if (!this.ctx) return;
    const t = this.ctx.currentTime;
    this._closePending();
    this.turns.push({ kind: 'typed', speechStart: t, speechEnd: t, firstSound: null, latencyMs: null,
      overlapped: this._lastLoudVoice > t - 0.3, stages: null, speechEndEpoch: this.toEpoch(t),
      firstSoundEpoch: null });
  }

  // -- video ----------------------------------------------------------------------------------------
  attachVideo(video) {
    this.videoEl = video;
    const onFrame = (now, meta) => {
      this._picture(video, video.videoWidth, video.videoHeight, meta.expectedDisplayTime || now);
      video.requestVideoFrameCallback(onFrame);
    };
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
  }

  // browser drawing: a frame the page drew on `canvas` (drawing.js), at animation-frame time `now`
  onDrawn(canvas, now) {
    this.drawing = true;
    this._picture(canvas, canvas.width, canvas.height, now);
  }

  // one displayed picture (a video frame or a drawn one): counted, and its mouth's box sampled
  _picture(source, width, height, time) {
    if (!this._mouthG) {
      const canvas = document.createElement('canvas');
      canvas.width = 32;
      canvas.height = 16;
      this._mouthG = canvas.getContext('2d', { willReadFrequently: true });
    }
    const g = this._mouthG;
    const v = this.video;
    v.frames += 1;
    v.width = width;
    v.height = height;
    if (v.firstFrameAt === null) v.firstFrameAt = time;
    const box = this.mouthBox;
    if (!box || !width) return;
    const [x0, y0, x1, y1] = box;
    g.drawImage(source, x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height, 0, 0, 32, 16);
    const px = g.getImageData(0, 0, 32, 16).data;
    const n = px.length / 4;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < px.length; i += 4) {
      const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
      sum += y;
      sq += y * y;
    }
    const mean = sum / n;
    // [display time, mean brightness, contrast]: the open mouth is darker inside, with bright teeth
    ring(this._mouth, [time, mean, Math.sqrt(Math.max(0, sq / n - mean * mean))], 12000);
  }

  onMotion(frame) {
    this.motion.frames += 1;
    this.motion.lastT = frame.t;
  }

  // -- events and WebRTC statistics -----------------------------------------------------------------
  onEvent(event) {
    ring(this.events, [performance.now(), event], 2000);
    if (event.type === 'latency') {
      // the server's stages belong to the latest turn that has none yet
      const turn = [...this.turns].reverse().find((x) => x.stages === null && !x.unanswered);
      if (turn) turn.stages = event;
    } else if (event.type === 'avatar') {
      this.mouthBox = event.mouth_box;
    } else if (event.type === 'error') {
      this.errors.push(event.message);
    }
  }

  onPong(event) {
    const now = Date.now();
    this.clock.rttMs = now - event.t;
    this.clock.offsetMs = event.server_time * 1000 - (event.t + now) / 2;
  }

  async pollRtc(pc) {
    const picked = { at: performance.now() };
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      picked[s.kind] = {
        packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, jitter: s.jitter,
        jitterBufferDelay: s.jitterBufferDelay, jitterBufferEmittedCount: s.jitterBufferEmittedCount,
        framesDecoded: s.framesDecoded, framesDropped: s.framesDropped, framesReceived: s.framesReceived,
        framesPerSecond: s.framesPerSecond, totalProcessingDelay: s.totalProcessingDelay,
        totalDecodeTime: s.totalDecodeTime, totalAudioEnergy: s.totalAudioEnergy,
        totalSamplesDuration: s.totalSamplesDuration, concealedSamples: s.concealedSamples,
        totalSamplesReceived: s.totalSamplesReceived, estimatedPlayoutTimestamp: s.estimatedPlayoutTimestamp,
        jitterBufferTargetDelay: s.jitterBufferTargetDelay, jitterBufferMinimumDelay: s.jitterBufferMinimumDelay,
      };
    });
    if (!this.rtc.first) this.rtc.first = picked;
    this.rtc.last = picked;
    const a = picked.audio;
    // the voice's jitter buffer, once a second: [time, total delay s, samples emitted, total target s]
    if (a) ring(this.rtc.audioBuffer, [picked.at, a.jitterBufferDelay, a.jitterBufferEmittedCount,
      a.jitterBufferTargetDelay], 1200);
    return picked;
  }

  series() {
    return { voice: this._voice, mouth: this._mouth };
  }

  summary() {
    const done = this.turns.filter((t) => t.latencyMs !== null && !t.overlapped).map((t) => t.latencyMs);
    done.sort((a, b) => a - b);
    const q = (p) => (done.length ? done[Math.min(done.length - 1, Math.floor(p * done.length))] : null);
    return { turns: this.turns.length, measured: done.length, p50Ms: q(0.5), p95Ms: q(0.95),
      videoFrames: this.video.frames, audibleWindows: this.audio.audibleWindows, errors: this.errors };
  }
}
