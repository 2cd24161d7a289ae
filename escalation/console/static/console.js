// Tocsin console: live updates and clicks without reloads. Plain
// JavaScript, no build step; every page also works without it (forms post
// and redirect back).
(function () {
  "use strict";
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  var flashBox = document.getElementById("flash");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  if (!main || !csrf) { return; } // the login page

  var changed = {};      // incident ids changed since the last refresh
  var timer = null;      // debounce of refresh
  var deferred = false;  // a refresh waits for the user to stop typing

  function typing() {
    var a = document.activeElement;
    return a && main.contains(a) && a.tagName === "INPUT" && a.type === "text" && a.value !== "";
  }

  // refresh fetches the current page's main block and swaps it in. Bursts
  // of changes (an alarm storm) cost at most a few fetches a second.
  var last = 0;
  function refresh() {
    if (timer) { return; }
    var wait = Math.max(80, last + 400 - Date.now());
    timer = setTimeout(function () {
      timer = null;
      last = Date.now();
      if (typing()) { deferred = true; return; }
      var u = new URL(location.href);
      u.searchParams.set("partial", "1");
      fetch(u, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || html === undefined) { return; }
        main.innerHTML = html;
        Object.keys(changed).forEach(function (id) {
          document.querySelectorAll('[data-incident="' + id + '"]').forEach(function (el) { el.classList.add("flash"); });
        });
        changed = {};
        ages();
        chatsToBottom();
      }).catch(function () {});
    }, wait);
  }
  main.addEventListener("focusout", function () { if (deferred) { deferred = false; refresh(); } });

  function showFlash(msg) {
    flashBox.textContent = msg;
    flashBox.hidden = false;
    clearTimeout(showFlash.t);
    showFlash.t = setTimeout(function () { flashBox.hidden = true; }, 6000);
  }

  // Server-Sent Events: the engine's changes, and the simulated phones.
  function connect() {
    var es = new EventSource("/events");
    es.addEventListener("hello", function () {
      if (live) { live.classList.add("on"); live.textContent = live.dataset.textLive; }
      refresh(); // catch up on anything missed while disconnected
    });
    es.addEventListener("incident", function (e) {
      try { changed[JSON.parse(e.data).id] = true; } catch (err) {}
      refresh();
    });
    es.addEventListener("phones", refresh);
    es.addEventListener("resync", refresh);
    es.onerror = function () {
      if (live) { live.classList.remove("on"); live.textContent = live.dataset.textOffline; }
    };
  }
  connect();

  // Forms marked data-js post with fetch and the CSRF header, then the
  // page refreshes itself; errors are shown, not navigated to.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.hasAttribute("data-js")) { return; }
    ev.preventDefault();
    var btn = ev.submitter;
    var action = (btn && btn.getAttribute("formaction")) || f.getAttribute("action");
    var body = new URLSearchParams(new FormData(f));
    if (btn && btn.name) { body.set(btn.name, btn.value); }
    var buttons = f.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { showFlash(j.error || (r.status + " " + r.statusText)); }
        else if (f.hasAttribute("data-reset")) { f.reset(); }
      });
    }).catch(function (err) { showFlash(String(err)); })
      .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); refresh(); });
  });

  // Phone chats show their newest message, like a phone does.
  function chatsToBottom() {
    document.querySelectorAll("ol.chat").forEach(function (el) { el.scrollTop = el.scrollHeight; });
  }
  chatsToBottom();

  // Ages ("5m") tick without the server.
  function fmtAge(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) { return s + "s"; }
    var m = Math.floor(s / 60);
    if (m < 60) { return m + "m"; }
    var h = Math.floor(m / 60);
    if (h < 24) { return h + "h " + (m % 60) + "m"; }
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  function ages() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(t)) { el.textContent = fmtAge(now - t); }
    });
  }
  setInterval(ages, 5000);

  // Pages with data-poll (health: GPIO and modem state) also refresh on a
  // timer while they are visible.
  setInterval(function () {
    var p = main.querySelector("[data-poll]");
    if (p && document.visibilityState === "visible") { refresh(); }
  }, 2000);
})();
