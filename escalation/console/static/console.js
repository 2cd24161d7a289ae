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

  // typing is true while a refresh would lose what the user is doing: a
  // half-written reply, or a Resolve or Escalate waiting for its second
  // click.
  function typing() {
    var a = document.activeElement;
    if (main.querySelector("button.armed")) { return true; }
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
        // The user may have started something while the page was on its
        // way (a first click on Resolve): keep it, refresh afterwards.
        if (typing()) { deferred = true; return; }
        main.innerHTML = html;
        Object.keys(changed).forEach(function (id) {
          document.querySelectorAll('[data-incident="' + id + '"]').forEach(function (el) { el.classList.add("flash"); });
        });
        changed = {};
        ages();
        countdowns();
        summary();
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
      try {
        var inc = JSON.parse(e.data);
        changed[inc.id] = true;
        notifyNew(inc);
      } catch (err) {}
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
    // Resolve and Escalate cannot be undone: the first click arms the
    // button ("Really resolve?"), a second click within five seconds does
    // it. Without JavaScript the server asks on a page of its own.
    if (btn && btn.dataset.confirm) {
      if (!btn.classList.contains("armed")) {
        btn.dataset.label = btn.textContent;
        btn.textContent = btn.dataset.confirm;
        btn.classList.add("armed");
        clearTimeout(btn.disarm);
        btn.disarm = setTimeout(function () {
          btn.classList.remove("armed");
          btn.textContent = btn.dataset.label;
          if (deferred) { deferred = false; refresh(); }
        }, 5000);
        return;
      }
      clearTimeout(btn.disarm);
      btn.classList.remove("armed");
    }
    var action = (btn && btn.getAttribute("formaction")) || f.getAttribute("action");
    var body = new URLSearchParams(new FormData(f));
    if (btn && btn.name) { body.set(btn.name, btn.value); }
    if (btn && btn.dataset.confirm) { body.set("confirm", "yes"); }
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
      .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); deferred = false; refresh(); });
  });

  // Phone chats show their newest message, like a phone does.
  function chatsToBottom() {
    document.querySelectorAll("ol.chat").forEach(function (el) { el.scrollTop = el.scrollHeight; });
  }
  chatsToBottom();

  // Ages ("5m") and countdowns ("in 1m10s") tick without the server, in
  // the page's language.
  var ja = document.documentElement.lang === "ja";
  function fmtAge(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (ja) {
      if (s < 60) { return s + "秒"; }
      if (m < 60) { return m + "分"; }
      if (h < 24) { return h + "時間" + (m % 60) + "分"; }
      return Math.floor(h / 24) + "日" + (h % 24) + "時間";
    }
    if (s < 60) { return s + "s"; }
    if (m < 60) { return m + "m"; }
    if (h < 24) { return h + "h " + (m % 60) + "m"; }
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  function fmtDur(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    s %= 60;
    if (ja) {
      if (m < 1) { return s + "秒"; }
      if (h < 1) { return s ? m + "分" + s + "秒" : m + "分"; }
      return (m % 60) ? h + "時間" + (m % 60) + "分" : h + "時間";
    }
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (m < 1) { return s + "s"; }
    if (h < 1) { return s ? m + "m" + two(s) + "s" : m + "m"; }
    return (m % 60) ? h + "h" + two(m % 60) + "m" : h + "h";
  }
  function ages() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(t)) { el.textContent = fmtAge(now - t); }
    });
  }
  function countdowns() {
    var now = Date.now();
    var sum = document.getElementById("summary");
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-until"));
      if (isNaN(t)) { return; }
      el.textContent = t - now <= 0 && sum ? sum.dataset.nowText : (el.dataset.fmt || "%s").replace("%s", fmtDur(t - now));
    });
  }
  setInterval(countdowns, 1000);
  setInterval(ages, 5000);

  // Wall displays: the number of unacknowledged incidents in the tab
  // title, an optional alarm sound while there are any, and optional
  // browser notifications of new incidents. Both choices are remembered
  // by this browser.
  var unacked = 0;
  function summary() {
    var sum = document.getElementById("summary");
    if (!sum) { return; }
    unacked = parseInt(sum.dataset.unacked, 10) || 0;
    document.title = (unacked > 0 ? "(" + unacked + ") " : "") + sum.dataset.title;
  }
  summary();

  var store = {
    get: function (k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(k, v); } catch (e) {} }
  };
  var wall = document.querySelector(".wall");
  if (wall) { wall.hidden = false; }
  function setToggle(btn, on) {
    if (!btn) { return; }
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    btn.textContent = on ? btn.dataset.textOn : btn.dataset.textOff;
  }

  var soundBtn = document.getElementById("sound-toggle");
  var soundOn = store.get("tocsin.sound") === "on";
  var audio = null;
  setToggle(soundBtn, soundOn);
  function audioCtx() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!audio && AC) { audio = new AC(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
    return audio;
  }
  function beep() {
    var ac = audioCtx();
    if (!ac) { return; }
    [0, 0.25].forEach(function (at) {
      var o = ac.createOscillator(), g = ac.createGain();
      o.type = "square";
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.15, ac.currentTime + at);
      g.gain.exponentialRampToValueAtTime(0.001, ac.currentTime + at + 0.2);
      o.connect(g).connect(ac.destination);
      o.start(ac.currentTime + at);
      o.stop(ac.currentTime + at + 0.2);
    });
  }
  if (soundBtn) {
    soundBtn.addEventListener("click", function () {
      soundOn = !soundOn;
      store.set("tocsin.sound", soundOn ? "on" : "off");
      setToggle(soundBtn, soundOn);
      if (soundOn) { audioCtx(); beep(); }
    });
  }
  // Browsers start sound only after a click on the page.
  document.addEventListener("click", function () { if (soundOn) { audioCtx(); } });
  setInterval(function () { if (soundOn && unacked > 0) { beep(); } }, 3000);

  var notifyBtn = document.getElementById("notify-toggle");
  var notifyOn = store.get("tocsin.notify") === "on" && window.Notification && Notification.permission === "granted";
  var notified = {};
  setToggle(notifyBtn, notifyOn);
  if (notifyBtn && !window.Notification) { notifyBtn.hidden = true; }
  if (notifyBtn) {
    notifyBtn.addEventListener("click", function () {
      if (notifyOn) {
        notifyOn = false;
        store.set("tocsin.notify", "off");
        setToggle(notifyBtn, false);
        return;
      }
      Notification.requestPermission().then(function (p) {
        notifyOn = p === "granted";
        store.set("tocsin.notify", notifyOn ? "on" : "off");
        setToggle(notifyBtn, notifyOn);
      });
    });
  }
  // notifyNew shows a browser notification the first time this page sees
  // a new incident: triggered, and not past its first level (later levels
  // of an incident already shown change it, they are not new).
  function notifyNew(inc) {
    if (!notifyOn || inc.status !== "triggered" || inc.level > 1 || notified[inc.id]) { return; }
    notified[inc.id] = true;
    var sum = document.getElementById("summary");
    try {
      var n = new Notification((sum ? sum.dataset.notifyText : "") + " #" + inc.id, { body: inc.summary, tag: "tocsin-" + inc.id });
      n.onclick = function () { window.focus(); location.href = "/incidents/" + inc.id; };
    } catch (e) {}
  }

  // Pages with data-poll (health: GPIO and modem state) also refresh on a
  // timer while they are visible.
  setInterval(function () {
    var p = main.querySelector("[data-poll]");
    if (p && document.visibilityState === "visible") { refresh(); }
  }, 2000);
})();
