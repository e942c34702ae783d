// The meeting: joins (or resumes), rejoins after a dropped connection, leaves, and wires the
// server's events and the page's controls to the room state, the call and the views (tiles,
// people, chat).

import { $, announce, setMessage } from "./dom.js";
import { Connection } from "./connection.js";
import { RoomState } from "./room.js";
import { Call } from "./call.js";
import { SelfControls } from "./controls.js";
import { PeopleList } from "./people.js";
import { TileGrid } from "./tiles.js";
import { ChatPanel } from "./chat.js";
import { HostTools } from "./host.js";
import { Moderation } from "./moderation.js";
import { ServerClock } from "./clock.js";
import { ShareView } from "./share.js";
import { Chime } from "./chime.js";
import { browserKey, forgetSession, saveSession } from "./storage.js";
import { joinErrorText } from "./join.js";
import { Retry } from "./retry.js";
import { AgendaTools, AgendaView } from "./agenda.js";
import { CareControls, ConcernList, FacilitatorPresence } from "./care.js";
import { TurnControls } from "./turns.js";

const SCREENS = ["join-screen", "waiting-screen", "meeting-screen", "ended-screen"];

const REMOVED_TITLE = "You were removed from the meeting";

export function showScreen(id) {
  for (const screen of SCREENS) $(screen).hidden = screen !== id;
}

export class Meeting {
  constructor({ roomId, hostKey, invite = null, token = null }) {
    this.roomId = roomId;
    this.hostKey = hostKey;
    this.invite = invite;
    this.token = token;
    this.conn = new Connection();
    this.state = "idle";  // idle → (waiting) → in → ended
    this.info = null;     // {name, media, passcode}
    this.resumeToken = null;
    this.offline = false;
    this.serverClosedAt = 0;
    // Connecting again when socket.io leaves it to the page (see _connectFailed).
    this.reconnect = new Retry(600, 5000);
    this.clock = new ServerClock();
    this.chime = new Chime();

    this.room = new RoomState({
      onGone: (id) => {
        this.call.close(id);
        this.tiles.remove(id);
      },
      onAway: (id) => this.call.close(id),
      onSelfUpdated: (p, before) => {
        this.call.localMedia?.setAudioEnabled(p.audio);
        this.call.localMedia?.setVideoEnabled(p.video);
        this.controls.selfChanged(p, before);
      },
      onSelfLeft: (reason) => {
        if (reason === "ended") this._end("The meeting has ended", "Thank you for being here.");
        else if (reason === "removed") this._removed(false);
      },
      onArrival: () => {
        if (this.state === "in" && this.room.self?.role === "facilitator") this.chime.play();
      },
      onChange: () => this._render(),
    });
    this.tiles = new TileGrid($("tiles"), { onSoundBlocked: () => ($("sound-banner").hidden = false) });
    this.call = new Call({
      conn: this.conn,
      room: this.room,
      tiles: this.tiles,
      onSpeaking: (speaking) => this.controls.reportSpeaking(speaking),
    });
    this.controls = new SelfControls({
      conn: this.conn,
      room: this.room,
      call: this.call,
      isIn: () => this.state === "in",
      onChange: () => this._render(),
    });
    this.chat = new ChatPanel({
      log: $("chat-log"),
      form: $("chat-form"),
      textarea: $("message"),
      select: $("send-to"),
      send: async (text, to, key) => {
        const payload = to ? { text, to, key } : { text, key };
        let message;
        try {
          message = (await this.conn.request("chat:send", payload)).message;
        } catch (error) {
          // Kept by the server and on its way to everyone: show it as sent, never send it twice.
          if (!error.stored) throw error;
          message = error.stored;
        }
        this.clock.observe(message?.at);
        return message;
      },
      decorate: (node, message) => this.moderation?.decorateMessage(node, message),
    });
    this.host = new HostTools(this);
    this.moderation = new Moderation(this);
    this.people = new PeopleList({
      list: $("participants"),
      count: $("people-count"),
      waitingPanel: $("waiting-panel"),
      waitingList: $("waiting-list"),
      waitingCount: $("waiting-count"),
      actions: { ...this.host.actions(), ...this.moderation.peopleActions() },
      isFacilitator: () => this.room.self?.role === "facilitator",
    });
    this.share = new ShareView({
      banner: $("speaker-banner"),
      text: $("speaker-text"),
      time: $("speaker-time"),
      clock: this.clock,
      tiles: this.tiles,
      screen: $("meeting-screen"),
    });
    // The meeting's format and care.
    this.agendaView = new AgendaView();
    this.agendaTools = new AgendaTools(this, (event, payload, then) => this.host._run(event, payload, then));
    this.turns = new TurnControls(this);
    this.care = new CareControls(this);
    this.concerns = new ConcernList(this);
    this.presence = new FacilitatorPresence();
    this.baseTitle = document.title;
    this._bindSocket();
    this._bindControls();
  }

