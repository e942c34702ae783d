// This person's part in the call: their own camera and microphone, and the mesh of connections to
// everyone else here with media. Signals that arrive before the mesh is up wait for it.

import { $, setMessage } from "./dom.js";
import { Mesh } from "./mesh.js";
import { LocalMedia, describeMediaError } from "./media.js";

export class Call {
  /** room: the RoomState; onSpeaking(speaking): the local level meter's verdict, every tick. */
  constructor({ conn, room, tiles, onSpeaking }) {
    this.conn = conn;
    this.room = room;
    this.tiles = tiles;
    this.onSpeaking = onSpeaking;
    this.localMedia = null;
    this.mesh = null;
    this.pendingSignals = [];
    this.iceRefreshTimer = null;
    this.iceTtlS = null;
  }

  /** Start the camera and/or microphone (unless the join screen already did) and connect. */
  async start(mode) {
    if (!this.localMedia) {
      this.localMedia = new LocalMedia(mode);
      try {
        await this.localMedia.start();
      } catch (error) {
        this.localMedia = null;
        setMessage($("meeting-error"), describeMediaError(error, mode));
        return;
      }
    }
    const media = this.localMedia;
    const self = this.room.self;
    media.setAudioEnabled(self.audio);
    media.setVideoEnabled(self.video);
    this.tiles.setStream(self.id, media.stream, { playAudio: false });
    media.onLevel(({ speaking }) => {
      this.tiles.setSpeaking(this.room.self.id, speaking);
      this.onSpeaking(speaking);
    });
    this.mesh = new Mesh({
      selfId: self.id,
      localMedia: media,
      send: (to, payload) => {
        this.conn.request("signal", { to, ...payload }).catch((error) => {
          console.warn("circle: signal not delivered:", error.code);
        });
      },
      onRemoteStream: (id, stream) => this.tiles.setStream(id, stream, { playAudio: true }),
      onPeerState: () => {},
      onPeerClosed: (id) => this.tiles.clearStream(id),
    });
    await this._refreshIceServers();
    this._connectPeers();
    for (const [from, message] of this.pendingSignals.splice(0)) this.mesh.handleSignal(from, message);
  }

  /** Back after a dropped connection, perhaps under a new id: the old links are of no use. */
  async rejoined(selfId) {
    if (!this.mesh) return;
    this.mesh.selfId = selfId;
    await this._refreshIceServers();
    this._connectPeers();
  }

  signal(from, message) {
    if (this.mesh) this.mesh.handleSignal(from, message);
    else this.pendingSignals.push([from, message]);
  }

  close(peerId) {
    this.mesh?.close(peerId);
  }

  stop() {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = null;
    this.mesh?.destroy();
    this.mesh = null;
    this.localMedia?.stop();
    this.localMedia = null;
  }

  async _refreshIceServers() {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = null;
    try {
      const config = await this.conn.request("rtc:config", {});
      this.mesh?.setIceServers(config.ice_servers, {
        relayOnly: config.ice_transport_policy === "relay",
      });
      // TURN credentials expire, meetings run on: every connection opened later (to a newcomer,
      // or an ICE restart) must allocate with credentials that are still valid.
      this.iceTtlS = config.ttl_s > 0 ? config.ttl_s : null;
      if (this.iceTtlS && this.mesh) this._refreshIceServersIn(this.iceTtlS * 500);
    } catch (error) {
      console.warn("circle: no ICE configuration:", error.code);
      // Credentials in use still have part of their life left: try again well before its end.
      if (this.iceTtlS && this.mesh) this._refreshIceServersIn(Math.min(10000, this.iceTtlS * 100));
    }
  }

  _refreshIceServersIn(delayMs) {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = setTimeout(() => this._refreshIceServers(), Math.max(1000, delayMs));
  }

  /** Offer to everyone with media who is here: we are the newcomer (or just came back). */
  _connectPeers() {
    if (!this.mesh) return;
    this.mesh.closeAll();
    for (const p of this.room.participants.values()) {
      if (p.id !== this.room.self.id && p.media !== "text" && !p.away) this.mesh.connectTo(p.id);
    }
  }
}
