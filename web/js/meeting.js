// The meeting: joins (or resumes), keeps the room's state from the server's events, and drives
// the views (tiles, people, chat), the controls and the media mesh.

import { $, announce, setMessage } from "./dom.js";
import { Connection } from "./connection.js";
import { Mesh } from "./mesh.js";
import { LocalMedia, describeMediaError } from "./media.js";
import { PeopleList } from "./people.js";
import { TileGrid } from "./tiles.js";
import { ChatPanel } from "./chat.js";
import { HostTools } from "./host.js";
import { browserKey, forgetSession, saveSession } from "./storage.js";
import { joinErrorText } from "./join.js";

// The server relays speaking changes to everyone; a few per second is plenty for an indicator.
const SPEAKING_MIN_INTERVAL_MS = 250;

const SCREENS = ["join-screen", "waiting-screen", "meeting-screen", "ended-screen"];

export function showScreen(id) {
  for (const screen of SCREENS) $(screen).hidden = screen !== id;
}

export class Meeting {
  constructor({ roomId, hostKey }) {
    this.roomId = roomId;
    this.hostKey = hostKey;
    this.conn = new Connection();
    this.state = "idle";  // idle → (waiting) → in → ended
    this.info = null;     // {name, media, passcode}
    this.self = null;
    this.participants = new Map();
    this.waiting = new Map();
    this.hands = [];
    this.speaker = null;
    this.resumeToken = null;
    this.localMedia = null;
    this.mesh = null;
    this.pendingSignals = [];
    this.offline = false;
    this.speakingSent = false;
    this.speakingWanted = false;
    this.speakingLastSent = 0;
    this.speakingTimer = null;
    this.serverClosedAt = 0;
    this.versionFloor = 0;        // the room version of the last snapshot
    this.versions = new Map();    // participant id (or "room") → newest version applied

    this.tiles = new TileGrid($("tiles"), { onSoundBlocked: () => ($("sound-banner").hidden = false) });
    this.chat = new ChatPanel({
      log: $("chat-log"),
      form: $("chat-form"),
      textarea: $("message"),
      select: $("send-to"),
      error: $("chat-error"),
      nameOf: (id) => this.participants.get(id)?.name ?? null,
      send: async (text, to, key) => {
        const payload = to ? { text, to, key } : { text, key };
        try {
          return (await this.conn.request("chat:send", payload)).message;
        } catch (error) {
          // Kept by the server and on its way to everyone: show it as sent, never send it twice.
          if (error.stored) return error.stored;
          throw error;
        }
      },
    });
    this.host = new HostTools(this);
    this.people = new PeopleList({
      list: $("participants"),
      count: $("people-count"),
      waitingPanel: $("waiting-panel"),
      waitingList: $("waiting-list"),
      actions: this.host.actions(),
      isFacilitator: () => this.self?.role === "facilitator",
    });
    this._bindSocket();
    this._bindControls();
  }

  // ---- joining -------------------------------------------------------------------------------

  /** Join from the join screen (or resume after a reload, with resumeToken). Throws RequestError. */
  async join({ name, media, passcode, localMedia, resumeToken }) {
    this.info = { name, media, passcode };
    if (localMedia) this.localMedia = localMedia;
    await this.conn.open();
    const ack = await this._sendJoin(resumeToken);
    if (ack.waiting) {
      this.self = ack.self;
      this.state = "waiting";
      this._remember(ack.resume_token);
      showScreen("waiting-screen");
      $("waiting-title").focus();
      return;
    }
    await this._enter(ack.room, ack.resume_token, ack.self.id);
  }

  _sendJoin(resumeToken) {
    const payload = {
      room: this.roomId,
      name: this.info.name,
      media: this.info.media,
      accept_guidelines: true,  // the join screen does not let anyone past without agreeing
      browser_key: browserKey(),
    };
    if (this.info.passcode) payload.passcode = this.info.passcode;
    if (this.hostKey) payload.host_key = this.hostKey;
    if (resumeToken) payload.resume_token = resumeToken;
    return this.conn.request("join", payload);
  }

