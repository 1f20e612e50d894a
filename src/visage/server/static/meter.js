// AudioWorklet: the level of an audio stream every 256 samples (~5 ms at 48 kHz), stamped with the
// AudioContext time of the window's last sample. Used by stats.js to time speech and the avatar's voice
// on the audio clock itself, not on a timer that a busy main thread would delay.
class LevelMeter extends AudioWorkletProcessor {
  constructor() {
    super();
    this.sum = 0;
    this.n = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) this.sum += channel[i] * channel[i];
      this.n += channel.length;
    } else {
      this.n += 128; // no input connected yet: silence
    }
    if (this.n >= 256) {
      const t = currentTime + 128 / sampleRate;
      this.port.postMessage([t, Math.sqrt(this.sum / this.n)]);
      this.sum = 0;
      this.n = 0;
    }
    return true;
  }
}

registerProcessor('level-meter', LevelMeter);
