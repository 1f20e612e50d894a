"""The output's audio ring (live/output.py) reads and writes in slices: the same samples as the index
arrays it used before, across the buffer's wrap, with clears and overlapping placements."""
import numpy as np

from visage.live.output import AudioRing


class IndexRing:
    """The ring as it was (np.arange(...) % size for every access): the reference."""

    def __init__(self, rate, seconds):
        self.rate, self.buf = rate, np.zeros(int(rate * seconds), np.float32)
        self.written = self.read_until = 0

    def place(self, start, samples):
        i = max(int(round(start * self.rate)), self.read_until)
        self.buf[np.arange(i, i + len(samples)) % len(self.buf)] = samples
        self.written = max(self.written, i + len(samples))

    def read(self, start, n):
        idx = np.arange(start, start + n) % len(self.buf)
        out = self.buf[idx].copy()
        self.buf[idx] = 0.0
        self.read_until = max(self.read_until, start + n)
        return out

    def clear_from(self, t):
        i = int(round(t * self.rate))
        if self.written > i:
            self.buf[np.arange(i, self.written) % len(self.buf)] = 0.0
        self.written = min(self.written, i)


def test_slices_give_what_index_arrays_gave_across_the_wrap():
    rate, seconds = 100, 3.0  # a 300-sample ring, so the script wraps round it many times
    ring, ref = AudioRing(rate, seconds), IndexRing(rate, seconds)
    rng = np.random.default_rng(7)
    read_at = 0
    for step in range(400):
        action = rng.integers(0, 10)
        if action < 4:
            start = (read_at + int(rng.integers(-20, 250))) / rate
            samples = rng.standard_normal(int(rng.integers(1, 280))).astype(np.float32)
            ring.place(start, samples)
            ref.place(start, samples)
        elif action < 5:
            t = (read_at + int(rng.integers(-10, 200))) / rate
            ring.clear_from(t)
            ref.clear_from(t)
        else:
            n = int(rng.integers(1, 40))
            assert np.array_equal(ring.read(read_at, n), ref.read(read_at, n)), step
            read_at += n
        assert ring.playing_until == ref.written / rate
    assert np.array_equal(ring._buf, ref.buf)


def test_speech_longer_than_the_ring_keeps_its_last_lap():
    ring, ref = AudioRing(100, 1.0), IndexRing(100, 1.0)
    samples = np.arange(250, dtype=np.float32)
    ring.place(0.37, samples)
    ref.place(0.37, samples)
    assert np.array_equal(ring._buf, ref.buf)
    assert ring.read(37 + 150, 100).tolist() == samples[150:].tolist()
