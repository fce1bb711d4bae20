// ferryd admin: keeps the live tables current over server-sent events.
// Everything else on these pages works without this script. Text from
// the server is only ever set as textContent, never parsed as HTML.
"use strict";

(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function bytes(n) {
    const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if (n < 1024) return n + " B";
    let v = n / 1024, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return v.toFixed(1) + " " + units[u];
  }

  function kickForm(id) {
    const f = el("form", null, { method: "post", action: "/sessions/" + id + "/kick", class: "inline" });
    f.append(el("input", null, { type: "hidden", name: "csrf", value: csrf }));
    f.append(el("button", "Kick", { type: "submit", "aria-label": "End session " + id }));
    return f;
  }

  function renderSessions(table, sessions) {
    const body = table.tBodies[0];
    const rows = [];
    if (sessions.length === 0) {
      const tr = el("tr", null, { class: "empty" });
      tr.append(el("td", "No one is connected.", { colspan: "7" }));
      rows.push(tr);
    }
    for (const s of sessions) {
      const tr = el("tr", null, { "data-session": String(s.id) });
      tr.append(el("td", s.id), el("td", s.user || "(not logged in)"), el("td", s.protocol), el("td", s.peer));
      const since = el("td");
      since.append(el("time", s.since, { datetime: s.since }));
      tr.append(since);
      const t = s.transfer;
      const transfer = el("td");
      if (t) {
        transfer.append(t.direction + " ", el("code", t.path), ": " + bytes(t.bytes) +
          (t.size !== null && t.size !== undefined ? " of " + bytes(t.size) : "") + " at " + bytes(t.rate) + "/s");
      } else {
        transfer.textContent = "—";
      }
      const action = el("td");
      action.append(kickForm(s.id));
      tr.append(transfer, action);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    const count = table.querySelector("[data-count]");
    if (count) count.textContent = String(sessions.length);
    const stat = document.querySelector('[data-stat="sessions"]');
    if (stat) stat.textContent = String(sessions.length);
    const transfers = document.querySelector('[data-stat="transfers"]');
    if (transfers) transfers.textContent = String(sessions.filter((s) => s.transfer).length);
  }

  const sessions = document.querySelector('[data-live="sessions"]');
  if (sessions && window.EventSource) {
    const source = new EventSource("/api/v1/sessions/stream");
    source.addEventListener("sessions", (e) => renderSessions(sessions, JSON.parse(e.data).sessions));
  }

  function details(ev) {
    const parts = [];
    for (const k of ["path", "from", "to", "size", "reason", "address", "until", "target", "peer"]) {
      if (ev[k] !== undefined) parts.push(k + ": " + ev[k]);
    }
    return parts.join(", ");
  }

  const events = document.querySelector('[data-live="events"]');
  if (events && window.EventSource) {
    const q = new URLSearchParams();
    for (const k of ["user", "event"]) if (events.dataset[k]) q.set(k, events.dataset[k]);
    q.set("since", events.dataset.latest || "0");
    const source = new EventSource("/api/v1/events/stream?" + q.toString());
    const add = (ev) => {
      const tr = el("tr", null, { class: "new" });
      tr.append(el("td", ev.time), el("td", ev.event), el("td", ev.user || ev.admin || ""), el("td", details(ev)));
      events.tBodies[0].prepend(tr);
      while (events.tBodies[0].rows.length > 500) events.tBodies[0].lastElementChild.remove();
    };
    source.addEventListener("event", (e) => add(JSON.parse(e.data)));
    source.addEventListener("lagged", (e) => JSON.parse(e.data).forEach(add));
  }
})();
