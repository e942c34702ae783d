// Mesh WebRTC: one RTCPeerConnection per other participant who has media, using the "perfect
// negotiation" pattern. The newcomer offers to everyone already there, so joining never races
// two offers; the polite/impolite roles (decided by comparing ids, so both ends agree) settle
// any later collision, such as two ICE restarts at once.

const DISCONNECTED_GRACE_MS = 4000;   // "disconnected" often heals by itself; then restart ICE
const STALL_MS = 15000;               // a link that never connects gets a fresh offer
const WATCH_INTERVAL_MS = 2000;

function fingerprintOf(sdp) {
  const match = /^a=fingerprint:(.+)$/m.exec(sdp || "");
  return match ? match[1].trim() : null;
}

class PeerLink {
  constructor(mesh, peerId, { initiator }) {
    this.mesh = mesh;
    this.peerId = peerId;
    this.polite = mesh.selfId < peerId;
    this.initiator = initiator;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.tracksAdded = false;
    this.closed = false;
    this.remoteStream = new MediaStream();
    this.createdAt = performance.now();
    this.disconnectedSince = null;
    this.queue = Promise.resolve();

    const pc = new RTCPeerConnection(mesh.rtcConfiguration());
    this.pc = pc;
    pc.onnegotiationneeded = () => this._offer();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this._send({ candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track }) => {
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      track.addEventListener("ended", () => this.remoteStream.removeTrack(track));
      mesh.onRemoteStream(peerId, this.remoteStream);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") this.disconnectedSince = null;
      mesh.onPeerState(peerId, pc.connectionState);
    };
    pc.oniceconnectionstatechange = () => {
      const state = pc.iceConnectionState;
      if (state === "failed") this.restartIce();
      else if (state === "disconnected") this.disconnectedSince ??= performance.now();
      else if (state === "connected" || state === "completed") this.disconnectedSince = null;
    };

    if (initiator) this.addLocalTracks();
  }

  addLocalTracks() {
    if (this.tracksAdded) return;
    this.tracksAdded = true;
    const media = this.mesh.localMedia;
    for (const track of media.stream?.getTracks() ?? []) this.pc.addTrack(track, media.stream);
    // Someone taking part by audio only sends no video but still sees the others' cameras.
    if (this.initiator && !media.videoTrack) {
      this.pc.addTransceiver("video", { direction: "recvonly" });
    }
  }

  /** Signals are handled one at a time, in order, so a candidate never overtakes its offer. */
  handle(message) {
    this.queue = this.queue.then(() => this._handle(message)).catch((error) => {
      console.warn("circle: signal from", this.peerId, "failed:", error);
    });
    return this.queue;
  }

  async _handle({ description, candidate }) {
    if (this.closed) return;
    const pc = this.pc;
    if (description) {
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === "answer";
      try {
        await pc.setRemoteDescription(description);  // rolls back our own offer if polite
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        this.addLocalTracks();
        await pc.setLocalDescription();
        this._send({ description: pc.localDescription.toJSON() });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  async _offer() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this._send({ description: this.pc.localDescription.toJSON() });
    } catch (error) {
      console.warn("circle: offer to", this.peerId, "failed:", error);
    } finally {
      this.makingOffer = false;
    }
  }

  restartIce() {
    if (this.closed) return;
    this.disconnectedSince = null;
    this.createdAt = performance.now();
    this.pc.restartIce();
  }

  /** Called every few seconds: recover a link that dropped or never came up. */
  async watch() {
    if (this.closed) return;
    const now = performance.now();
    const state = this.pc.connectionState;
    if (this.disconnectedSince !== null && now - this.disconnectedSince > DISCONNECTED_GRACE_MS) {
      this.restartIce();
      return;
    }
    if (state !== "connected" && now - this.createdAt > STALL_MS && (this.initiator || !this.polite)) {
      // Our offer may have been lost (for instance while the signalling connection was down):
      // take it back so a fresh one, with an ICE restart, can go out.
      if (this.pc.signalingState === "have-local-offer") {
        await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      this.restartIce();
    }
  }

  _send(payload) {
    this.mesh.send(this.peerId, payload);
  }

  close() {
    this.closed = true;
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.close();
  }
}

export class Mesh {
  /**
   * selfId: this participant's id; localMedia: a started LocalMedia;
   * send(to, payload): relay a signal; onRemoteStream(id, stream), onPeerState(id, state),
   * onPeerClosed(id): let the view follow.
   */
  constructor({ selfId, localMedia, send, onRemoteStream, onPeerState, onPeerClosed }) {
    this.selfId = selfId;
    this.localMedia = localMedia;
    this.send = send;
    this.onRemoteStream = onRemoteStream;
    this.onPeerState = onPeerState;
    this.onPeerClosed = onPeerClosed;
    this.iceServers = [];
    this.relayOnly = false;
    this.links = new Map();
    this.timer = setInterval(() => {
      for (const link of this.links.values()) link.watch();
    }, WATCH_INTERVAL_MS);
  }

  setIceServers(iceServers, { relayOnly = false } = {}) {
    this.iceServers = iceServers || [];
    this.relayOnly = relayOnly;
    for (const link of this.links.values()) {
      try {
        link.pc.setConfiguration(this.rtcConfiguration());
      } catch {
        /* some settings cannot change on a live connection; new links get them */
      }
    }
  }

  rtcConfiguration() {
    return {
      iceServers: this.iceServers,
      iceTransportPolicy: this.relayOnly ? "relay" : "all",
      bundlePolicy: "max-bundle",
    };
  }

  /** As the newcomer (or after a resume): offer to a participant who was already there. */
  connectTo(peerId) {
    this.close(peerId);
    const link = new PeerLink(this, peerId, { initiator: true });
    this.links.set(peerId, link);
    return link;
  }

  handleSignal(from, message) {
    let link = this.links.get(from);
    const description = message.description;
    if (description?.type === "offer" && link) {
      // A new certificate means the other side started over (it reloaded or resumed): the old
      // connection is dead, so answer on a new one instead of renegotiating the old.
      const known = fingerprintOf(link.pc.remoteDescription?.sdp);
      if (known && known !== fingerprintOf(description.sdp)) {
        this.close(from);
        link = null;
      }
    }
    if (!link) {
      if (description?.type !== "offer") return;  // stray candidate/answer for a closed link
      link = new PeerLink(this, from, { initiator: false });
      this.links.set(from, link);
    }
    link.handle(message);
  }

  has(peerId) {
    return this.links.has(peerId);
  }

  close(peerId) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.close();
    this.links.delete(peerId);
    this.onPeerClosed?.(peerId);
  }

  closeAll() {
    for (const id of [...this.links.keys()]) this.close(id);
  }

  destroy() {
    clearInterval(this.timer);
    this.closeAll();
  }
}