  async _enter(room, resumeToken, selfId) {
    this.state = "in";
    this._remember(resumeToken);
    this._applySnapshot(room, selfId);
    this.chat.setSelf(selfId);
    this.chat.addAll(room.chat);
    showScreen("meeting-screen");
    $("meeting-title").textContent = `Meeting: ${room.title}`;
    $("meeting-title").focus();
    announce(`You joined ${room.title}.`);
    if (this.info.media !== "text") await this._startMedia();
  }

  _remember(resumeToken) {
    if (resumeToken) this.resumeToken = resumeToken;
    saveSession(this.roomId, {
      resume_token: this.resumeToken,
      name: this.info.name,
      media: this.info.media,
    });
  }

  _applySnapshot(room, selfId) {
    this.title = room.title;
    this.participants = new Map(room.participants.map((p) => [p.id, p]));
    this.self = this.participants.get(selfId) ?? this.self;
    this.waiting = new Map((room.waiting ?? []).map((p) => [p.id, p]));
    this.hands = room.hands ?? [];
    this.speaker = room.speaker ?? null;
    this.locked = Boolean(room.locked);
    this.waitingRoom = Boolean(room.waiting_room);
    this.versionFloor = room.version ?? 0;
    this.versions = new Map();
    $("topbar-title").textContent = room.title;
    for (const id of [...this.tiles.tiles.keys()]) {
      if (!this.participants.has(id)) this.tiles.remove(id);
    }
    this._render();
  }

  // ---- media ---------------------------------------------------------------------------------

