/**
 * The chat page `chat serve --web` serves: HTML, a style sheet and a
 * script, embedded in the program (nothing is fetched from anywhere else:
 * it works offline on a LAN, and a compiled binary carries it).
 *
 * The script speaks `docs/PROTOCOL.md` over `/ws`: `/proto 1`, then the
 * history request, then `/pass` (when the room has a password) and
 * `/nick NAME` or a resume. Everything another person wrote is put in the
 * page with `textContent`, never as HTML.
 *
 * @module
 */

import { pageStrings } from "./web_strings.ts";

/** The page's HTML: no inline script or style (the CSP forbids both). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Chat</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1 data-text="page.title">Chat</h1>
  <p id="topic" hidden></p>
  <button type="button" id="people-toggle" aria-controls="people" aria-expanded="false"></button>
</header>
<div id="banner" role="alert" hidden><span id="banner-text"></span> <button type="button" id="reconnect" hidden data-text="page.reconnect"></button></div>
<main>
  <div id="log" role="log" aria-live="polite" tabindex="0"></div>
  <aside id="people">
    <h2 id="online-title"></h2>
    <ul id="online"></ul>
    <p id="watchers"></p>
  </aside>
</main>
<footer>
  <form id="join" hidden autocomplete="on">
    <p id="join-intro" data-text="page.watching"></p>
    <p id="join-error" role="alert"></p>
    <div class="fields">
      <label id="password-field" hidden><span data-text="page.password-label"></span>
        <input id="password" type="password" autocomplete="current-password"></label>
      <label id="name-field"><span data-text="page.name-label"></span>
        <input id="name" name="nickname" autocomplete="nickname" maxlength="24" spellcheck="false" autocapitalize="off"></label>
      <button type="submit" data-text="page.join"></button>
    </div>
    <p id="name-hint" class="hint" data-text="page.name-hint"></p>
  </form>
  <form id="compose" hidden>
    <label for="line" class="sr-only" data-text="page.message-label"></label>
    <textarea id="line" rows="1" autocomplete="off" spellcheck="true" enterkeyhint="send"></textarea>
    <button type="submit" data-text="page.send"></button>
    <label id="file-pick" class="file-pick"><span data-text="page.file-pick"></span><input id="file" type="file" class="sr-only"></label>
  </form>
</footer>
</body>
</html>
`;

/**
 * The page's style: phone first, a side list of people on wide screens.
 * Names never take red or purple, which mean errors and private messages.
 */
export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --bg: #fbfbfa; --fg: #1d1d1f; --dim: #6b6b70; --line: #d9d9de;
  --panel: #f0f0f2; --accent: #1f5fbf; --mine: #eef4ff; --private: #7a3e9d;
  --error: #b3261e;
  --c0: #b35c00; --c1: #1f6f43; --c2: #1f5fbf; --c3: #8a4f00; --c4: #3949ab;
  --c5: #00707a; --c6: #6d4c41; --c7: #4d6b00; --c8: #455a64; --c9: #9c4a1a;
  --c10: #006b8f; --c11: #6b5a00;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #161618; --fg: #ececef; --dim: #9a9aa2; --line: #34343a;
    --panel: #202024; --accent: #7fb0ff; --mine: #1d2638; --private: #d6a4f2;
    --error: #ff8a80;
    --c0: #ffb36b; --c1: #7ed6a4; --c2: #8ab4ff; --c3: #f0b35a; --c4: #9fa8ff;
    --c5: #5fd3de; --c6: #d7a98c; --c7: #b5d36a; --c8: #b0bec5; --c9: #f5a272;
    --c10: #6fcff5; --c11: #e0cc6a;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body {
  display: flex; flex-direction: column; height: 100dvh;
  background: var(--bg); color: var(--fg);
  font: 16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
