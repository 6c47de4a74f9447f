// stadtruf web UI: fills the wallboard and the agent screen from their event streams.
// No framework, no build step; text only through textContent (never HTML from data).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

function duration(s) {
  if (s === null || s === undefined) return "–";
  const m = Math.floor(s / 60);
  return m ? `${m}:${String(s % 60).padStart(2, "0")} min` : `${s} s`;
}

function connect(url, render) {
  const status = document.getElementById("connection");
  const source = new EventSource(url);
  source.onopen = () => { status.textContent = "verbunden"; status.className = "connection ok"; };
  source.onerror = () => {
    status.textContent = "Verbindung unterbrochen – neuer Versuch …";
    status.className = "connection bad";
  };
  source.onmessage = (event) => {
    const data = JSON.parse(event.data);
    document.body.dataset.updated = String(Date.now());
    render(data);
  };
}

// --- wallboard ---------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function chart(level) {
  const w = 240, h = 70;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Service-Level je Stunde, ${level.client_name}`);
  const y = (p) => h - 4 - (p / 100) * (h - 8);
  const target = document.createElementNS(SVG, "line");
  target.setAttribute("class", "target");
  target.setAttribute("x1", 0); target.setAttribute("x2", w);
  target.setAttribute("y1", y(level.target_percent)); target.setAttribute("y2", y(level.target_percent));
  svg.append(target);
  const slot = w / 24;
  for (const hour of level.hours) {
    if (hour.percent === null) continue;
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("class", hour.percent >= level.target_percent ? "bar good" : "bar bad");
    bar.setAttribute("x", hour.hour * slot + 1);
    bar.setAttribute("width", slot - 2);
    bar.setAttribute("y", y(hour.percent));
    bar.setAttribute("height", Math.max(1, h - 4 - y(hour.percent)));
    bar.setAttribute("data-hour", hour.hour);
    bar.setAttribute("data-value", hour.percent);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${hour.hour}–${hour.hour + 1} Uhr: ${hour.percent} % (${hour.calls} Anrufe)`;
    bar.append(title);
    svg.append(bar);
  }
  return svg;
}

function renderWallboard(data) {
  const waiting = document.getElementById("waiting");
  if (!data.waiting.length) {
    waiting.replaceChildren(el("p", { class: "calm" }, "Niemand wartet."));
  } else {
    const rows = data.waiting.map((w) => el("tr", { class: "waiting-line", "data-client": w.client, "data-topic": w.topic },
      el("td", { class: "client" }, w.client_name),
      el("td", {}, w.topic_name),
      el("td", { class: "num" }, `${w.waiting} wartend`),
      el("td", { class: w.longest_s >= 60 ? "num long" : "num" }, `längste ${duration(w.longest_s)}`)));
    waiting.replaceChildren(el("table", {}, ...rows));
  }
  const levels = data.service_levels.map((l) => {
    const pct = l.service_level_percent;
    const state = l.meets_target === null ? "none" : l.meets_target ? "good" : "bad";
    const word = l.meets_target === null ? "noch keine Anrufe" : l.meets_target ? "Ziel erreicht" : "unter Ziel";
    return el("div", { class: `level ${state}`, "data-client": l.client, "data-percent": pct === null ? "" : pct },
      el("h3", {}, l.client_name),
      el("p", { class: "big" }, pct === null ? "–" : `${pct.toLocaleString("de-DE")} %`),
      el("p", {}, `${word} · Ziel ${l.target_percent} % in ${l.threshold_s} s`),
      el("p", { class: "small" }, `${l.answered_within} von ${l.offered - l.short_abandoned} in der Zeit · ${l.abandoned} aufgelegt`),
      chart(l));
  });
  document.getElementById("levels").replaceChildren(...levels);
  document.getElementById("agent-counts").replaceChildren(...data.agent_counts.map((c) =>
    el("span", { class: `count ${c.status}` }, `${c.text}: ${c.count}`)));
  document.getElementById("agents").replaceChildren(...data.agents.map((a) =>
    el("div", { class: `agent ${a.status}`, "data-agent": a.id, "data-status": a.status },
      el("span", { class: "name" }, a.name), el("span", { class: "state" }, a.text),
      el("span", { class: "since" }, a.since_s === null ? "" : duration(a.since_s)))));
  document.getElementById("clock").textContent = new Date().toLocaleTimeString("de-DE");
}