  // ---- joining -------------------------------------------------------------------------------

  /** Join from the join screen (or resume after a reload, with resumeToken). Throws RequestError. */
  async join({ name, media, passcode, guidelinesVersion, localMedia, resumeToken }) {
    this.info = { name, media, passcode, guidelinesVersion };
    if (localMedia) this.call.localMedia = localMedia;
    await this.conn.open();
    const ack = await this._sendJoin(resumeToken);
    if (ack.waiting) {
      this.room.self = ack.self;
      this.state = "waiting";
      this._remember(ack.resume_token);
      this.presence.waiting(ack.facilitator_present);
      showScreen("waiting-screen");
      $("waiting-title").focus();
      return;
    }
    // A first join happens now on the server: its join time is a reading of the server's clock.
    if (!resumeToken) this.clock.observe(ack.self.joined_at);
    await this._enter(ack.room, ack.resume_token, ack.self.id);
  }

  _sendJoin(resumeToken) {
    const payload = {
      room: this.roomId,
      media: this.info.media,
      accept_guidelines: true,  // the join screen does not let anyone past without agreeing
      browser_key: browserKey(),
    };
    // With a join token, the token names this person.
    if (this.token) payload.token = this.token;
    else payload.name = this.info.name;
    // The version agreed to: if the guidelines changed since, the server asks for them to be read again.
    if (this.info.guidelinesVersion !== undefined) payload.guidelines_version = this.info.guidelinesVersion;
    if (this.info.passcode) payload.passcode = this.info.passcode;
    if (this.hostKey) payload.host_key = this.hostKey;
    if (this.invite) payload.invite = this.invite;
    if (resumeToken) payload.resume_token = resumeToken;
    return this.conn.request("join", payload);
  }

  async _enter(room, resumeToken, selfId) {
    this.state = "in";
    this._remember(resumeToken);
    this._applySnapshot(room, selfId);
    this.chat.addAll(room.chat);
    this.concerns.reset(room.concerns);
    // A text-only member sees no video: the chat takes the tiles' place (see the stylesheet).
    $("meeting-screen").classList.toggle("text-only", this.info.media === "text");
    showScreen("meeting-screen");
    $("meeting-title").textContent = `Meeting: ${room.title}`;
    $("meeting-title").focus();
    announce(`You joined ${room.title}.`);
    if (this.info.media !== "text") await this.call.start(this.info.media);
  }

  _remember(resumeToken) {
    if (resumeToken) this.resumeToken = resumeToken;
    saveSession(this.roomId, {
      resume_token: this.resumeToken,
      name: this.info.name,
      media: this.info.media,
      guidelines_version: this.info.guidelinesVersion,
    });
  }

