// Media through the server (its SFU): two peer connections with it, so that offers never cross.
// On "publish" this page offers and sends its own tracks; on "subscribe" the server offers
// everyone else's tracks (again whenever people come, go or change tracks) and this page answers.
// Each stream the server sends has the publisher's participant id as its id, so the page knows
// whose picture it is. Only the server's address is ever learnt.

const RESTART_DELAY_MS = 1000;

export class Sfu {
  /**
   * localMedia: a started LocalMedia (or null to only receive); send(payload): a signal to "sfu";
   * onRemoteStream(id, stream): a member's stream arrived; onMedia(): the subscribe connection is up
   * and carries media (or there is no one else to receive).
   */
  constructor({ localMedia, send, onRemoteStream, onMedia }) {
    this.localMedia = localMedia;
    this.send = send;
    this.onRemoteStream = onRemoteStream;
    this.onMedia = onMedia;
    this.iceServers = [];
    this.relayOnly = false;
    this.publishPc = null;
    this.subscribePc = null;
    this.streams = new Map();
    this.closed = false;
    this.mediaSaid = false;
    this.restartTimer = null;
    this.queue = Promise.resolve();
  }

  /** relayOnly: reach the server only through the TURN server (a member whose network allows no
   * direct UDP); connections opened later use what was set last. */
  setIceServers(iceServers, { relayOnly = false } = {}) {
    this.iceServers = iceServers || [];
    this.relayOnly = relayOnly;
  }

  _configuration() {
    return {
      iceServers: this.iceServers,
      iceTransportPolicy: this.relayOnly ? "relay" : "all",
      bundlePolicy: "max-bundle",
    };
  }

  /** Offer this page's tracks to the server (or just wait for its offer when there are none). */
  start() {
    if (this.localMedia?.stream?.getTracks().length) this._publish();
  }

  /** A signal from the server; handled one at a time, in order. */
  handle(message) {
    this.queue = this.queue.then(() => this._handle(message)).catch((error) => {
      console.warn("circle: SFU signal failed:", error);
    });
    return this.queue;
  }

  async _handle({ pc: which, description, candidate, restart }) {
    if (this.closed) return;
    if (which === "publish") {
      const pc = this.publishPc;
      if (!pc || !description) return;
      if (description.type === "answer" && pc.signalingState === "have-local-offer") {
        await pc.setRemoteDescription(description);
      }
      return;
    }
    if (which !== "subscribe") return;
    if (description?.type === "offer") {
      if (restart || !this.subscribePc) this._newSubscriber();
      const pc = this.subscribePc;
      await pc.setRemoteDescription(description);
      await pc.setLocalDescription();
      this.send({ pc: "subscribe", description: pc.localDescription.toJSON() });
      this._mediaIfAlone();
    } else if (candidate && this.subscribePc) {
      await this.subscribePc.addIceCandidate(candidate).catch(() => {});
    }
  }

  _publish() {
    this.publishPc?.close();
    const pc = new RTCPeerConnection(this._configuration());
    this.publishPc = pc;
    const media = this.localMedia;
    for (const track of media.stream.getTracks()) {
      pc.addTransceiver(track, { direction: "sendonly", streams: [media.stream] });
    }
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send({ pc: "publish", candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (pc === this.publishPc && pc.connectionState === "failed") this._restartSoon(() => this._publish());
    };
    pc.onnegotiationneeded = async () => {
      if (pc !== this.publishPc || this.closed) return;
      try {
        await pc.setLocalDescription();
        this.send({ pc: "publish", description: pc.localDescription.toJSON() });
      } catch (error) {
        console.warn("circle: offer to the server failed:", error);
      }
    };
  }

  _newSubscriber() {
    this.subscribePc?.close();
    const pc = new RTCPeerConnection(this._configuration());
    this.subscribePc = pc;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send({ pc: "subscribe", candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track, streams }) => {
      const id = streams[0]?.id;
      if (!id) return;
      let stream = this.streams.get(id);
      if (!stream) {
        stream = new MediaStream();
        this.streams.set(id, stream);
      }
      for (const old of stream.getTracks()) {
        if (old.kind === track.kind && old !== track) stream.removeTrack(old);
      }
      if (!stream.getTracks().includes(track)) stream.addTrack(track);
      this.onRemoteStream(id, stream);
      if (pc.connectionState === "connected") this._media();
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.subscribePc) return;
      if (pc.connectionState === "connected" && this.streams.size) this._media();
      // The server starts a failed subscribe connection over with a fresh offer; nothing to send.
    };
  }

  /** With nobody else publishing there is nothing to wait for before leaving the mesh. */
  _mediaIfAlone() {
    const receiving = this.subscribePc?.getTransceivers().some((t) => t.currentDirection !== "inactive");
    if (!receiving) this._media();
  }

  _media() {
    if (this.mediaSaid) return;
    this.mediaSaid = true;
    this.onMedia?.();
  }

  _restartSoon(restart) {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.closed) restart();
    }, RESTART_DELAY_MS);
  }

  /** This member's stream from `id` is no longer wanted (they left). */
  forget(id) {
    this.streams.delete(id);
  }

  destroy() {
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.publishPc?.close();
    this.subscribePc?.close();
    this.publishPc = null;
    this.subscribePc = null;
    this.streams.clear();
  }
}