header {
  display: flex; align-items: baseline; gap: .75rem; flex-wrap: wrap;
  padding: .5rem .75rem; border-bottom: 1px solid var(--line); background: var(--panel);
}
h1 { font-size: 1.1rem; margin: 0; }
#topic { margin: 0; color: var(--dim); flex: 1; min-width: 0; overflow-wrap: anywhere; }
#people-toggle { margin-left: auto; }
#banner {
  padding: .5rem .75rem; background: #fff3cd; color: #4a3b00; border-bottom: 1px solid #e0c97a;
}
@media (prefers-color-scheme: dark) { #banner { background: #3d3312; color: #f5e6a8; border-color: #6b5a1f; } }
main { flex: 1; display: flex; min-height: 0; }
#log {
  flex: 1; overflow-y: auto; padding: .5rem .75rem; overflow-wrap: anywhere;
  white-space: pre-wrap;
}
#log:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.entry { padding: .1rem 0; }
.entry time { color: var(--dim); font-size: .8em; margin-right: .4em; font-variant-numeric: tabular-nums; }
.entry.mine { background: var(--mine); }
.entry.notice { color: var(--dim); font-style: italic; }
.entry.error { color: var(--error); }
.entry.action .text { font-style: italic; }
.entry.private { color: var(--private); }
.entry.history { opacity: .65; }
.divider {
  display: flex; align-items: center; gap: .5rem; color: var(--dim); font-size: .85em; margin: .4rem 0;
}
.divider::before, .divider::after { content: ""; flex: 1; border-top: 1px dashed var(--line); }
.name { font-weight: 600; }
.c0 { color: var(--c0); } .c1 { color: var(--c1); } .c2 { color: var(--c2); } .c3 { color: var(--c3); }
.c4 { color: var(--c4); } .c5 { color: var(--c5); } .c6 { color: var(--c6); } .c7 { color: var(--c7); }
.c8 { color: var(--c8); } .c9 { color: var(--c9); } .c10 { color: var(--c10); } .c11 { color: var(--c11); }
#people {
  width: 14rem; border-left: 1px solid var(--line); padding: .5rem .75rem; overflow-y: auto;
  background: var(--panel);
}
#people h2 { font-size: 1rem; margin: 0 0 .4rem; }
#online { list-style: none; margin: 0; padding: 0; }
#online li { padding: .1rem 0; overflow-wrap: anywhere; }
#watchers { color: var(--dim); margin: .4rem 0 0; }
footer { border-top: 1px solid var(--line); padding: .5rem .75rem; background: var(--panel); }
form p { margin: 0 0 .4rem; }
#join-error { color: var(--error); }
#join-error:empty { display: none; }
.hint { color: var(--dim); font-size: .85em; }
.fields { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
.fields label { display: flex; flex-direction: column; gap: .2rem; flex: 1; min-width: 10rem; }
#compose { display: flex; gap: .5rem; }
#compose[hidden], #join[hidden] { display: none; }
.file-pick {
  padding: .5rem .7rem; border-radius: .4rem; border: 1px solid var(--accent); color: var(--accent);
  cursor: pointer; white-space: nowrap;
}
.file-pick:focus-within { outline: 3px solid var(--accent); outline-offset: 2px; }
.entry a { color: var(--accent); }
input {
  font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: .4rem;
  background: var(--bg); color: var(--fg); min-width: 0;
}
#line { flex: 1; }
/* Issue 12: the input is a textarea (Shift+Enter: a new line; several
   lines go as one code block), and code blocks are shown numbered. */
textarea#line {
  font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: .4rem;
  background: var(--bg); color: var(--fg); min-width: 0; resize: none; max-height: 12rem;
}
textarea:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.entry.block .lang { color: var(--dim); }
pre.code {
  margin: .2rem 0 .2rem 1rem; padding: .4rem .6rem; background: var(--panel); border: 1px solid var(--line);
  border-radius: .4rem; overflow-x: auto; white-space: pre; font: .9em/1.35 ui-monospace, "DejaVu Sans Mono", monospace;
  tab-size: 4;
}
pre.code .ln { color: var(--dim); user-select: none; display: inline-block; min-width: 3ch; text-align: right; margin-right: 1em; }
button {
  font: inherit; padding: .5rem .9rem; border-radius: .4rem; border: 1px solid var(--accent);
  background: var(--accent); color: var(--bg); cursor: pointer;
}
#people-toggle { background: transparent; color: var(--accent); padding: .25rem .6rem; }
#banner button { padding: .2rem .6rem; }
input:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
@media (max-width: 700px) {
  #people { display: none; }
  body.show-people #people {
    display: block; position: absolute; right: 0; top: 3rem; bottom: 4rem; width: min(80vw, 18rem);
    box-shadow: 0 0 1rem rgba(0, 0, 0, .3); z-index: 2;
  }
}
@media (min-width: 701px) { #people-toggle { display: none; } }
`;

/**
 * The page's script. Plain ES2020, no build step; no template literals, so
 * it can live in this `String.raw` string as it is.
 */
const PAGE_SCRIPT = String.raw`"use strict";
(function () {
  var STRINGS = __STRINGS__;
  var want = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  var lang = /^fr\b/i.test(want) ? "fr" : "en";
  var words = STRINGS[lang];
  document.documentElement.lang = lang;

  function tr(key, args) {
    var text = Object.prototype.hasOwnProperty.call(words, key) ? words[key]
      : Object.prototype.hasOwnProperty.call(STRINGS.en, key) ? STRINGS.en[key] : undefined;
    if (text === undefined) return undefined;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return args && Object.prototype.hasOwnProperty.call(args, name) ? String(args[name]) : whole;
    });
  }
  function say(key, args) { var text = tr(key, args); return text === undefined ? key : text; }

  var $ = function (id) { return document.getElementById(id); };
  var log = $("log"), banner = $("banner"), bannerText = $("banner-text"), reconnectButton = $("reconnect");
  var joinForm = $("join"), nameInput = $("name"), passwordInput = $("password");
  var passwordField = $("password-field"), joinError = $("join-error");
  var compose = $("compose"), lineInput = $("line"), topicLine = $("topic");
  var onlineList = $("online"), onlineTitle = $("online-title"), watchersLine = $("watchers");
  var peopleToggle = $("people-toggle");

  document.querySelectorAll("[data-text]").forEach(function (element) {
    element.textContent = say(element.getAttribute("data-text"));
  });
  document.title = say("page.title");
  lineInput.placeholder = say("page.message-placeholder");
  log.setAttribute("aria-label", say("page.log-label"));

  var NAME_KEY = "chat.name";
  var SESSION_KEY = "chat.session";
  var PING_MS = 20000, SILENCE_MS = 50000, MAX_SEEN = 2000;

  var socket = null, structured = false, lastPlainLine = "";
  var me = null, password = null, passwordAccepted = false, needsPassword = false;
  var run = null, lastSeq = 0, seen = new Set(), online = [], watchers = 0;
  var pendingHistory = 0, historyBuffer = null, pendingPings = 0, pendingWho = 0;
  var whoTimer = 0, pingTimer = 0, retryTimer = 0, retryDelay = 1, lastHeard = 0;
  var reconnect = true, wasConnected = false, sent = [], sentIndex = 0;
  // A wrong password closes the connection: the page connects again at
  // once and asks for it again, with the error.
  var joinErrorAfterClose = "";

  function stored(key, storage) {
    try { return (storage || localStorage).getItem(key); } catch (e) { return null; }
  }
  function store(key, value, storage) {
    try { (storage || localStorage).setItem(key, value); } catch (e) { /* private mode */ }
  }

  // Stable colours: the same name always gets the same one of 12.
  function colourOf(name) {
    var hash = 0, key = name.toLowerCase();
    for (var i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
    return "c" + (hash % 12);
  }
  function nameSpan(name) {
    var span = document.createElement("span");
    span.className = "name " + colourOf(name);
    span.textContent = name;
    return span;
  }
  function textSpan(text, className) {
    var span = document.createElement("span");
    span.className = className || "text";
    span.textContent = text;
    return span;
  }
  function clock(time) {
    var when = time ? new Date(time) : new Date();
    var element = document.createElement("time");
    element.dateTime = when.toISOString();
    element.textContent = String(when.getHours()).padStart(2, "0") + ":" +
      String(when.getMinutes()).padStart(2, "0");
    return element;
  }
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 40; }
  function append(element) {
    var follow = atBottom();
    log.appendChild(element);
    while (log.childNodes.length > 1000) log.removeChild(log.firstChild);
    if (follow) log.scrollTop = log.scrollHeight;
  }
  function entry(className, time, parts) {
    var line = document.createElement("div");
    line.className = "entry " + className;
    line.appendChild(clock(time));
    parts.forEach(function (part) {
      line.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    return line;
  }
  function notice(text, time, className) {
    append(entry(className || "notice", time, [textSpan(text)]));
  }
  function divider(text) {
    var line = document.createElement("div");
    line.className = "divider";
    line.textContent = text;
    append(line);
  }

  function showBanner(text, offerReconnect) {
    bannerText.textContent = text;
    reconnectButton.hidden = !offerReconnect;
    banner.hidden = false;
  }
  function hideBanner() { banner.hidden = true; }

  function renderPeople() {
    onlineList.textContent = "";
    online.forEach(function (name) {
      var item = document.createElement("li");
      item.appendChild(nameSpan(name));
      if (name === me) item.appendChild(document.createTextNode(" " + say("page.you")));
      onlineList.appendChild(item);
    });
    onlineTitle.textContent = say("page.online", { count: online.length });
    watchersLine.textContent = watchers > 0
      ? say(watchers === 1 ? "page.watchers.one" : "page.watchers.other", { count: watchers }) : "";
    peopleToggle.textContent = say("page.people", { count: online.length });
  }
  function setTopic(topic) {
    topicLine.hidden = !topic;
    topicLine.textContent = topic ? say("page.topic", { topic: topic }) : "";
  }
  // The watcher count is only in welcome and who: asked for again, quietly,
  // a moment after people come and go.
  function refreshWhoSoon() {
    if (whoTimer || !me) return;
    whoTimer = setTimeout(function () {
      whoTimer = 0;
      pendingWho++;
      sendLine("/who");
    }, 2000);
  }

  function send(object) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(object));
  }
  function sendLine(text) { send({ type: "line", text: text }); }

  function showJoin(error) {
    compose.hidden = true;
    joinForm.hidden = false;
    joinError.textContent = error || joinErrorAfterClose;
    if (!error) joinErrorAfterClose = "";
    passwordField.hidden = !(needsPassword && !passwordAccepted);
    $("join-intro").textContent = say(passwordField.hidden ? "page.watching" : "page.password-intro");
    if (!nameInput.value) nameInput.value = stored(NAME_KEY) || "";
    (passwordField.hidden ? nameInput : passwordInput).focus();
  }
  function showCompose() {
    joinForm.hidden = true;
    compose.hidden = false;
    lineInput.focus();
  }

  // --- issue 12: files ---
  function sizeText(bytes) {
    var fr = lang === "fr", units = fr ? ["Kio", "Mio", "Gio"] : ["KiB", "MiB", "GiB"];
    if (bytes < 1024) return bytes + (fr ? " o" : " B");
    var value = bytes / 1024, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    var shown = (value >= 100 ? value.toFixed(0) : value.toFixed(1)).replace(/\.0$/, "");
    return (fr ? shown.replace(".", ",") : shown) + " " + units[unit];
  }
  function showFile(event) {
    var args = { from: event.from, name: event.name, to: event.to || "", size: sizeText(event.size) };
    var parts = [textSpan(say(event.to === undefined ? "page.file" : "page.file.to", args) + " ")];
    if (typeof event.web === "string" && event.web.indexOf("/files/") === 0) {
      var link = document.createElement("a");
      link.href = event.web;
      link.setAttribute("download", event.name);
      link.textContent = say("page.file-download");
      parts.push(link);
    }
    parts.push(textSpan(" sha256 " + event.sha256, "hint"));
    append(entry("notice file", event.time, parts));
  }
  // SHA-256 in plain script: crypto.subtle exists only on HTTPS pages.
  function sha256Hex(bytes) {
    if (window.isSecureContext && crypto.subtle) {
      return crypto.subtle.digest("SHA-256", bytes).then(function (digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function (b) { return (b + 256).toString(16).slice(1); }).join("");
      });
    }
    var k = [], h = [], n = 2, i, j;
    function frac(x) { return (x - Math.floor(x)) * 4294967296 | 0; }
    for (i = 0; k.length < 64; n++) {
      for (j = 2; j * j <= n && n % j; j++);
      if (j * j > n) { if (h.length < 8) h.push(frac(Math.pow(n, 1 / 2))); k.push(frac(Math.pow(n, 1 / 3))); }
    }
    var length = bytes.length, total = ((length + 9 + 63) >> 6) << 6;
    var padded = new Uint8Array(total);
    padded.set(bytes);
    padded[length] = 0x80;
    var view = new DataView(padded.buffer);
    view.setUint32(total - 8, Math.floor(length / 536870912));
    view.setUint32(total - 4, (length * 8) >>> 0);
    var w = new Int32Array(64);
    for (var block = 0; block < total; block += 64) {
      for (i = 0; i < 16; i++) w[i] = view.getInt32(block + i * 4);
      for (i = 16; i < 64; i++) {
        var a0 = w[i - 15], a1 = w[i - 2];
        w[i] = (((a0 >>> 7) | (a0 << 25)) ^ ((a0 >>> 18) | (a0 << 14)) ^ (a0 >>> 3)) + w[i - 7] +
          (((a1 >>> 17) | (a1 << 15)) ^ ((a1 >>> 19) | (a1 << 13)) ^ (a1 >>> 10)) + w[i - 16] | 0;
      }
      var s = h.slice();
      for (i = 0; i < 64; i++) {
        var e = s[4], a = s[0];
        var t1 = s[7] + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & s[5]) ^ (~e & s[6])) + k[i] + w[i] | 0;
        var t2 = (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2])) | 0;
        s = [t1 + t2 | 0, a, s[1], s[2], s[3] + t1 | 0, e, s[5], s[6]];
      }
      for (i = 0; i < 8; i++) h[i] = h[i] + s[i] | 0;
    }
    return Promise.resolve(h.map(function (x) { return (x >>> 0).toString(16).padStart(8, "0"); }).join(""));
  }
  function base64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i += 4096) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096));
    return btoa(text);
  }
  // The file being sent: offered, then its chunks once the server is ready,
  // a few at a time so that lines typed meanwhile go out between them.
  var upload = null;
  function offerFile(file) {
    if (upload || !file) return;
    file.arrayBuffer().then(function (buffer) {
      var bytes = new Uint8Array(buffer);
      return sha256Hex(bytes).then(function (hash) {
        upload = { name: file.name, bytes: bytes, offset: 0, id: 0, line: null };
        send({ type: "file-offer", name: file.name, size: bytes.length, sha256: hash });
      });
    }).catch(function () { upload = null; });
  }
  function uploadProgress() {
    var percent = upload.bytes.length ? Math.floor(upload.offset * 100 / upload.bytes.length) : 100;
    var text = say("page.file-sending", { name: upload.name, percent: percent });
    if (!upload.line) { upload.line = entry("notice", 0, [textSpan(text)]); append(upload.line); }
    else upload.line.lastChild.textContent = text;
  }
  function sendChunks() {
    if (!upload || !socket || socket.readyState !== WebSocket.OPEN) { upload = null; return; }
    while (upload.offset < upload.bytes.length && socket.bufferedAmount < 32768) {
      var end = Math.min(upload.bytes.length, upload.offset + 2048);
      send({ type: "file-chunk", upload: upload.id, data: base64(upload.bytes.subarray(upload.offset, end)) });
      upload.offset = end;
    }
    if (upload.bytes.length >= 262144) uploadProgress();
    if (upload.offset < upload.bytes.length) setTimeout(sendChunks, 20);
  }
  function fileEvent(event) {
    if (event.type === "file-ready" && upload) { upload.id = event.upload; sendChunks(); }
    if (event.type === "file") {
      if (upload && event.from === me && upload.offset >= upload.bytes.length) upload = null;
      show(event);
    }
  }

  function errorText(event) {
    var args = event.args || {};
    var text;
    if (event.code === "file-too-big") {
      text = tr("error.file-too-big", { size: sizeText(args.size), max: sizeText(args.max) });
    } else if (event.code === "name-invalid") {
      text = tr("error.name-invalid", { name: args.name, problem: say("name." + args.problem, { max: 24 }) });
    } else if (event.code === "full") {
      text = tr(args.max === 1 ? "error.full.one" : "error.full.other", args);
    } else if (event.code === "usage") {
      text = tr("error.usage", { command: args.command, usage: tr("usage." + args.command) || "" });
      if (text) text = text.trim();
    } else if (event.code === "protocol-version") {
      text = tr("error.protocol-version", { asked: args.asked, supported: (args.supported || []).join(", ") });
    } else {
      text = tr("error." + event.code, args);
    }
    return text === undefined ? event.text : text;
  }
  function noticeText(event) {
    var text = tr("notice." + event.code, event.args || {});
    return text === undefined ? event.text : text;
  }
  function leftText(event) {
    return event.reason
      ? say("left.reason", { name: event.name, reason: say("reason." + event.reason) })
      : say("left", { name: event.name });
  }

  // Everything said in the room: shown as it comes, or, replayed from the
  // server's history, dimmed under a divider (once, however often asked).
  function show(event) {
    if (typeof event.seq === "number") {
      if (event.history) {
        if (seen.has(event.seq)) return;
      } else if (event.seq > lastSeq) {
        lastSeq = event.seq;
      }
      seen.add(event.seq);
      if (seen.size > MAX_SEEN) seen.delete(seen.values().next().value);
    }
    var historyClass = event.history ? " history" : "";
    switch (event.type) {
      case "message":
        append(entry("message" + historyClass + (event.from === me ? " mine" : ""), event.time,
          [nameSpan(event.from), ": ", textSpan(event.text)]));
        return;
      case "action":
        append(entry("action" + historyClass, event.time, ["* ", nameSpan(event.from), " ", textSpan(event.text)]));
        return;
      case "private":
        append(entry("private" + historyClass, event.time,
          [say("private.prefix") + " ", nameSpan(event.from), " -> ", nameSpan(event.to), ": ", textSpan(event.text)]));
        return;
      case "block": // issue 12: numbered lines, every one as text
        var lines = event.text.split("\n");
        var count = say(lines.length === 1 ? "page.block.one" : "page.block.other", { count: lines.length });
        var block = entry("block" + historyClass + (event.from === me ? " mine" : ""), event.time,
          [nameSpan(event.from), textSpan(" \u0060\u0060\u0060" + (event.lang || "") + " (" + count + ")", "lang")]);
        var pre = document.createElement("pre");
        pre.className = "code";
        if (event.lang) pre.setAttribute("data-lang", event.lang);
        lines.forEach(function (text, index) {
          var number = document.createElement("span");
          number.className = "ln";
          number.textContent = String(index + 1);
          pre.appendChild(number);
          pre.appendChild(document.createTextNode(text + (index + 1 < lines.length ? "\n" : "")));
        });
        block.appendChild(pre);
        append(block);
        return;
      case "file": // issue 12: a file shared before, in the history
        return showFile(event);
      case "topic":
        if (!event.history) setTopic(event.topic);
        notice(event.by !== undefined && event.topic !== undefined
          ? say("topic.set", { by: event.by, topic: event.topic })
          : event.topic ? say("topic.is", { topic: event.topic }) : say("topic.none"), event.time,
          "notice" + historyClass);
        return;
    }
  }

  function handle(event) {
    if (event.history) {
      if (historyBuffer) historyBuffer.push(event);
      else show(event);
      return;
    }
    switch (event.type) {
      case "message": case "action": case "private": case "topic":
      case "block": // issue 12
        return show(event);
      case "joined":
        if (online.indexOf(event.name) < 0) online.push(event.name);
        if (watchers > 0) watchers--;
        renderPeople();
        refreshWhoSoon();
        return notice(say("joined", { name: event.name }), event.time);
      case "left":
        online = online.filter(function (name) { return name !== event.name; });
        renderPeople();
        refreshWhoSoon();
        return notice(leftText(event), event.time);
      case "renamed":
        online = online.map(function (name) { return name === event.from ? event.to : name; });
        if (event.from === me) { me = event.to; store(NAME_KEY, me); }
        renderPeople();
        return notice(say("renamed", { from: event.from, to: event.to }), event.time);
      case "welcome":
        // Only a name chosen (in the form, or with /nick) is remembered:
        // not guestN.
        me = event.name;
        if (event.token) store(SESSION_KEY, JSON.stringify({ run: run, name: me, token: event.token }), sessionStorage);
        online = event.online.slice();
        watchers = event.watchers || 0;
        setTopic(event.topic);
        renderPeople();
        showCompose();
        hideBanner();
        var welcome = say("welcome", { name: event.name, count: event.online.length, names: event.online.join(", ") }) +
          (event.topic ? say("welcome.topic", { topic: event.topic }) : "") + say("welcome.end");
        return notice(welcome, event.time);
      case "who":
        online = event.online.map(function (entry) { return entry.name; });
        watchers = event.watchers || 0;
        renderPeople();
        if (pendingWho > 0) { pendingWho--; return; }
        var names = event.online.map(function (entry) {
          return entry.address ? say("who.address", { name: entry.name, address: entry.address }) : entry.name;
        }).join(", ");
        return notice(say("who", { count: event.online.length, names: names }) + (event.watchers > 0
          ? say(event.watchers === 1 ? "who.watchers.one" : "who.watchers.other", { count: event.watchers }) : ""),
          event.time);
      case "help":
        notice(say("help.title"), event.time);
        event.commands.forEach(function (command) {
          var usage = tr("usage." + command.name);
          if (usage === undefined) usage = command.usage;
          var help = tr("command." + command.name) || "";
          notice("/" + command.name + (usage ? " " + usage : "") + "  " + help, event.time);
        });
        notice(say(event.commands.some(function (c) { return c.hostOnly; }) ? "help.footer.host" : "help.footer"), event.time);
        return notice(say("help.blocks"), event.time);
      case "notice":
        return handleNotice(event);
      case "error":
        return handleError(event);
      case "disconnected":
        if (["kicked", "banned", "flooding"].indexOf(event.reason) >= 0) reconnect = false;
        return notice(say("disconnected", { reason: say("disconnected." + event.reason) }), event.time, "error");
      case "shutdown":
        return notice(say("shutdown"), event.time, "error");
      case "pong":
        if (pendingPings > 0) { pendingPings--; return; }
        return notice(say("pong"), event.time);
      case "file": case "file-ready": // issue 12
        return fileEvent(event);
    }
  }

  function handleNotice(event) {
    switch (event.code) {
      case "history-start":
        historyBuffer = [];
        return;
      case "history-end":
        var replay = historyBuffer || [];
        historyBuffer = null;
        if (pendingHistory > 0) pendingHistory--;
        var fresh = replay.filter(function (e) { return !(typeof e.seq === "number" && seen.has(e.seq)); });
        if (fresh.length === 0) return;
        divider(say("page.history", { count: fresh.length }));
        fresh.forEach(show);
        return divider(say("page.history-end"));
      case "greeting":
      case "password-needed":
        return; // the page says it its own way
      case "password-accepted":
        passwordAccepted = true;
        return join();
      case "bye":
        reconnect = false;
        break;
    }
    notice(noticeText(event), event.time);
  }

  function handleError(event) {
    // Issue 12: a refused or failed upload ends; another may start.
    if (upload && /^(?:file|files-off$|muted$)/.test(event.code)) upload = null;
    switch (event.code) {
      case "unknown-type":
        // An older server without history (or resume): nothing to show.
        if (pendingHistory > 0) { pendingHistory--; return; }
        break;
      case "resume-failed":
        return nick();
      case "wrong-password":
      case "password-locked":
        password = null;
        passwordInput.value = "";
        joinErrorAfterClose = errorText(event);
        return showJoin(joinErrorAfterClose);
      case "name-invalid": case "name-taken": case "name-reserved": case "name-away":
        if (!me) return showJoin(errorText(event));
        break;
      case "protocol-version":
        reconnect = false;
        return showBanner(say("page.old-server"), false);
    }
    notice(say("error", { text: errorText(event) }), event.time, "error");
  }

  function nick() {
    var name = nameInput.value.trim() || stored(NAME_KEY) || "";
    if (name) sendLine("/nick " + name);
    else sendLine("/join");
  }
  // Into the room: back under our name when the server still holds it for
  // this tab (same server run), else /nick.
  function join() {
    if (needsPassword && !passwordAccepted) return showJoin();
    var session = null;
    try { session = JSON.parse(stored(SESSION_KEY, sessionStorage) || "null"); } catch (e) { session = null; }
    if (session && run && session.run === run && session.token) {
      send({ type: "resume", name: session.name, token: session.token });
    } else if (me || stored(NAME_KEY)) {
      nameInput.value = me || stored(NAME_KEY);
      nick();
    } else {
      showJoin();
    }
  }

  function onProto(event) {
    structured = true;
    needsPassword = !!event.password;
    passwordAccepted = !needsPassword;
    if (run !== null && event.run !== run) { seen.clear(); lastSeq = 0; }
    var sameRun = run !== null && event.run === run;
    run = event.run === undefined ? null : event.run;
    if (wasConnected) notice(say("page.reconnected"));
    wasConnected = true;
    retryDelay = 1;
    hideBanner();
    if (!needsPassword) {
      pendingHistory++;
      send(sameRun && lastSeq > 0 ? { type: "history", after: lastSeq } : { type: "history" });
    }
    if (needsPassword && password) {
      sendLine("/pass " + password);
    } else {
      join();
    }
  }

  function receive(data) {
    lastHeard = Date.now();
    if (typeof data !== "string") return;
    if (!structured) {
      // Plain lines come before the answer to /proto 1: what the room said
      // before the switch, skipped.
      if (data.charAt(0) === "{") {
        try {
          var first = JSON.parse(data);
          if (first.type === "proto") return onProto(first);
          if (first.type === "error") { handle(first); return; }
        } catch (e) { /* not JSON after all */ }
      }
      // A refusal (full, banned, too many connections) is an error line.
      var refusal = /^\*\*\* (?:error|erreur) ?: (.*)$/.exec(data);
      if (refusal) lastPlainLine = refusal[1];
      return;
    }
    var event;
    try { event = JSON.parse(data); } catch (e) { return; }
    if (event && typeof event.type === "string") handle(event);
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    structured = false;
    lastPlainLine = "";
    pendingHistory = 0; pendingPings = 0; pendingWho = 0; historyBuffer = null;
    me = null;
    online = []; watchers = 0;
    renderPeople();
    if (!wasConnected) showBanner(say("page.connecting"), false);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws");
    socket = ws;
    ws.onopen = function () {
      lastHeard = Date.now();
      ws.send("/proto 1");
    };
    ws.onmessage = function (message) { if (socket === ws) receive(message.data); };
    ws.onclose = function () { if (socket === ws) dropped(); };
  }

  function dropped() {
    upload = null; // issue 12
    socket = null;
    me = null;
    compose.hidden = true;
    if (!structured && lastPlainLine) {
      reconnect = false;
      showBanner(say("page.refused", { reason: lastPlainLine }), true);
      return;
    }
    if (!reconnect) return showBanner(say("page.stopped"), true);
    if (joinErrorAfterClose) return connect();
    var seconds = retryDelay;
    retryDelay = Math.min(retryDelay * 2, 15);
    showBanner(say("page.dropped", { seconds: seconds }), true);
    retryTimer = setTimeout(connect, seconds * 1000);
  }

  // Heartbeats: the server drops a tab that went away (a phone asleep);
  // the page notices a server that went silent.
  pingTimer = setInterval(function () {
    if (!socket || socket.readyState !== WebSocket.OPEN || !structured) return;
    if (Date.now() - lastHeard > SILENCE_MS) { socket.close(); return dropped(); }
    pendingPings++;
    send({ type: "ping" });
  }, PING_MS);

  joinForm.addEventListener("submit", function (event) {
    event.preventDefault();
    joinError.textContent = "";
    var name = nameInput.value.trim();
    if (name) store(NAME_KEY, name);
    if (needsPassword && !passwordAccepted) {
      if (!passwordInput.value) return passwordInput.focus();
      password = passwordInput.value;
      sendLine("/pass " + password);
      return;
    }
    nick();
  });
  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = lineInput.value;
    if (!text.trim()) return;
    // Issue 12: several lines are one code block (fences, if pasted
    // from Markdown, give its language).
    var blockLines = text.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
    if (blockLines.length > 1) {
      var lang;
      var opening = /^\s*\u0060\u0060\u0060([A-Za-z0-9+#._-]{1,20})?\s*$/.exec(blockLines[0]);
      if (opening && blockLines.length > 2 && /^\s*\u0060\u0060\u0060\s*$/.test(blockLines[blockLines.length - 1])) {
        lang = opening[1];
        blockLines = blockLines.slice(1, -1);
      }
      send(lang ? { type: "block", text: blockLines.join("\n"), lang: lang } : { type: "block", text: blockLines.join("\n") });
    } else {
      sendLine(blockLines[0]);
    }
    lineInput.rows = 1;
    sent.push(text);
    if (sent.length > 50) sent.shift();
    sentIndex = sent.length;
    lineInput.value = "";
  });
  // Issue 12: Enter sends, Shift+Enter starts a new line; the input grows
  // with its lines (a paste of several lines shows whole).
  lineInput.title = say("page.compose-hint");
  function fitInput() { lineInput.rows = Math.min(8, Math.max(1, lineInput.value.split("\n").length)); }
  lineInput.addEventListener("input", fitInput);
  lineInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });
  // Up and Down bring back the lines sent before, as in the terminal.
  lineInput.addEventListener("keydown", function (event) {
    if (lineInput.value.indexOf("\n") >= 0) return; // moving in a block
    if (event.key === "ArrowUp" && sentIndex > 0) {
      sentIndex--;
    } else if (event.key === "ArrowDown" && sentIndex < sent.length) {
      sentIndex++;
    } else {
      return;
    }
    event.preventDefault();
    lineInput.value = sent[sentIndex] || "";
  });
  $("file").addEventListener("change", function (event) { // issue 12
    offerFile(event.target.files && event.target.files[0]);
    event.target.value = "";
  });
  reconnectButton.addEventListener("click", function () {
    reconnect = true;
    retryDelay = 1;
    if (socket) socket.close();
    connect();
  });
  peopleToggle.addEventListener("click", function () {
    var open = document.body.classList.toggle("show-people");
    peopleToggle.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("show-people")) {
      document.body.classList.remove("show-people");
      peopleToggle.setAttribute("aria-expanded", "false");
      peopleToggle.focus();
    }
  });

  renderPeople();
  connect();
})();
`;

/** The page's script, with its strings in both languages. */
export const PAGE_JS = PAGE_SCRIPT.replace(
  "__STRINGS__",
  () => JSON.stringify(pageStrings()).replace(/</g, "\\u003c"),
);

/** One file of the page: its bytes and `Content-Type`. */
export interface PageAsset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

const encoder = new TextEncoder();

/**
 * Every path the web server answers besides `/ws`, with what it serves.
 *
 * @example
 * ```ts
 * import { PAGE_ASSETS } from "./web_page.ts";
 * PAGE_ASSETS.get("/")?.type; // "text/html; charset=utf-8"
 * PAGE_ASSETS.has("/favicon.ico"); // false: a 404
 * ```
 */
export const PAGE_ASSETS: ReadonlyMap<string, PageAsset> = new Map([
  ["/", {
    body: encoder.encode(PAGE_HTML),
    type: "text/html; charset=utf-8",
  }],
  ["/app.js", {
    body: encoder.encode(PAGE_JS),
    type: "text/javascript; charset=utf-8",
  }],
  ["/app.css", {
    body: encoder.encode(PAGE_CSS),
    type: "text/css; charset=utf-8",
  }],
]);
