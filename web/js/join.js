// The screen before joining: name, how to take part, a preview, the guidelines, the passcode.
// Nothing asks for the camera or microphone until the person picks a mode that uses them. A
// problem with one field is said beside that field (and tied to it with aria-describedby); a
// refusal of the whole join is said under the form.

import { $, setMessage } from "./dom.js";
import { LocalMedia, describeMediaError } from "./media.js";

export class JoinScreen {
  /**
   * onJoin({name, media, passcode, guidelinesVersion, localMedia}) -> Promise; it throws to show an error.
   * isHost: the link carries a facilitator key (or token), so this person joins as the facilitator.
   * fixedName: the name a community site's join token gives, shown but not editable.
   * hasInvite: the link carries a one-to-one room's personal invitation.
   * refetchRoom() -> Promise of the room's public facts, read again when its guidelines changed.
   */
  constructor({ onJoin, isHost = false, fixedName = null, hasInvite = false, refetchRoom = null }) {
    this.onJoin = onJoin;
    this.hasInvite = hasInvite;
    // A join token stands in for the passcode: the site that signed it vouches for this person.
    this.vouched = Boolean(fixedName);
    this.refetchRoom = refetchRoom;
    this.room = null;
    this.localMedia = null;
    this.mediaError = null;
    this.busy = false;
    this.form = $("join-form");
    this.name = $("name");
    this.passcode = $("passcode");
    this.agree = $("agree");
    this.error = $("join-error");
    this.button = $("join-button");
    this.preview = $("preview");
    this.previewVideo = $("preview-video");
    this.previewStatus = $("preview-status");
    this.levelBar = $("level-bar");
    this.levelMeter = $("level-meter");
    this.previewRequest = 0;
    this.fieldErrors = {
      name: [$("name-error"), () => [this.name]],
      media: [$("mode-error"), () => [...this.form.elements.media]],
      passcode: [$("passcode-error"), () => [this.passcode]],
      agree: [$("agree-error"), () => [this.agree]],
    };
    if (isHost) {
      // Told from the first screen, so the facilitator knows which link they opened.
      $("host-note").hidden = false;
      $("join-eyebrow").textContent = "You're the facilitator of";
    }

    if (fixedName) {
      // The site that sent this person here named them; the server uses that name whatever is typed.
      this.name.value = fixedName;
      this.name.readOnly = true;
      $("name-hint").textContent = "Your name comes from the site that sent you here.";
    }

    this.previewReady = Promise.resolve();
    for (const radio of this.form.elements.media) {
      radio.addEventListener("change", () => {
        this.previewReady = this._modeChanged();
      });
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this._submit();
    });
  }

  /** Fill in the room's public facts (GET /api/rooms/{id}). */
  setRoom(room) {
    this.room = room;
    $("room-title").textContent = room.title;
    $("topbar-title").textContent = room.title;
    document.title = `${room.title} · Circle`;
    $("passcode-field").hidden = !room.passcode_required || this.vouched;
    const hasGuidelines = Boolean(room.guidelines && room.guidelines.trim());
    $("guidelines-field").hidden = !hasGuidelines;
    $("guidelines-text").textContent = room.guidelines || "";
    $("chat-retention").textContent = retentionSentence(room.chat_retention_s ?? 0);
    if (room.one_to_one && !this.hasInvite) {
      this.showRoomError("This meeting is only for the two people invited to it. Please use your own personal link.");
    }
  }

  /** The guidelines changed since this page read them: show the new text and ask again. */
  async guidelinesChanged() {
    try {
      const room = await this.refetchRoom?.();
      if (room && !room.missing) this.setRoom(room);
    } catch {
      /* the text shown stays; the server will say again if it is not the current one */
    }
    this.agree.checked = false;
    this.setFieldError("agree", "The group guidelines have changed. Please read them again and tick the box to agree.");
  }

  showRoomError(message) {
    setMessage($("room-error"), message);
    this.form.hidden = true;
  }

  prefill({ name, media }) {
    if (name && !this.name.readOnly) this.name.value = name;
    const radio = [...this.form.elements.media].find((r) => r.value === media);
    if (radio) {
      radio.checked = true;
      this.previewReady = this._modeChanged();
    }
  }

  setError(message, focus = null) {
    setMessage(this.error, message);
    if (focus) focus.focus();
  }

  /** Say what is wrong with one field ("name", "media", "passcode" or "agree"), beside it, and focus it. */
  setFieldError(field, message) {
    const [element, inputs] = this.fieldErrors[field];
    setMessage(element, message);
    for (const input of inputs()) {
      const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== element.id);
      if (message) ids.push(element.id);
      if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
      else input.removeAttribute("aria-describedby");
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (message) inputs()[0].focus();
  }

  _clearErrors() {
    setMessage(this.error, "");
    for (const field of Object.keys(this.fieldErrors)) this.setFieldError(field, "");
  }

  get mode() {
    return this.form.elements.media.value || null;
  }

  async _modeChanged() {
    const mode = this.mode;
    const request = ++this.previewRequest;
    this.mediaError = null;
    this._stopPreview();
    if (mode !== "av" && mode !== "audio") {
      this.preview.hidden = true;
      return;
    }
    this.preview.hidden = false;
    this.preview.classList.toggle("audio-only", mode === "audio");
    this.previewStatus.textContent =
      mode === "av" ? "Asking for your camera and microphone…" : "Asking for your microphone…";
    const media = new LocalMedia(mode);
    try {
      await media.start();
    } catch (error) {
      if (request !== this.previewRequest) return;
      this.mediaError = describeMediaError(error, mode);
      this.previewStatus.textContent = this.mediaError;
      return;
    }
    if (request !== this.previewRequest) {
      media.stop();  // the person picked something else meanwhile
      return;
    }
    this.localMedia = media;
    if (mode === "av") this.previewVideo.srcObject = media.stream;
    this.previewStatus.textContent =
      mode === "av"
        ? "This is how you'll appear. Speak to see the microphone level move."
        : "Your camera stays off. Speak to see the microphone level move.";
    media.onLevel(({ level }) => {
      this.levelBar.style.transform = `scaleX(${level.toFixed(2)})`;
      this.levelMeter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    });
  }

  _stopPreview() {
    this.previewVideo.srcObject = null;
    this.levelBar.style.transform = "scaleX(0)";
    this.localMedia?.stop();
    this.localMedia = null;
  }

  async _submit() {
    if (this.busy) return;
    this._clearErrors();
    const name = this.name.value.trim();
    if (!name) {
      return this.setFieldError("name", "Please enter a name. A first name or a nickname is enough.");
    }
    if ([...name].length > 40) {
      return this.setFieldError("name", "Please use a shorter name (up to 40 characters).");
    }
    const media = this.mode;
    if (!media) {
      return this.setFieldError("media", "Please choose how you'd like to take part.");
    }
    if (media !== "text" && !this.localMedia) {
      await this.previewReady;  // the camera/microphone may still be starting
      if (this.mode !== media) return;
      if (!this.localMedia) {
        this.setFieldError("media", this.mediaError || describeMediaError(null, media));
        $("mode-text").focus();
        return;
      }
    }
    if (this.room?.passcode_required && !this.vouched && !this.passcode.value) {
      return this.setFieldError("passcode", "Please enter the passcode for this meeting.");
    }
    if (this.room?.guidelines && !this.agree.checked) {
      return this.setFieldError("agree", "Please read the group guidelines and tick the box to agree.");
    }
    this.busy = true;
    this.button.disabled = true;
    this.button.textContent = "Joining…";
    try {
      const localMedia = this.localMedia;
      await this.onJoin({
        name,
        media,
        passcode: this.passcode.value || undefined,
        guidelinesVersion: this.room?.guidelines_version,
        localMedia,
      });
      this.localMedia = null;  // the meeting owns it now
    } catch (error) {
      if (error?.guidelinesVersion !== undefined) {
        await this.guidelinesChanged();
        return;
      }
      const field = this._fieldFor(error);
      if (field) this.setFieldError(field, joinErrorText(error));
      // A one-to-one room's refusals are about personal links, which the server's sentence explains.
      else if (this.room?.one_to_one && error?.message) this.setError(error.message);
      else this.setError(joinErrorText(error));
    } finally {
      this.busy = false;
      this.button.disabled = false;
      this.button.textContent = "Join";
    }
  }

  /** The field a refusal is about, if it is about one. */
  _fieldFor(error) {
    if (error?.code === "wrong_passcode") return "passcode";
    // Too many tries: on a room with a passcode, that is what was being tried.
    if (error?.code === "rate_limited" && this.room?.passcode_required) return "passcode";
    return null;
  }
}

