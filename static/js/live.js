// Live changes and presence on the report page: polls a change counter (works across server
// processes and on both databases), refreshes what the user is not editing, never loses typing.
(function () {
  "use strict";
  // The page's texts for scripts (base.html <meta name="i18n">): t("Uploading %(name)s…", {name: n}).
  var texts = {};
  try { texts = JSON.parse((document.querySelector('meta[name="i18n"]') || {}).content || "{}"); } catch (e) {}
  function t(key, vars) {
    return (texts[key] || key).replace(/%\((\w+)\)s/g, function (m, k) { return vars && k in vars ? vars[k] : m; });
  }
  var box = document.getElementById("live");
  if (!box) return;
  var liveUrl = box.getAttribute("data-live-url");
  var presenceUrl = box.getAttribute("data-presence-url");
  var discipline = box.getAttribute("data-discipline");
  var counter = box.getAttribute("data-counter");
  var banner = document.getElementById("live-banner");
  var presence = document.getElementById("presence");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  var editing = false;
  var me = null;

  function isDirty(el) {
    return !!el.querySelector("form[data-dirty]");
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.form) { ev.target.form.setAttribute("data-dirty", "1"); }
    if (!editing) { editing = true; beat(); }
  });

  function beat() {
    fetch(presenceUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({discipline: discipline, editing: editing})
    }).catch(function () {});
  }

  function describe(change) {
    if (!change) return "";
    var what = change.discipline ? change.discipline + " " : "";
    return what + "updated by " + change.actor + (change.company ? " (" + change.company + ")" : "") + " " + change.seconds_ago + " s ago";
  }

  function refresh(change) {
    fetch(window.location.href, {credentials: "same-origin"}).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var keptDirty = false;
      document.querySelectorAll("[data-live]").forEach(function (el) {
        var key = el.getAttribute("data-live");
        var fresh = doc.querySelector('[data-live="' + key + '"]');
        if (!fresh) return;
        if (isDirty(el) || el.contains(document.activeElement) && document.activeElement.tagName !== "BODY" && document.activeElement.tagName !== "A") {
          keptDirty = true; return;  // never replace what the user is typing in
        }
        el.replaceWith(fresh);
      });
      var freshBox = doc.getElementById("live");
      if (freshBox) counter = freshBox.getAttribute("data-counter");
      banner.textContent = describe(change) + (keptDirty ? " — your unsaved changes are kept; saving merges them with this change." : "");
      banner.classList.remove("d-none");
    }).catch(function () {});
  }

  function poll() {
    fetch(liveUrl + "?since=" + encodeURIComponent(counter), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var others = data.presence || [];
        presence.textContent = others.length ? t("Also here: %(list)s", {list: others.map(function (p) {
          return p.name + " (" + p.company + ")" + (p.discipline ? " " + t(p.editing ? "editing %(code)s" : "viewing %(code)s", {code: p.discipline}) : "");
        }).join(", ")}) : "";
        if (data.changed) {
          if (data.last_change && me !== null && data.last_change.actor_id === me) { counter = String(data.counter); return; }
          refresh(data.last_change);
        }
      }).catch(function () {});
  }
  me = parseInt(document.body.getAttribute("data-user") || "-1", 10);
  beat();
  setInterval(poll, 2000);
  setInterval(beat, 10000);
})();
