// Telling people with the same name apart. Two members may both be "Ana": the one who joined first
// keeps the name, the next is "Ana (2)", then "Ana (3)", by join order. Join times come from the
// server, so every page that sees the same people gives them the same labels.

/** The form of a name used to compare it: "ana", " Ana ", and "ＡＮＡ" are the same name to a reader. */
export function nameKey(name) {
  return String(name ?? "").normalize("NFKC").trim().replace(/\s+/g, " ").toLocaleLowerCase();
}

function byJoinOrder(a, b) {
  return (a.joined_at ?? 0) - (b.joined_at ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * id → label for `people` ({id, name, joined_at}): the name itself, or the name with a number when
 * someone who joined earlier has the same name. `taken` lists labels already in use elsewhere
 * (those in the room, when labelling the waiting list), which count as earlier arrivals. A number
 * is never one that makes the label equal to another person's own name: someone who calls
 * themselves "Ana (2)" cannot be mistaken for the second Ana.
 */
export function distinctNames(people, { taken = [] } = {}) {
  const list = [...people].sort(byJoinOrder);
  const used = new Set([...list.map((p) => nameKey(p.name)), ...taken.map(nameKey)]);
  const seen = new Set(taken.map(nameKey));
  const labels = new Map();
  for (const p of list) {
    const name = String(p.name ?? "").trim();
    const key = nameKey(name);
    if (!seen.has(key)) {
      seen.add(key);
      labels.set(p.id, name);
      continue;
    }
    let n = 2;
    while (used.has(nameKey(`${name} (${n})`))) n += 1;
    const label = `${name} (${n})`;
    used.add(nameKey(label));
    labels.set(p.id, label);
  }
  return labels;
}