/** How long the chat outlives the meeting, as a sentence. */
export function retentionSentence(seconds) {
  if (seconds <= 0) return "The chat is deleted as soon as the last person leaves.";
  return `The chat is deleted ${duration(seconds)} after the last person leaves.`;
}

function duration(seconds) {
  const units = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  const [size, unit] = units.find(([size]) => seconds >= size);
  const n = Math.round(seconds / size);
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

export function joinErrorText(error) {
  switch (error?.code) {
    case "wrong_passcode":
      return "That passcode didn't match. Check it and try again.";
    case "room_locked":
      return "The facilitator has locked this meeting, so nobody new can join right now.";
    case "room_full":
      return "This meeting is full right now. You could try again a little later.";
    case "banned":
      return "You can't join this meeting: a facilitator removed you from it.";
    case "not_found":
      return "We couldn't find this meeting. The link may be incomplete, or the meeting has ended.";
    case "bad_request":
      return error.message || "Something in the form wasn't accepted. Check your name and try again.";
    case "rate_limited":
      return `Too many tries in a short time. Please wait ${waitText(error.retryAfterMs)}, then try again.`;
    case "unavailable":
      return "We couldn't reach the meeting. Check your internet connection and try again.";
    default:
      return error?.message || "Something went wrong while joining. Please try again.";
  }
}

/** "about 12 seconds", from the server's retry_after_ms. */
function waitText(ms) {
  if (typeof ms !== "number" || !(ms > 0)) return "a moment";
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds >= 90) return `about ${Math.ceil(seconds / 60)} minutes`;
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}
