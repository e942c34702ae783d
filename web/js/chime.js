// A soft two-note sound when someone arrives in the waiting room, made on the spot with WebAudio:
// no sound file is fetched. The facilitator can turn it off; the choice is kept in this browser.

const PREFERENCE = "circle.arrival_sound";
const VOLUME = 0.08;

function readPreference() {
  try {
    return localStorage.getItem(PREFERENCE) !== "off";
  } catch {
    return true;
  }
}

export class Chime {
  constructor() {
    this.context = null;
    this.enabled = readPreference();
  }

  /** Turn the sound on or off, and remember the choice in this browser. */
  setEnabled(on) {
    this.enabled = on;
    try {
      localStorage.setItem(PREFERENCE, on ? "on" : "off");
    } catch {
      /* storage disabled: the choice lasts for this page */
    }
  }

  play() {
    if (!this.enabled) return;
    try {
      this.context ??= new AudioContext();
      const context = this.context;
      context.resume().catch(() => {});
      const start = context.currentTime + 0.02;
      for (const [offset, frequency] of [[0, 660], [0.16, 880]]) {
        const tone = context.createOscillator();
        const gain = context.createGain();
        tone.type = "sine";
        tone.frequency.value = frequency;
        // A quick rise and a gentle fall: a chime, not a beep.
        gain.gain.setValueAtTime(0, start + offset);
        gain.gain.linearRampToValueAtTime(VOLUME, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.35);
        tone.connect(gain).connect(context.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.4);
      }
    } catch (error) {
      console.warn("circle: no arrival sound:", error?.name);
    }
  }

  close() {
    this.context?.close().catch(() => {});
    this.context = null;
  }
}
