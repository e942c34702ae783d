// The local camera and microphone, and a level meter that tells when this person is speaking.
// Nothing here runs for a text-only member: getUserMedia is only called by start().

const CONSTRAINTS = {
  av: {
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } },
  },
  audio: {
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    video: false,
  },
};

// RMS of the microphone signal above which we call it speech, and how long speech "holds" after
// the level drops, so the indicator does not flicker between words.
const SPEAKING_LEVEL = 0.02;
const SPEAKING_HOLD_MS = 700;
const METER_INTERVAL_MS = 100;
// Loudness is the RMS of the loudest BLOCK_MS slice since the last tick: a syllable is louder
// than the pauses around it, and averaging it with them would hide it.
const BLOCK_MS = 20;

export class LocalMedia {
  constructor(mode) {
    if (mode !== "av" && mode !== "audio") throw new Error(`no local media for mode ${mode}`);
    this.mode = mode;
    this.stream = null;
    this.level = 0;
    this.speaking = false;
    this._listeners = new Set();
    this._audioContext = null;
    this._timer = null;
    this._lastLoud = 0;
    this._resume = () => this._audioContext?.resume().catch(() => {});
  }

  /** Ask for the camera and/or microphone. Throws a DOMException when refused or missing. */
  async start() {
    if (this.stream) return this.stream;
    this.stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS[this.mode]);
    this._startMeter();
    return this.stream;
  }

  get audioTrack() {
    return this.stream?.getAudioTracks()[0] ?? null;
  }

  get videoTrack() {
    return this.stream?.getVideoTracks()[0] ?? null;
  }

  get audioEnabled() {
    return Boolean(this.audioTrack?.enabled);
  }

  get videoEnabled() {
    return Boolean(this.videoTrack?.enabled);
  }

  setAudioEnabled(enabled) {
    if (this.audioTrack) this.audioTrack.enabled = enabled;
  }

  setVideoEnabled(enabled) {
    if (this.videoTrack) this.videoTrack.enabled = enabled;
  }

  /** listener({level: 0..1, speaking: bool}) every meter tick. Returns an unsubscribe function. */
  onLevel(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = null;
    document.removeEventListener("pointerdown", this._resume);
    document.removeEventListener("keydown", this._resume);
    this._audioContext?.close().catch(() => {});
    this._audioContext = null;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this._listeners.clear();
  }

  _startMeter() {
    const track = this.audioTrack;
    if (!track || typeof AudioContext === "undefined") return;
    const context = new AudioContext();
    this._audioContext = context;
    // Browsers start an AudioContext suspended until the page has had a click or a key press
    // (after a reload, for instance); resume it at the first one.
    context.resume().catch(() => {});
    document.addEventListener("pointerdown", this._resume);
    document.addEventListener("keydown", this._resume);
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    // The analyser keeps the newest fftSize samples: enough to cover every sample since the last
    // tick even when a busy page runs the timer late, so a short word between ticks is not missed.
    analyser.fftSize = 8192;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const block = Math.max(1, Math.round((context.sampleRate * BLOCK_MS) / 1000));
    let lastTick = performance.now();
    // A timer rather than requestAnimationFrame: it keeps running (throttled) in a background
    // tab, so others still see when a person who switched tabs speaks.
    this._timer = setInterval(() => {
      const now = performance.now();
      const fresh = Math.min(samples.length, Math.ceil((context.sampleRate * (now - lastTick)) / 1000));
      lastTick = now;
      analyser.getFloatTimeDomainData(samples);
      const loudest = track.enabled ? loudestBlock(samples, samples.length - fresh, block) : 0;
      if (loudest >= SPEAKING_LEVEL) this._lastLoud = now;
      this.level = Math.min(1, loudest * 6);
      this.speaking = track.enabled && now - this._lastLoud < SPEAKING_HOLD_MS;
      for (const listener of this._listeners) listener({ level: this.level, speaking: this.speaking });
    }, METER_INTERVAL_MS);
  }
}

/** RMS of the loudest `block`-sample slice that ends after samples[from]. Slices are cut from the
 * newest sample back, so each is whole (the oldest may reach into samples already seen). */
function loudestBlock(samples, from, block) {
  let loudest = 0;
  for (let end = samples.length; end > from; end -= block) {
    const start = Math.max(0, end - block);
    let sum = 0;
    for (let i = start; i < end; i += 1) sum += samples[i] * samples[i];
    loudest = Math.max(loudest, Math.sqrt(sum / (end - start)));
  }
  return loudest;
}

/** A sentence a person can act on, for a getUserMedia failure. */
export function describeMediaError(error, mode) {
  const what = mode === "av" ? "camera and microphone" : "microphone";
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `Your browser did not allow the ${what}. You can allow it in the address bar, or join with text only.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `We couldn't find a ${what} on this device. You can still join with text only.`;
    case "NotReadableError":
      return `Your ${what} seems to be in use by another app. Close it and try again, or join with text only.`;
    default:
      return `We couldn't start your ${what}. You can still join with text only.`;
  }
}
