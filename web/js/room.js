// The room as this page knows it: who is here and who waits, the queue of raised hands, who is
// sharing, the title and the room's settings. It applies the server's presence and room events
// and says aloud what changed; what a change means for the media and the views is the hooks' part.

import { announce } from "./dom.js";
import { distinctNames } from "./names.js";

export class RoomState {
  /**
   * onGone(id): someone is no longer in the room; onAway(id): someone lost their connection;
   * onSelfUpdated(p): the server changed this person; onSelfLeft(reason): the server took this
   * person out of the room; onArrival(p): someone new is in the waiting room (facilitators only);
   * onChange(): something changed.
   */
  constructor({ onGone, onAway, onSelfUpdated, onSelfLeft, onArrival, onChange }) {
    this.onGone = onGone;
    this.onArrival = onArrival;
    this.onAway = onAway;
    this.onSelfUpdated = onSelfUpdated;
    this.onSelfLeft = onSelfLeft;
    this.onChange = onChange;
    this.title = null;
    this.self = null;
    this.participants = new Map();
    this.waiting = new Map();
    this.hands = [];
    this.speaker = null;
    this.locked = false;
    this.waitingRoom = false;
    // The meeting's format: its agenda, the current part (an index, or null) and whether a
    // facilitator is there.
    this.agenda = [];
    this.segment = null;
    this.facilitatorPresent = null;
    this.safety = false;               // the safety pause is on
    this.privateChat = "everyone";     // who may send private messages
    this.versionFloor = 0;        // the room version of the last snapshot
    this.versions = new Map();    // participant id (or "room") → newest version applied
  }

  /** id → the name shown for each person in the room, numbered where two share a name (names.js). */
  labels() {
    return distinctNames(this.participants.values());
  }

  /** id → the name shown for each person waiting, numbered after anyone in the room of that name. */
  waitingLabels() {
    const inRoom = [...this.participants.values()].map((p) => p.name);
    return distinctNames(this.waiting.values(), { taken: [...inRoom, ...this.labels().values()] });
  }

  labelOf(id) {
    return this.labels().get(id) ?? this.participants.get(id)?.name ?? null;
  }

  /** Take the whole room from a snapshot (on entering, and on every rejoin). */
  reset(room, selfId) {
    this.title = room.title;
    this.participants = new Map(room.participants.map((p) => [p.id, p]));
    this.self = this.participants.get(selfId) ?? this.self;
    this.waiting = new Map((room.waiting ?? []).map((p) => [p.id, p]));
    this.hands = room.hands ?? [];
    this.speaker = room.speaker ?? null;
    this.locked = Boolean(room.locked);
    this.waitingRoom = Boolean(room.waiting_room);
    this._setFormat(room);
    this._setModeration(room, { quiet: true });
    this.versionFloor = room.version ?? 0;
    this.versions = new Map();
  }

  participantJoined(p) {
    if (this._isStale(p.id, p.version)) return;
    const known = this.participants.has(p.id);
    this.participants.set(p.id, p);
    this.waiting.delete(p.id);
    if (!known && p.id !== this.self?.id) announce(`${this.labelOf(p.id)} joined.`);
    this.onChange();
  }

  participantLeft({ id, reason, version }) {
    if (this._isStale(id, version)) return;
    if (id === this.self?.id) {
      this.onSelfLeft(reason);
      return;
    }
    const p = this.participants.get(id);
    const label = this.labelOf(id);
    this.participants.delete(id);
    this.waiting.delete(id);
    this.onGone(id);
    if (p) announce(reason === "disconnected" ? `${label} lost their connection and left.` : `${label} left.`);
    this.onChange();
  }

  /** inMeeting: this page is in the room, so it has seen everyone who is. */
  participantUpdated(p, { inMeeting }) {
    if (this._isStale(p.id, p.version)) return;
    const before = this.participants.get(p.id);
    if (!before && inMeeting) return;  // an update for someone we never saw join
    this.participants.set(p.id, p);
    const label = this.labelOf(p.id);
    if (p.id === this.self?.id) {
      const was = this.self;
      this.self = p;
      this.onSelfUpdated(p, was);
      // Only facilitators are told who waits: a stale list must not come back with a later promotion.
      if (was?.role === "facilitator" && p.role !== "facilitator") this.waiting.clear();
      if (was && was.role !== p.role) {
        announce(
          p.role === "facilitator"
            ? "A facilitator made you a co-facilitator. The facilitator tools are now in the People panel."
            : "You're now a member of this meeting; the facilitator tools are gone.",
        );
      }
    } else if (before) {
      const raised = (before.hand === null || before.hand === undefined) && p.hand !== null && p.hand !== undefined;
      if (raised) announce(`${label} raised their hand.`);
      if (!before.away && p.away) {
        announce(`${label} lost their connection. They may be back shortly.`);
        // They will offer afresh when they return: the old connection is of no use.
        this.onAway(p.id);
      } else if (before.away && !p.away) {
        announce(`${label} is back.`);
      }
      if (before.role !== p.role) {
        announce(p.role === "facilitator" ? `${label} is now a co-facilitator.` : `${label} is now a member.`);
      }
    }
    this.onChange();
  }