// --- agent screen ------------------------------------------------------------------------

function csrf() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

async function act(agent, action, extra) {
  const body = action === "pause" ? { reason: document.getElementById("pause-reason").value } : (extra || {});
  const error = document.getElementById("action-error");
  error.textContent = "";
  const response = await fetch(`/ui/agent/${encodeURIComponent(agent)}/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    error.textContent = `Nicht möglich: ${answer.error || response.status}`;
  }
}

function renderAgent(data) {
  const state = document.getElementById("state");
  state.textContent = data.agent.text;
  state.className = `status ${data.agent.status}`;
  state.dataset.status = data.agent.status;
  const box = document.getElementById("call-box");
  const call = data.call;
  box.className = call ? `ringing-${data.agent.status}` : "";
  if (!call) {
    document.getElementById("call").replaceChildren(el("p", {}, "Kein Anruf"));
  } else {
    const row = (k, v, id) => [el("dt", {}, k), el("dd", { id }, v)];
    document.getElementById("call").replaceChildren(
      el("p", { class: "call-head", id: "call-head" },
        data.agent.status === "ringing" ? "Es klingelt: " : "Im Gespräch: ",
        el("strong", { id: "call-town" }, call.client_name), " · ",
        el("strong", { id: "call-topic" }, call.topic_name)),
      el("dl", {}, ...row("Stadt", `${call.client_name}${call.tag ? ` [${call.tag}]` : ""}`, "call-client"),
        ...row("Thema", call.topic_name, "call-topic-name"),
        ...row("Herkunft", call.origin || "–", "call-origin"),
        ...row("Menü", call.menu_path, "call-menu"),
        ...row("Anrufer", call.caller, "call-caller"),
        ...row("Wartezeit", duration(call.waited_s), "call-wait")));
  }
  const links = data.knowledge.map((k) => el("li", {},
    el("a", { href: k.url, target: "_blank", rel: "noopener noreferrer", class: "knowledge" }, k.title),
    k.phone ? el("span", { class: "phone" }, ` ☎ ${k.phone}`) : ""));
  document.getElementById("knowledge").replaceChildren(
    ...(links.length ? links : [el("li", { class: "calm" }, call ? "Keine Links hinterlegt" : "–")]));
  const agentId = document.getElementById("agent").dataset.agent;
  document.getElementById("offices").replaceChildren(...data.offices.map((o) => {
    const button = el("button", { type: "button", class: "transfer", "data-number": o.number },
      `Weiterverbinden: ${o.label} (${o.number})`);
    button.addEventListener("click", () => act(agentId, "transfer", { number: o.number }));
    return button;
  }));
  const head = el("tr", {}, el("th", {}, "Zeit"), el("th", {}, "Stadt"), el("th", {}, "Thema"),
    el("th", {}, "Gespräch"), el("th", {}, "Ergebnis"));
  document.getElementById("recent").replaceChildren(head, ...data.recent.map((r) => el("tr", {},
    el("td", {}, r.time), el("td", {}, r.client_name), el("td", {}, r.topic_name),
    el("td", {}, duration(r.talk_s)), el("td", {}, r.outcome))));
}

document.addEventListener("DOMContentLoaded", () => {
  const wallboard = document.getElementById("wallboard");
  if (wallboard) connect(wallboard.dataset.stream, renderWallboard);
  const agent = document.getElementById("agent");
  if (agent) {
    connect(agent.dataset.stream, renderAgent);
    for (const button of agent.querySelectorAll("button[data-action]")) {
      button.addEventListener("click", () => act(agent.dataset.agent, button.dataset.action));
    }
  }
});
