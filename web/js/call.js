// This person's part in the call: their own camera and microphone, and either the mesh of connections
// to everyone else here with media, or (in a larger room) two connections with the server's SFU.
// Signals that arrive before the call is up wait for it. When the room moves to the SFU, the mesh is
// torn down only once the SFU's connection carries media, so no picture freezes meanwhile.

import { $, setMessage } from "./dom.js";
import { Mesh } from "./mesh.js";
import { Sfu } from "./sfu.js";
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
    this.sfu = null;
    this.mode = "mesh";
    // Grows when the server carrying the room's media was lost: the SFU connections start over.
    this.mediaEpoch = null;
    this.iceServers = [];
    this.relayOnly = false;
    this.configured = false;
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
    if (this.mode === "sfu") this.useSfu();
    else this._connectPeers();
    for (const [from, message] of this.pendingSignals.splice(0)) this.signal(from, message);
  }

  /** The room's media moved to the server: connect to its SFU, then leave the mesh. With a newer
   * `epoch`, the server that carried it was lost: start both connections over with the one that
   * carries it now (the pictures on screen stay until the new streams replace them). */
  useSfu(epoch) {
    this.mode = "sfu";
    this._seeEpoch(epoch);
    if (this.sfu && this.sfu.epoch !== this.mediaEpoch) {
      this.sfu.destroy();
      this.sfu = null;
    }
    // Before the ICE configuration is known the connections could not honour it: start() comes back.
    if (this.sfu || !this.localMedia || !this.configured) return;
    const sfu = new Sfu({
      localMedia: this.localMedia,
      send: (payload) => {
        this.conn.request("signal", { to: "sfu", ...payload }).catch((error) => {
          console.warn("circle: signal to the server not delivered:", error.code);
        });
      },
      onRemoteStream: (id, stream) => {
        // While the mesh still carries the picture, it stays on screen until the SFU's takes over.
        if (this.sfu === sfu && !this.mesh) this.tiles.setStream(id, stream, { playAudio: true });
      },
      onMedia: () => {
        if (this.sfu !== sfu || !this.mesh) return;
        // Keep the mesh's pictures from being cleared: the SFU's streams have replaced them.
        this.mesh.onPeerClosed = () => {};
        this.mesh.destroy();
        this.mesh = null;
        for (const [id, stream] of sfu.streams) this.tiles.setStream(id, stream, { playAudio: true });
      },
    });
    sfu.epoch = this.mediaEpoch;
    this.sfu = sfu;
    sfu.setIceServers(this.iceServers, { relayOnly: this.relayOnly });
    sfu.start();
  }

  /** Back after a dropped connection, perhaps under a new id: the old links are of no use. */
  async rejoined(selfId) {
    if (!this.localMedia) return;
    if (this.mesh) this.mesh.selfId = selfId;
    // The server let go of this member's media when the connection dropped: start it over.
    this.sfu?.destroy();
    this.sfu = null;
    this.mediaEpoch = null;
    await this._refreshIceServers();
    if (this.mode === "sfu") this.useSfu();
    else this._connectPeers();
  }

  signal(from, message) {
    if (from === "sfu") {
      if (this.sfu) this.sfu.handle(message);
      else if (!this.localMedia) this.pendingSignals.push([from, message]);
      return;
    }
    if (this.mesh) this.mesh.handleSignal(from, message);
    else if (!this.localMedia) this.pendingSignals.push([from, message]);
  }

  close(peerId) {
    this.mesh?.close(peerId);
    if (this.sfu) {
      this.sfu.forget(peerId);
      this.tiles.clearStream(peerId);
    }
  }

  stop() {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = null;
    this.mesh?.destroy();
    this.mesh = null;
    this.sfu?.destroy();
    this.sfu = null;
    this.mode = "mesh";
    this.mediaEpoch = null;
    this.configured = false;
    this.localMedia?.stop();
    this.localMedia = null;
  }

  async _refreshIceServers() {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = null;
    try {
      const config = await this.conn.request("rtc:config", {});
      this.iceServers = config.ice_servers || [];
      this.relayOnly = config.ice_transport_policy === "relay";
      this.mesh?.setIceServers(this.iceServers, { relayOnly: this.relayOnly });
      this.sfu?.setIceServers(this.iceServers, { relayOnly: this.relayOnly });
      this.configured = true;
      if (config.mode === "sfu") this.mode = "sfu";
      this._seeEpoch(config.media_epoch);
      // TURN credentials expire, meetings run on: every connection opened later (to a newcomer,
      // or an ICE restart) must allocate with credentials that are still valid.
      this.iceTtlS = config.ttl_s > 0 ? config.ttl_s : null;
      if (this.iceTtlS && (this.mesh || this.sfu)) this._refreshIceServersIn(this.iceTtlS * 500);
    } catch (error) {
      console.warn("circle: no ICE configuration:", error.code);
      // Credentials in use still have part of their life left: try again well before its end.
      if (this.iceTtlS && (this.mesh || this.sfu)) this._refreshIceServersIn(Math.min(10000, this.iceTtlS * 100));
    }
  }

  /** Epochs only grow within a meeting; an answer read before the newest one must not undo it. */
  _seeEpoch(epoch) {
    if (typeof epoch !== "number") return;
    if (this.mediaEpoch === null || epoch > this.mediaEpoch) this.mediaEpoch = epoch;
  }

  _refreshIceServersIn(delayMs) {
    clearTimeout(this.iceRefreshTimer);
    this.iceRefreshTimer = setTimeout(async () => {
      await this._refreshIceServers();
      if (this.mode === "sfu") this.useSfu();
    }, Math.max(1000, delayMs));
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
