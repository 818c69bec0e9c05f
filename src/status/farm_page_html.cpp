// The farm page's HTML, CSS and JavaScript (status/farm_page.h says what
// it shows and asks). Plain JavaScript, no framework, no external asset.
// Every text that comes from a heartbeat (names, states, reasons, print
// states, job names, MQTT errors) reaches the DOM through textContent, and
// every URL part through encodeURIComponent; class names come from fixed
// lists only. The page must
// keep exactly one <script> and one <style>: farm_page_security_policy()
// hashes them.
#include "status/farm_page.h"

namespace bambu {

namespace {

constexpr std::string_view k_page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>Printers</title>
<style>
:root { --bg: #f3f4f6; --card: #fff; --text: #1c2127; --muted: #5d6772; --line: #dadfe5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171b; --card: #1e2227; --text: #e5e8eb; --muted: #9ba5af; --line: #30363d; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; padding: 12px; background: var(--bg); color: var(--text);
       font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; margin-bottom: 12px; }
h1 { margin: 0; font-size: 20px; }
#note { color: var(--muted); font-size: 13px; }
#farm { display: grid; gap: 12px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 320px), 1fr)); }
.card { min-width: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
body.offline .card { opacity: 0.55; }
.picture { position: relative; aspect-ratio: 16 / 9; background: #000; }
.picture img { display: block; width: 100%; height: 100%; object-fit: contain; }
.placeholder { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
               color: #9aa3ad; font-size: 14px; }
.about { padding: 10px 12px 12px; }
.title { display: flex; gap: 8px; align-items: center; justify-content: space-between; }
.name { flex: 1 1 auto; min-width: 0; margin: 0; font-size: 17px; font-weight: 600; overflow-wrap: anywhere; }
.state { flex: 0 1 auto; max-width: 60%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
         padding: 2px 8px; border-radius: 999px; color: #fff; background: #6b7280; font-size: 13px; font-weight: 600; }
.state.streaming { background: #1e8e3e; }
.state.connecting, .state.reconnecting { background: #b06000; }
.state.failed { background: #c5221f; }
.detail { margin: 4px 0 0; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 8px 0 0; font-size: 14px; }
.row { display: contents; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
progress { width: 6em; vertical-align: middle; }
.player { display: inline-block; margin-top: 8px; }
</style>
</head>
<body>
<header><h1>Printers</h1><span id="note" role="status"></span></header>
<main id="farm"></main>
<template id="card">
<article class="card">
  <div class="picture"><img class="snapshot" alt="" hidden><div class="placeholder">no picture</div></div>
  <div class="about">
    <div class="title"><h2 class="name"></h2><span class="state"></span></div>
    <p class="detail" hidden></p>
    <dl>
      <div class="row fps"><dt>Frame rate</dt><dd><span class="value"></span></dd></div>
      <div class="row last-frame"><dt>Last frame</dt><dd><span class="value"></span></dd></div>
    </dl>
    <dl class="print" hidden>
      <div class="row print-state"><dt>Print</dt><dd><span class="value"></span></dd></div>
      <div class="row job"><dt>Job</dt><dd><span class="value"></span></dd></div>
      <div class="row progress"><dt>Progress</dt><dd><progress max="100"></progress> <span class="value"></span></dd></div>
      <div class="row layer"><dt>Layer</dt><dd><span class="value"></span></dd></div>
      <div class="row time-left"><dt>Time left</dt><dd><span class="value"></span></dd></div>
      <div class="row light"><dt>Chamber light</dt><dd><span class="value"></span></dd></div>
      <div class="row mqtt"><dt>Printer link</dt><dd><span class="value"></span></dd></div>
    </dl>
    <a class="player" hidden target="_blank" rel="noopener noreferrer">Open the player</a>
  </div>
</article>
</template>
<script>
"use strict";
const POLL_MS = 2000;     // how often the page asks its server for every heartbeat
const PICTURE_MS = 3000;  // how often each card fetches its snapshot again
const LIVE = ["connecting", "streaming", "reconnecting"];  // states of a running bambu-stream
const STYLED = LIVE.concat(["stopped", "failed"]);         // the states with a class of their own
const farm = document.getElementById("farm");
const note = document.getElementById("note");
const template = document.getElementById("card");
const cards = new Map();  // printer name -> its card

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const number = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const text = (v) => (typeof v === "string" ? v : null);

// "4.2 s", "35 s", "12 min", "2 h 5 min".
function duration(s) {
  s = Math.max(0, s);
  if (s < 10) return s.toFixed(1) + " s";
  if (s < 60) return Math.round(s) + " s";
  const minutes = Math.round(s / 60);
  return minutes < 60 ? minutes + " min" : Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

// The state in the heartbeat's own words, except that a running state
// whose heartbeat is older than max_age means that bambu-stream is gone.
function verdict(status, maxAge) {
  const state = text(status.state), age = number(status.age), reason = text(status.reason);
  if (state === null) return { word: "unknown", live: false, detail: reason };
  if (LIVE.includes(state) && (age === null || Math.abs(age) > maxAge)) {
    const why = age === null ? reason
      : age < 0 ? "the heartbeat is dated " + duration(-age) + " ahead: a clock was changed"
      : "no heartbeat for " + duration(age) + ": bambu-stream is not running";
    return { word: "stopped", live: false, detail: why };
  }
  const detail = state === "failed" || state === "reconnecting" ? text(status.last_error) : null;
  return { word: state, live: LIVE.includes(state), detail: detail };
}

// Seconds since the last frame, on the server's clock: the heartbeat's
// age plus its updated_at less its last_frame_at (the browser's clock may differ).
function lastFrameAge(status) {
  const age = number(status.age);
  const updated = Date.parse(text(status.updated_at) || ""), frame = Date.parse(text(status.last_frame_at) || "");
  return age === null || Number.isNaN(updated) || Number.isNaN(frame) ? null : (updated - frame) / 1000 + age;
}

// Whether the server has a fresh snapshot (it answers 404 or 503 otherwise,
// which a browser logs as an error): one is named, and its age, from the
// heartbeat, is under max_age with a margin (a second, less for a short max_age).
function pictureReady(status, maxAge) {
  const age = number(status.age), snapshotAge = number(status.snapshot_age);
  return text(status.snapshot) !== null && age !== null && snapshotAge !== null &&
         age + snapshotAge < maxAge - Math.min(1, maxAge / 4);
}

function makeCard(name) {
  const root = template.content.firstElementChild.cloneNode(true);
  const part = (cls) => root.querySelector("." + cls);
  const card = { root: root, img: part("snapshot"), placeholder: part("placeholder"), state: part("state"),
                 detail: part("detail"), print: part("print"), progress: root.querySelector("progress"),
                 player: part("player"), pictureUrl: null, loading: false };
  part("name").textContent = name;
  card.img.alt = "camera of " + name;
  return card;
}

// Shows `value` (text) in the card's row `name`, or hides the row when it is null.
function row(card, name, value) {
  const r = card.root.querySelector(".row." + name);
  r.hidden = value === null;
  if (value !== null) r.querySelector(".value").textContent = value;
}

// The printer's own state, from the keys a stream run with --mqtt adds
// (docs/heartbeat.md, "Print state"): each row only when its key has a
// value, the printer link only while it is down, and the section only when
// a row is shown.
function showPrint(card, status) {
  const progress = number(status.print_percent), layer = number(status.print_layer);
  const total = number(status.print_layers_total), left = number(status.print_remaining_minutes);
  row(card, "print-state", text(status.print_state));
  row(card, "job", text(status.print_job));
  row(card, "progress", progress === null ? null : Math.round(progress) + " %");
  card.progress.value = progress === null ? 0 : Math.min(100, Math.max(0, progress));
  row(card, "layer", layer === null ? null : total === null ? String(layer) : layer + " / " + total);
  row(card, "time-left", left === null ? null : duration(left * 60));
  row(card, "light", text(status.chamber_light));
  const error = text(status.mqtt_error);
  row(card, "mqtt", status.mqtt !== "disconnected" ? null : "not connected" + (error === null ? "" : ": " + error));
  card.print.hidden = [...card.print.querySelectorAll(".row")].every((r) => r.hidden);
}

// Fetches the card's snapshot into a new <img>, which replaces the shown
// one once it has loaded (no flicker, no half-drawn picture).
function loadPicture(card) {
  if (card.pictureUrl === null || card.loading) return;
  card.loading = true;
  const img = new Image();
  img.className = "snapshot";
  img.alt = card.img.alt;
  img.onload = () => {
    card.loading = false;
    if (card.pictureUrl === null) return;  // the stream stopped meanwhile
    card.img.replaceWith(img);
    card.img = img;
    card.placeholder.hidden = true;
  };
  img.onerror = () => { card.loading = false; };
  img.src = card.pictureUrl + "?t=" + Date.now();  // never a cached picture
}

function setPicture(card, url) {
  card.pictureUrl = url;
  if (url === null) {
    card.img.hidden = true;
    card.placeholder.hidden = false;
  } else if (card.img.hidden) {
    loadPicture(card);  // the first picture at once, then every PICTURE_MS
  }
}

function update(card, name, status, farmData, base) {
  const maxAge = number(farmData.max_age) || 5;
  const v = verdict(status, maxAge);
  card.state.textContent = v.word;
  card.state.title = v.word;  // the whole word, where the badge cuts a long one
  card.state.className = "state " + (STYLED.includes(v.word) ? v.word : "other");
  card.detail.textContent = v.detail || "";
  card.detail.hidden = !v.detail;
  const fps = number(status.fps), frameAge = lastFrameAge(status);
  row(card, "fps", v.live && fps !== null ? fps.toFixed(1) + " fps" : "\u2013");
  row(card, "last-frame", frameAge === null ? "none yet" : duration(frameAge) + " ago");
  showPrint(card, status);
  card.player.hidden = base === null;
  if (base !== null) card.player.href = base + "/stream.html?src=" + encodeURIComponent(name);
  const url = farmData.folder === true ? "printers/" + encodeURIComponent(name) + "/snapshot.jpg" : "snapshot.jpg";
  setPicture(card, v.live && pictureReady(status, maxAge) ? url : null);
}

// go2rtc's address as --go2rtc-url gave it (the server checked it), checked again: http(s) only.
function playerBase(url) {
  return url !== null && /^https?:\/\/[^\s"'<>\\`]+$/i.test(url) ? url.replace(/\/+$/, "") : null;
}

function render(farmData) {
  const printers = Array.isArray(farmData.printers)
    ? farmData.printers.filter((p) => isObject(p) && text(p.name) !== null) : [];
  const base = playerBase(text(farmData.go2rtc_url));
  const seen = new Set();
  for (const p of printers) {
    let card = cards.get(p.name);
    if (!card) cards.set(p.name, card = makeCard(p.name));
    seen.add(p.name);
    farm.append(card.root);  // in the server's order
    update(card, p.name, isObject(p.status) ? p.status : {}, farmData, base);
  }
  for (const [name, card] of cards) {
    if (!seen.has(name)) { card.root.remove(); cards.delete(name); }
  }
  note.textContent = printers.length === 0 ? "no printer heartbeat yet" : "";
}

// Asks the server every POLL_MS. Only the request is guarded: an error of
// the page's own code is left to reach the console.
async function poll() {
  let farmData = null;
  try {
    const response = await fetch("farm", { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    farmData = await response.json();
  } catch (e) {
    document.body.classList.add("offline");
    note.textContent = "the status server does not answer; trying again";
  }
  setTimeout(poll, POLL_MS);
  if (farmData === null) return;
  document.body.classList.remove("offline");
  render(isObject(farmData) ? farmData : {});
}

setInterval(() => cards.forEach(loadPicture), PICTURE_MS);
poll();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view farm_page_html() { return k_page; }

}  // namespace bambu