  _applySnapshot(room, selfId) {
    // The chat first: its "Send to" list leaves out this person, so it must know who that is.
    this.chat.setSelf(selfId);
    this.room.reset(room, selfId);
    $("topbar-title").textContent = room.title;
    this.baseTitle = `${room.title} · Circle`;
    for (const id of [...this.tiles.tiles.keys()]) {
      if (!this.room.participants.has(id)) this.tiles.remove(id);
    }
    this._render();
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
    this.conn.on("connect_error", () => this._connectFailed());
    on("server:closing", () => this._serverClosing());
    on("participant:joined", (p) => {
      this.clock.observe(p.joined_at);
      this.room.participantJoined(p);
    });
    on("participant:left", (left) => this.room.participantLeft(left));
    on("participant:updated", (p) => this.room.participantUpdated(p, { inMeeting: this.state === "in" }));
    on("room:updated", (update) => {
      this.clock.observe(update.speaker?.since);
      this.room.roomUpdated(update);
      this._followMedia(update);
    });
    on("room:sync", (room) => {
      this.room.sync(room);
      this._followMedia(room);
    });
    on("lobby:waiting", (p) => this.room.lobbyWaiting(p));
    on("lobby:passcode-failures", ({ scope }) => {
      // Facilitators only: someone is guessing the passcode, and the server has shut the door to it.
      const message = scope === "room"
        ? "Many wrong passcodes are being tried for this meeting, so passcodes are paused for a while. You can lock the meeting."
        : "Someone has tried too many wrong passcodes. Their network has to wait before trying again.";
      setMessage($("meeting-error"), message);
    });
    on("lobby:facilitator", ({ present }) => {
      if (this.state === "waiting") this.presence.waiting(present);
    });
    on("concern:raised", (concern) => this.concerns.raised(concern));
    on("concern:seen", (seen) => {
      // Facilitators hear of every note seen; a member only of their own.
      if (this.room.self?.role === "facilitator") this.concerns.seen(seen);
      else this.care.seen();
    });
    on("lobby:admitted", ({ room, resume_token: token }) => {
      if (this.state !== "waiting") return;
      this._enter(room, token, this.room.self.id);
    });
    on("lobby:denied", () => {
      this._end("You weren't let in this time", "The facilitator couldn't let you into this meeting. You're welcome to reach out to them.");
    });
    on("room:ended", ({ reason }) => {
      if (reason === "deleted") {
        this._end("This meeting room has closed", "Its organisers have closed this room, so its link no longer works. Thank you for being here.");
      } else {
        this._end("The meeting has ended", "Thank you for being here. Take care of yourself.");
      }
    });
    on("you:removed", ({ ban }) => this._removed(Boolean(ban)));
    on("you:muted", (muted) => this.controls.mutedByFacilitator(muted));
    on("chat:message", (message) => {
      this.clock.observe(message.at);
      this.chat.add(message);
    });
    on("signal", ({ from, ...message }) => {
      if (this.info?.media === "text") return;  // text-only members take part in no media
      this.call.signal(from, message);
    });
    on("error", (error) => console.warn("circle: server error", error.event, error.code));
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

  /** The server is stopping (a restart or a deploy): leave it now and connect again, which behind
   * a load balancer reaches another instance, where the resume token keeps this seat. */
  _serverClosing() {
    if (this.state !== "in" && this.state !== "waiting") return;
    this.conn.socket.disconnect();
    $("connection-status").textContent = "The server is restarting — reconnecting…";
    this.reconnect.reset();
    this._connectFailed();
  }

  /** socket.io retries a dropped connection by itself, but not one it was told to end or that
   * the server refused (as a stopping server does): those are retried here, backing off. */
  _connectFailed() {
    if (!this.offline || this.conn.socket.active || (this.state !== "in" && this.state !== "waiting")) return;
    this.reconnect.schedule(() => {
      if (!this.conn.connected && this.offline) this.conn.socket.connect();
    });
  }

  /** The room's media moved to the server, or the server carrying it was lost (a new epoch). */
  _followMedia({ media_mode: mode, media_epoch: epoch }) {
    if (mode === "sfu" && this.info?.media !== "text") this.call.useSfu(epoch);
  }

  async _connected() {
    if (!this.offline || (this.state !== "in" && this.state !== "waiting")) return;
    try {
      const ack = await this._sendJoin(this.resumeToken);
      if (ack.waiting) {
        this.state = "waiting";
        this.presence.waiting(ack.facilitator_present);
        showScreen("waiting-screen");
      } else {
        const wasIn = this.state === "in";
        this.state = "in";
        this._remember(ack.resume_token);
        this._applySnapshot(ack.room, ack.self.id);
        if (!wasIn) await this._enter(ack.room, ack.resume_token, ack.self.id);
        this.chat.addAll(ack.room.chat);
        this.concerns.reset(ack.room.concerns);
        await this._fetchMissedChat();
        this.chat.flush();
        await this.call.rejoined(ack.self.id);
      }
      this.offline = false;
      this.reconnect.reset();
      const status = $("connection-status");
      status.classList.remove("offline");
      status.textContent = "Reconnected";
      setTimeout(() => {
        if (!this.offline) status.textContent = "";
      }, 4000);
    } catch (error) {
      if (error.guidelinesVersion !== undefined) {
        // Changed while this person was away: they read and accept them again from the join screen.
        this._end("The group guidelines have changed", "Please read and accept them again to rejoin.", { rejoin: true });
      } else if (["banned", "not_found", "room_locked", "room_full", "wrong_passcode", "forbidden"].includes(error.code)) {
        this._end("You couldn't rejoin the meeting", joinErrorText(error));
      } else {
        setTimeout(() => this.conn.connected && this._connected(), 2000);
      }
    }
  }

  async _fetchMissedChat() {
    try {
      // A page at a time, each after the last one's newest message, until none is left.
      let after = this.chat.lastId;
      for (;;) {
        const ack = await this.conn.request("chat:history", after ? { after } : {});
        this.chat.addAll(ack.messages);
        if (!ack.more || !ack.messages?.length) break;
        after = ack.messages[ack.messages.length - 1].id;
      }
    } catch (error) {
      console.warn("circle: chat history unavailable:", error.code);
    }
  }

  // ---- leaving -------------------------------------------------------------------------------

  _bindControls() {
    $("leave").addEventListener("click", () => this.leave());
    $("stop-waiting").addEventListener("click", () => this.leave());
    $("rejoin").addEventListener("click", () => location.reload());
    $("enable-sound").addEventListener("click", () => {
      this.tiles.resumeSound();
      $("sound-banner").hidden = true;
    });
  }

  /** Leave at once (no confirmation: leaving must always be easy). */
  async leave() {
    if (this.conn.connected) {
      await this.conn.request("leave", {}, 2000).catch(() => {});
    }
    this._end("You have left the meeting", "Thank you for being here. You can rejoin while the meeting is on.", { rejoin: true });
  }

  /** A facilitator removed this person: said kindly, with where to turn next. */
  _removed(ban) {
    this._end(
      REMOVED_TITLE,
      ban
        ? "A facilitator removed you from this meeting, and you can't join this room again."
        : "A facilitator removed you from this meeting. Thank you for coming.",
      { help: true },
    );
  }

  _end(title, text, { rejoin = false, help = false } = {}) {
    if (this.state === "ended") return;
    this.state = "ended";
    this.reconnect.cancel();
    forgetSession(this.roomId);
    this.controls.stop();
    this.call.stop();
    this.chat.stop();
    this.share.stop();
    this.host.close();
    this.agendaTools.close();
    this.care.close();
    this.moderation.close();
    this.chime.close();
    this.tiles.clearAll();
    this.conn.close();
    document.title = this.baseTitle;
    $("connection-status").textContent = "";
    $("connection-status").classList.remove("offline");
    $("ended-title").textContent = title;
    $("ended-text").textContent = text;
    $("ended-help").hidden = !help;
    $("rejoin").hidden = !rejoin;
    showScreen("ended-screen");
    $("ended-title").focus();
  }

  // ---- rendering -----------------------------------------------------------------------------

  _render() {
    const room = this.room;
    if (!room.self) return;
    const selfId = room.self.id;
    const facilitator = room.self.role === "facilitator";
    const labels = room.labels();
    const speaker = room.speaker && room.participants.get(room.speaker.id) ? room.speaker : null;
    this.people.render({ participants: room.participants, selfId, hands: room.hands, labels, speakerId: speaker?.id });
    this.people.renderWaiting(room.waiting, room.waitingLabels());
    for (const p of room.participants.values()) {
      this.tiles.update(p, {
        isSelf: p.id === selfId,
        handPosition: room.hands.indexOf(p.id) + 1,
        label: labels.get(p.id) ?? p.name,
        sharing: p.id === speaker?.id,
      });
    }
    this.chat.updateRecipients(room.participants, labels, (p) => this.moderation.mayMessage(p), room.privateChat);
    this.host.render();
    this.moderation.render();
    this.controls.render();
    this.agendaView.render(room.agenda, room.segment, { textOnly: room.self.media === "text", facilitator });
    this.agendaTools.render();
    this.turns.render();
    this.care.render();
    this.concerns.render();
    this.presence.inMeeting(room.facilitatorPresent, { isFacilitator: facilitator });
    $("lock-status").hidden = !room.locked;
    const waitingCount = facilitator ? room.waiting.size : 0;
    document.title = waitingCount > 0 ? `(${waitingCount}) ${this.baseTitle}` : this.baseTitle;

    const sharer = speaker && room.participants.get(speaker.id);
    this.share.show(speaker, {
      label: sharer ? labels.get(sharer.id) ?? sharer.name : "",
      isSelf: speaker?.id === selfId,
      textOnly: sharer?.media === "text",
      facilitator,
    });
  }
}