  roomUpdated(update) {
    if (this._isStale("room", update.version)) return;
    if (update.hands) this.hands = update.hands;
    if ("speaker" in update) this._setSpeaker(update.speaker);
    if (update.title) this.title = update.title;
    this._setLocked(update.locked);
    this.waitingRoom = update.waiting_room;
    this._setFormat(update);
    this._setModeration(update);
    this.onChange();
  }

  /**
   * After this tab's server lost touch with the others for a moment, it sends the room as it is
   * now: take from it whatever is newer than what this page has seen, person by person.
   */
  sync(room) {
    const version = room.version;
    if (typeof version !== "number" || version < this.versionFloor) return;
    const newer = (key) => (this.versions.get(key) ?? 0) > version;
    const present = new Map(room.participants.map((p) => [p.id, p]));
    for (const id of [...this.participants.keys()]) {
      if (present.has(id) || newer(id) || id === this.self?.id) continue;
      this.participants.delete(id);
      this.onGone(id);
    }
    for (const p of present.values()) {
      if (newer(p.id)) continue;
      this.participants.set(p.id, p);
      if (p.id === this.self?.id) this.self = p;
    }
    if (!newer("room")) {
      this.hands = room.hands ?? [];
      this._setSpeaker(room.speaker ?? null);
      this._setLocked(room.locked);
      this.waitingRoom = room.waiting_room;
      this._setModeration(room);
      if (room.title) this.title = room.title;
      this._setFormat(room);
    }
    this.onChange();
  }

  lobbyWaiting(p) {
    if (this._isStale(p.id, p.version)) return;
    const arriving = !this.waiting.has(p.id);
    this.waiting.set(p.id, p);
    if (arriving) {
      announce(`${this.waitingLabels().get(p.id) ?? p.name} is waiting to be let in.`);
      this.onArrival?.(p);
    }
    this.onChange();
  }

  /** Show this person's own hand at once; the server's participant:updated confirms it later. */
  setOwnHand(raising) {
    const self = this.self;
    if (self.hand === null || self.hand === undefined || !raising) {
      self.hand = raising ? Date.now() : null;
    }
    if (!raising) this.hands = this.hands.filter((id) => id !== self.id);
    else if (!this.hands.includes(self.id)) this.hands = [...this.hands, self.id];
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

  _setFormat(room) {
    if (Array.isArray(room.agenda)) this.agenda = room.agenda;
    if ("segment" in room) this.segment = room.segment ?? null;
    if (typeof room.facilitator_present === "boolean") this.facilitatorPresent = room.facilitator_present;
  }

  _setLocked(locked) {
    const changed = Boolean(locked) !== this.locked;
    this.locked = Boolean(locked);
    if (changed) {
      announce(this.locked ? "The meeting is locked: nobody new can join." : "The meeting is open again.");
    }
  }

  /** The safety pause and the private-message policy, from a room or a room:updated. */
  _setModeration(fields, { quiet = false } = {}) {
    if ("private_chat" in fields) this.privateChat = fields.private_chat ?? "everyone";
    if (!("safety" in fields)) return;
    const changed = Boolean(fields.safety) !== this.safety;
    this.safety = Boolean(fields.safety);
    if (changed && !quiet) {
      announce(
        this.safety
          ? "The facilitator has paused the room for a moment."
          : "The facilitator has resumed the room.",
      );
    }
  }

  _setSpeaker(speaker) {
    const changed = speaker?.id !== this.speaker?.id;
    this.speaker = speaker;
    if (changed && speaker) {
      const name = this.labelOf(speaker.id);
      if (speaker.id === this.self?.id) {
        // Said once here; the notice on screen is not itself a live region, so it is not said twice.
        announce(
          this.self.media === "text"
            ? "It's your turn to share. You can share by writing in the chat."
            : "It's your turn to share.",
        );
      } else if (name) {
        announce(`${name} is sharing now.`);
      }
    }
  }
}