  async _startMedia() {
    if (!this.localMedia) {
      this.localMedia = new LocalMedia(this.info.media);
      try {
        await this.localMedia.start();
      } catch (error) {
        this.localMedia = null;
        setMessage($("meeting-error"), describeMediaError(error, this.info.media));
        return;
      }
    }
    const media = this.localMedia;
    media.setAudioEnabled(this.self.audio);
    media.setVideoEnabled(this.self.video);
    this.tiles.setStream(this.self.id, media.stream, { playAudio: false });
    media.onLevel(({ speaking }) => {
      this.tiles.setSpeaking(this.self.id, speaking);
      this._reportSpeaking(speaking);
    });
    this.mesh = new Mesh({
      selfId: this.self.id,
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

  async _refreshIceServers() {
    try {
      const config = await this.conn.request("rtc:config", {});
      this.mesh?.setIceServers(config.ice_servers, {
        relayOnly: config.ice_transport_policy === "relay",
      });
    } catch (error) {
      console.warn("circle: no ICE configuration:", error.code);
    }
  }

  /** Offer to everyone with media who is here: we are the newcomer (or just came back). */
  _connectPeers() {
    if (!this.mesh) return;
    this.mesh.closeAll();
    for (const p of this.participants.values()) {
      if (p.id !== this.self.id && p.media !== "text" && !p.away) this.mesh.connectTo(p.id);
    }
  }

  _reportSpeaking(speaking) {
    this.speakingWanted = speaking;
    if (this.speakingTimer || speaking === this.speakingSent) return;
    const wait = Math.max(0, this.speakingLastSent + SPEAKING_MIN_INTERVAL_MS - performance.now());
    this.speakingTimer = setTimeout(() => {
      this.speakingTimer = null;
      if (this.speakingWanted === this.speakingSent || this.state !== "in" || !this.conn.connected) return;
      this.speakingSent = this.speakingWanted;
      this.speakingLastSent = performance.now();
      this.conn.request("media:speaking", { speaking: this.speakingSent }).catch(() => {});
    }, wait);
  }

  // ---- server events -------------------------------------------------------------------------

  _bindSocket() {
    const on = (event, handler) => this.conn.on(event, (payload) => {
      try {
        handler(payload ?? {});
      } catch (error) {
        console.error(`circle: handling ${event} failed:`, error);
      }
    });
    this.conn.on("connect", () => this._connected());
    this.conn.on("disconnect", (reason) => this._disconnected(reason));
    on("participant:joined", (p) => {
      if (this._isStale(p.id, p.version)) return;
      const known = this.participants.has(p.id);
      this.participants.set(p.id, p);
      this.waiting.delete(p.id);
      if (!known && p.id !== this.self?.id) announce(`${p.name} joined.`);
      this._render();
    });
    on("participant:left", ({ id, reason, version }) => {
      if (this._isStale(id, version)) return;
      if (id === this.self?.id) {
        if (reason === "ended") this._end("The meeting has ended", "Thank you for being here.");
        else if (reason === "removed") this._end("You were removed from the meeting", "A facilitator removed you from this meeting.");
        return;
      }
      const p = this.participants.get(id);
      this.participants.delete(id);
      this.waiting.delete(id);
      this.mesh?.close(id);
      this.tiles.remove(id);
      if (p) announce(reason === "disconnected" ? `${p.name} lost their connection and left.` : `${p.name} left.`);
      this._render();
    });
    on("participant:updated", (p) => this._participantUpdated(p));
    on("room:updated", (update) => {
      if (this._isStale("room", update.version)) return;
      if (update.hands) this.hands = update.hands;
      if ("speaker" in update) this._setSpeaker(update.speaker);
      if (update.title) this.title = update.title;
      this.locked = update.locked;
      this.waitingRoom = update.waiting_room;
      this._render();
    });
    on("room:sync", (room) => this._sync(room));
    on("lobby:waiting", (p) => {
      if (this._isStale(p.id, p.version)) return;
      this.waiting.set(p.id, p);
      announce(`${p.name} is waiting to be let in.`);
      this._render();
    });
    on("lobby:admitted", ({ room, resume_token: token }) => {
      if (this.state !== "waiting") return;
      this._enter(room, token, this.self.id);
    });
    on("lobby:denied", () => {
      this._end("You weren't let in this time", "The facilitator couldn't let you into this meeting. You're welcome to reach out to them.");
    });
    on("room:ended", () => this._end("The meeting has ended", "Thank you for being here. Take care of yourself."));
    on("you:removed", ({ ban }) => {
      this._end(
        "You were removed from the meeting",
        ban ? "A facilitator removed you from this meeting, and you can't rejoin it." : "A facilitator removed you from this meeting.",
      );
    });
    on("you:muted", ({ audio, video }) => {
      if (audio) this.localMedia?.setAudioEnabled(false);
      if (video) this.localMedia?.setVideoEnabled(false);
      if (this.self) {
        if (audio) this.self.audio = false;
        if (video) this.self.video = false;
      }
      const what = audio && video ? "microphone and camera" : audio ? "microphone" : "camera";
      const message = `A facilitator turned off your ${what}.${this.self?.media_locked ? "" : " You can turn it back on when you're ready."}`;
      setMessage($("meeting-error"), message);
      announce(message);
      this._render();
    });
    on("chat:message", (message) => this.chat.add(message));
    on("signal", ({ from, ...message }) => {
      if (this.info?.media === "text") return;  // text-only members take part in no media
      if (this.mesh) this.mesh.handleSignal(from, message);
      else this.pendingSignals.push([from, message]);
    });
    on("error", (error) => console.warn("circle: server error", error.event, error.code));
  }

  // With several server instances two room events can arrive out of order: every room-state event
  // carries the room's version, and only the newest per participant (or for the room) is applied.
  _isStale(key, version) {
    if (typeof version !== "number") return false;
    const newest = Math.max(this.versionFloor, this.versions.get(key) ?? 0);
    if (version < newest) return true;
    this.versions.set(key, version);
    return false;
  }

  /**
   * After this tab's server lost touch with the others for a moment, it sends the room as it is
   * now: take from it whatever is newer than what this page has seen, person by person.
   */
  _sync(room) {
    const version = room.version;
    if (typeof version !== "number" || version < this.versionFloor) return;
    const newer = (key) => (this.versions.get(key) ?? 0) > version;
    const present = new Map(room.participants.map((p) => [p.id, p]));
    for (const id of [...this.participants.keys()]) {
      if (present.has(id) || newer(id) || id === this.self?.id) continue;
      this.participants.delete(id);
      this.mesh?.close(id);
      this.tiles.remove(id);
    }
    for (const p of present.values()) {
      if (newer(p.id)) continue;
      this.participants.set(p.id, p);
      if (p.id === this.self?.id) this.self = p;
    }
    if (!newer("room")) {
      this.hands = room.hands ?? [];
      this._setSpeaker(room.speaker ?? null);
      this.locked = room.locked;
      this.waitingRoom = room.waiting_room;
      if (room.title) this.title = room.title;
    }
    this._render();
  }

  _participantUpdated(p) {
    if (this._isStale(p.id, p.version)) return;
    const before = this.participants.get(p.id);
    if (!before && this.state === "in") return;  // an update for someone we never saw join
    this.participants.set(p.id, p);
    if (p.id === this.self?.id) {
      this.self = p;
      this.localMedia?.setAudioEnabled(p.audio);
      this.localMedia?.setVideoEnabled(p.video);
    } else if (before) {
      const raised = (before.hand === null || before.hand === undefined) && p.hand !== null && p.hand !== undefined;
      if (raised) announce(`${p.name} raised their hand.`);
      if (!before.away && p.away) {
        announce(`${p.name} lost their connection. They may be back shortly.`);
        // They will offer afresh when they return: the old connection is of no use.
        this.mesh?.close(p.id);
      } else if (before.away && !p.away) {
        announce(`${p.name} is back.`);
      }
      if (before.role !== p.role && p.role === "facilitator") announce(`${p.name} is now a facilitator.`);
    }
    this._render();
  }

  _setSpeaker(speaker) {
    const changed = speaker?.id !== this.speaker?.id;
    this.speaker = speaker;
    if (changed && speaker) {
      const name = this.participants.get(speaker.id)?.name;
      if (name) announce(speaker.id === this.self?.id ? "It's your turn to share." : `${name} is sharing now.`);
    }
  }

  // ---- connection drops ----------------------------------------------------------------------

  _disconnected(reason) {
    if (this.state !== "in" && this.state !== "waiting") return;
    this.offline = true;
    const status = $("connection-status");
    status.textContent = "Connection lost — reconnecting…";
    status.classList.add("offline");
    if (reason === "io server disconnect") {
      // The server closed us (a restart, or this person opened the meeting in another tab).
      // Try once more, but never bounce back and forth with another tab.
      const now = Date.now();
      if (now - this.serverClosedAt > 30000) {
        this.serverClosedAt = now;
        setTimeout(() => this.conn.socket.connect(), 1500);
      } else {
        status.textContent = "Disconnected. This meeting may be open in another tab.";
      }
    }
  }

  async _connected() {
    if (!this.offline || (this.state !== "in" && this.state !== "waiting")) return;
    try {
      const ack = await this._sendJoin(this.resumeToken);
      if (ack.waiting) {
        this.state = "waiting";
        showScreen("waiting-screen");
      } else {
        const wasIn = this.state === "in";
        this.state = "in";
        this._remember(ack.resume_token);
        this._applySnapshot(ack.room, ack.self.id);
        if (!wasIn) await this._enter(ack.room, ack.resume_token, ack.self.id);
        this.chat.setSelf(ack.self.id);
        this.chat.addAll(ack.room.chat);
        await this._fetchMissedChat();
        if (this.mesh) {
          this.mesh.selfId = ack.self.id;
          await this._refreshIceServers();
          this._connectPeers();
        }
      }
      this.offline = false;
      const status = $("connection-status");
      status.classList.remove("offline");
      status.textContent = "Reconnected";
      setTimeout(() => {
        if (!this.offline) status.textContent = "";
      }, 4000);
    } catch (error) {
      if (["banned", "not_found", "room_locked", "room_full", "wrong_passcode"].includes(error.code)) {
        this._end("You couldn't rejoin the meeting", joinErrorText(error));
      } else {
        setTimeout(() => this.conn.connected && this._connected(), 2000);
      }
    }
  }

  async _fetchMissedChat() {
    try {
      const payload = this.chat.lastId ? { after: this.chat.lastId } : {};
      const ack = await this.conn.request("chat:history", payload);
      this.chat.addAll(ack.messages);
    } catch (error) {
      console.warn("circle: chat history unavailable:", error.code);
    }
  }

  // ---- controls ------------------------------------------------------------------------------

  _bindControls() {
    $("toggle-mic").addEventListener("click", () => this._setMedia({ audio: !this.self.audio }));
    $("toggle-cam").addEventListener("click", () => this._setMedia({ video: !this.self.video }));
    $("toggle-hand").addEventListener("click", () => this._toggleHand());
    $("leave").addEventListener("click", () => this.leave());
    $("stop-waiting").addEventListener("click", () => this.leave());
    $("rejoin").addEventListener("click", () => location.reload());
    $("enable-sound").addEventListener("click", () => {
      this.tiles.resumeSound();
      $("sound-banner").hidden = true;
    });
  }

  async _setMedia(change) {
    if (!this.self || !this.localMedia) return;
    const before = { audio: this.self.audio, video: this.self.video };
    const wanted = { ...before, ...change };
    if (this.self.media !== "av") wanted.video = false;
    this.localMedia.setAudioEnabled(wanted.audio);
    this.localMedia.setVideoEnabled(wanted.video);
    Object.assign(this.self, wanted);
    this._render();
    try {
      await this.conn.request("media:state", wanted);
      setMessage($("meeting-error"), "");
    } catch (error) {
      this.localMedia.setAudioEnabled(before.audio);
      this.localMedia.setVideoEnabled(before.video);
      Object.assign(this.self, before);
      this._render();
      setMessage(
        $("meeting-error"),
        error.code === "forbidden"
          ? "A facilitator has paused this for now. You'll be able to turn it back on later."
          : "That didn't work because the connection dropped. Try again in a moment.",
      );
    }
  }

  async _toggleHand() {
    if (!this.self) return;
    const raising = this.self.hand === null || this.self.hand === undefined;
    try {
      await this.conn.request(raising ? "hand:raise" : "hand:lower", {});
      // The server's participant:updated follows; reflect the change at once meanwhile.
      if (this.self.hand === null || this.self.hand === undefined || !raising) {
        this.self.hand = raising ? Date.now() : null;
      }
      if (!raising) this.hands = this.hands.filter((id) => id !== this.self.id);
      else if (!this.hands.includes(this.self.id)) this.hands = [...this.hands, this.self.id];
      announce(raising ? "Your hand is raised." : "Your hand is lowered.");
      this._render();
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
    }
  }

  /** Leave at once (no confirmation: leaving must always be easy). */
  async leave() {
    if (this.conn.connected) {
      await this.conn.request("leave", {}, 2000).catch(() => {});
    }
    this._end("You have left the meeting", "Thank you for being here. You can rejoin while the meeting is on.", { rejoin: true });
  }

  _end(title, text, { rejoin = false } = {}) {
    if (this.state === "ended") return;
    this.state = "ended";
    forgetSession(this.roomId);
    clearTimeout(this.speakingTimer);
    this.mesh?.destroy();
    this.mesh = null;
    this.localMedia?.stop();
    this.localMedia = null;
    this.tiles.clearAll();
    this.conn.close();
    $("connection-status").textContent = "";
    $("connection-status").classList.remove("offline");
    $("ended-title").textContent = title;
    $("ended-text").textContent = text;
    $("rejoin").hidden = !rejoin;
    showScreen("ended-screen");
    $("ended-title").focus();
  }

  // ---- rendering -----------------------------------------------------------------------------

  _render() {
    if (!this.self) return;
    const selfId = this.self.id;
    this.people.render({ participants: this.participants, selfId, hands: this.hands });
    this.people.renderWaiting(this.waiting);
    for (const p of this.participants.values()) {
      this.tiles.update(p, { isSelf: p.id === selfId, handPosition: this.hands.indexOf(p.id) + 1 });
    }
    this.chat.updateRecipients(this.participants);
    this.host.render();

    const self = this.self;
    const mic = $("toggle-mic");
    mic.hidden = self.media === "text";
    mic.textContent = self.audio ? "Mute microphone" : "Unmute microphone";
    mic.classList.toggle("engaged", !self.audio);
    const cam = $("toggle-cam");
    cam.hidden = self.media !== "av";
    cam.textContent = self.video ? "Turn camera off" : "Turn camera on";
    cam.classList.toggle("engaged", !self.video);
    const hand = $("toggle-hand");
    const raised = self.hand !== null && self.hand !== undefined;
    hand.textContent = raised ? "Lower hand" : "Raise hand";
    hand.classList.toggle("engaged", raised);

    const banner = $("speaker-banner");
    const speaker = this.speaker && this.participants.get(this.speaker.id);
    banner.hidden = !speaker;
    if (speaker) banner.textContent = speaker.id === selfId ? "It's your turn to share." : `${speaker.name} is sharing.`;
  }
}
