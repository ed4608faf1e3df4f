// Plurum's only script: copy buttons and the live parts (a websocket that reconnects by
// itself). Pages work without it: every link, form and list is plain HTML.
"use strict";

function setupCopy() {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch (err) {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }
}

function setupLive(list) {
  const state = document.querySelector("[data-live-state]");
  const empty = list.parentElement.querySelector("[data-empty]");
  const append = list.hasAttribute("data-append");
  let cursor = list.dataset.after || "0";
  let delay = 500;
  let finished = false;

  function show(text, cls) {
    if (!state) return;
    state.textContent = text;
    state.className = "live-state " + (cls || "");
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = scheme + "//" + location.host + list.dataset.live + "?after=" + encodeURIComponent(cursor);
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => { delay = 500; show("live", "on"); });
    socket.addEventListener("message", (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch (err) { return; }
      if (typeof frame.cursor === "number") cursor = String(frame.cursor);
      if (frame.html) {
        // HTML rendered and escaped by the server's own templates
        list.insertAdjacentHTML(append ? "beforeend" : "afterbegin", frame.html);
        if (empty) empty.hidden = true;
        if (!append) {
          while (list.children.length > 100) list.lastElementChild.remove();
        }
      }
      for (const field of ["entry_count", "status"]) {
        if (frame[field] === undefined) continue;
        for (const el of document.querySelectorAll('[data-field="' + field + '"]')) {
          el.textContent = String(frame[field]);
          if (field === "status") el.className = "badge status-" + frame.status;
        }
      }
      if (frame.done) { finished = true; show("ended", ""); }
    });
    socket.addEventListener("close", () => {
      if (finished) return;
      show("reconnecting…", "off");
      setTimeout(connect, delay + Math.random() * delay);
      delay = Math.min(delay * 2, 15000);
    });
  }
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopy();
  for (const list of document.querySelectorAll("[data-live]")) setupLive(list);
});
