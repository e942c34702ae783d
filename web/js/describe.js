// How a participant is described in words, the same in the list, the tiles and announcements.

export function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th"}`;
}

export const MODE_LABEL = { av: "camera and microphone", audio: "audio only", text: "text only" };

/**
 * The facts that apply to a participant, as short phrases ("audio only", "muted", ...). sharing:
 * they have the floor; showLocks: the viewer is a facilitator, who is told who is kept muted.
 */
export function factsOf(p, handPosition, { sharing = false, showLocks = false } = {}) {
  const facts = [];
  if (p.role === "facilitator") facts.push("facilitator");
  if (sharing) facts.push("sharing");
  if (p.media === "audio") facts.push("audio only");
  if (p.media === "text") facts.push("text only");
  if (p.media !== "text" && !p.audio) facts.push(showLocks && p.media_locked ? "kept muted" : "muted");
  if (showLocks && p.media_locked && p.unmute_requested) facts.push("asks to unmute");
  if (p.media === "av" && !p.video) facts.push("camera off");
  if (p.hand !== null && p.hand !== undefined) {
    facts.push(handPosition ? `hand raised, ${ordinal(handPosition)} in queue` : "hand raised");
  }
  if (p.speaking && !p.away && p.media !== "text") facts.push("speaking");
  if (p.away) facts.push("away");
  return facts;
}
