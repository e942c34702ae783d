// The grid of tiles: a video (or an initial, for audio-only and text-only members and cameras
// that are off), the name, and badges. Remote sound plays through a separate <audio> element so
// the video can stay muted and always autoplay.

import { h, initialOf } from "./dom.js";

export class TileGrid {
  constructor(container, { onSoundBlocked }) {
    this.container = container;
    this.onSoundBlocked = onSoundBlocked;
    this.tiles = new Map();
    this.timed = null;  // the id whose tile shows the share timer
  }

  _create(id, isSelf) {
    const video = h("video", { autoplay: true, playsinline: true, "aria-hidden": "true" });
    video.muted = true;
    const audio = h("audio", { autoplay: true });
    const avatar = h("span", { class: "avatar", "aria-hidden": "true" });
    const name = h("span", { class: "name" });
    const badges = h("span", { class: "badges" });
    const timer = h("span", { class: "badge timer", hidden: true });
    const root = h(
      "figure",
      { class: isSelf ? "tile self" : "tile", "data-participant": id },
      video,
      avatar,
      h("figcaption", { class: "label" }, name, badges, timer),
      audio,
    );
    const tile = { root, video, audio, avatar, name, badges, timer, stream: null, signature: null };
    this.tiles.set(id, tile);
    return tile;
  }

  /** Create or refresh the tile of participant p; label: the name shown (names.js); sharing: has the floor. */
  update(p, { isSelf, handPosition, label = p.name, sharing = false }) {
    const tile = this.tiles.get(p.id) ?? this._create(p.id, isSelf);
    if (!tile.root.isConnected) {
      if (isSelf) this.container.prepend(tile.root);
      else this.container.appendChild(tile.root);
    }
    tile.name.textContent = isSelf ? `${label} (you)` : label;
    tile.avatar.textContent = initialOf(p.name);
    tile.root.classList.toggle("sharing", sharing);
    const showVideo =
      p.media === "av" && p.video && !p.away && Boolean(tile.stream?.getVideoTracks().length);
    tile.root.classList.toggle("has-video", showVideo);
    tile.root.classList.toggle("away", Boolean(p.away));
    if (!isSelf) this.setSpeaking(p.id, Boolean(p.speaking) && !p.away);

    const badges = [];
    if (sharing) badges.push(["sharing", "sharing"]);
    if (p.media === "audio") badges.push(["audio only", ""]);
    if (p.media === "text") badges.push(["text only", ""]);
    if (p.media !== "text" && !p.audio) badges.push(["muted", ""]);
    if (p.hand !== null && p.hand !== undefined) {
      badges.push([handPosition ? `hand up · ${handPosition}` : "hand up", "hand"]);
    }
    if (p.away) badges.push(["away", ""]);
    const signature = JSON.stringify(badges);
    if (signature !== tile.signature) {
      tile.signature = signature;
      tile.badges.replaceChildren(
        ...badges.map(([text, kind]) => h("span", { class: kind ? `badge ${kind}` : "badge" }, text)),
      );
    }
    tile.participant = p;
    tile.options = { isSelf, handPosition, label, sharing };
  }

  /** Show `text` (the share timer) on the tile of `id`, and on no other; null for none. */
  setShareTime(id, text) {
    if (this.timed !== null && this.timed !== id) {
      const old = this.tiles.get(this.timed);
      if (old) old.timer.hidden = true;
    }
    this.timed = text ? id : null;
    const tile = id === null ? null : this.tiles.get(id);
    if (!tile) return;
    if (tile.timer.textContent !== text) tile.timer.textContent = text;
    tile.timer.hidden = !text;
  }

  setSpeaking(id, speaking) {
    this.tiles.get(id)?.root.classList.toggle("speaking", speaking);
  }

  /** Attach a media stream (local for the self tile, remote otherwise). */
  setStream(id, stream, { playAudio }) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.stream = stream;
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    tile.video.play().catch(() => {});
    if (playAudio && stream.getAudioTracks().length) {
      if (tile.audio.srcObject !== stream) tile.audio.srcObject = stream;
      tile.audio.play().catch((error) => {
        if (error?.name === "NotAllowedError") this.onSoundBlocked();
      });
    }
    if (tile.participant) this.update(tile.participant, tile.options);
  }

  clearStream(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.stream = null;
    tile.video.srcObject = null;
    tile.audio.srcObject = null;
    tile.root.classList.remove("has-video");
  }

  /** Retry remote audio after a click (browsers block sound until the page has had one). */
  resumeSound() {
    for (const tile of this.tiles.values()) {
      if (tile.audio.srcObject) tile.audio.play().catch(() => {});
    }
  }

  remove(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.audio.srcObject = null;
    tile.root.remove();
    this.tiles.delete(id);
  }

  clearAll() {
    for (const id of [...this.tiles.keys()]) this.remove(id);
  }
}
