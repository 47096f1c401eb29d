// 8D Workbench: small progressive enhancements. Everything works without JavaScript too.
(function () {
  "use strict";
  // The page's texts for scripts (base.html <meta name="i18n">): t("Uploading %(name)s…", {name: n}).
  var texts = {};
  try { texts = JSON.parse((document.querySelector('meta[name="i18n"]') || {}).content || "{}"); } catch (e) {}
  function t(key, vars) {
    return (texts[key] || key).replace(/%\((\w+)\)s/g, function (m, k) { return vars && k in vars ? vars[k] : m; });
  }

  // Password reset: the key comes in the link's fragment (#...), which browsers never send to a
  // server (so it is in no log); put it into the form and take it out of the address bar.
  var resetToken = document.querySelector("[data-reset-token]");
  if (resetToken && window.location.hash.length > 1) {
    resetToken.value = decodeURIComponent(window.location.hash.slice(1));
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    var box = resetToken.closest("[data-reset-token-box]");
    if (box) box.hidden = true;
  }

  // Add and remove rows of the method's tables (5W2H, Is/Is-Not, ledger, causes, ...).
  document.addEventListener("click", function (ev) {
    var add = ev.target.closest("[data-add-row]");
    if (add) {
      var name = add.getAttribute("data-add-row");
      var table = document.querySelector('table[data-table="' + name + '"] tbody');
      if (!table || !table.rows.length) return;
      var last = table.rows[table.rows.length - 1];
      var clone = last.cloneNode(true);
      var next = table.rows.length;
      clone.querySelectorAll("input, textarea, select").forEach(function (el) {
        if (el.name) el.name = el.name.replace(/^t\.([a-z0-9_]+)\.\d+\./, "t.$1." + next + ".");
        if (el.id) el.id = el.id.replace(/-\d+-/, "-" + next + "-");
        var label = el.getAttribute("aria-label");
        if (label) el.setAttribute("aria-label", label.replace(/\d+$/, String(next + 1)));
        if (el.tagName === "SELECT") el.selectedIndex = 0; else el.value = "";
        el.classList.remove("is-invalid");
      });
      table.appendChild(clone);
      var first = clone.querySelector("input:not([type=hidden]), textarea, select");
      if (first) first.focus();
      markDirty(add.closest("form"));
      return;
    }
    var remove = ev.target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("tr");
      var form = remove.closest("form");
      var tbody = row.parentNode;
      if (tbody.rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input, textarea, select").forEach(function (el) {
          if (el.tagName === "SELECT") el.selectedIndex = 0; else el.value = "";
        });
      }
      markDirty(form);
    }
  });

  // Warn before leaving a page with unsaved changes.
  var dirty = new Set();
  function markDirty(form) { if (form && form.hasAttribute("data-track-changes")) dirty.add(form); }
  document.addEventListener("input", function (ev) { markDirty(ev.target.form); });
  document.addEventListener("change", function (ev) { markDirty(ev.target.form); });
  document.addEventListener("submit", function (ev) { dirty.delete(ev.target); });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty.size) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // Filter a long <select> of people by typing.
  document.querySelectorAll("[data-filter-select]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-filter-select"));
    if (!select) return;
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      var firstVisible = null;
      Array.prototype.forEach.call(select.options, function (opt) {
        var show = opt.text.toLowerCase().indexOf(q) !== -1;
        opt.hidden = !show;
        if (show && !firstVisible) firstVisible = opt;
      });
      if (firstVisible) select.value = firstVisible.value;
    });
  });

  // Evidence: drag and drop, several files at once, a progress bar (XHR to the JSON API, one
  // file after the other); without JavaScript the form posts normally.
  document.querySelectorAll("form.evidence-upload").forEach(function (form) {
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector('input[type="file"]');
    var bar = form.querySelector("[data-progress]");
    var status = form.querySelector("[data-upload-status]");
    var dropped = null;
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (ev) {
      dropped = ev.dataTransfer.files;
      status.textContent = dropped.length + " file(s) ready: " + Array.prototype.map.call(dropped, function (f) { return f.name; }).join(", ");
    });
    form.addEventListener("submit", function (ev) {
      var files = dropped || input.files;
      if (!files || !files.length || !window.XMLHttpRequest) return;
      ev.preventDefault();
      var csrf = form.querySelector('input[name="csrf_token"]').value;
      var list = Array.prototype.slice.call(files);
      var done = 0, failed = [];
      bar.classList.remove("d-none");
      function next() {
        if (!list.length) {
          status.textContent = t("Uploaded: %(done)s", {done: done}) + (failed.length ? "; " + t("refused: %(list)s", {list: failed.join("; ")}) : "");
          if (!failed.length) window.location.reload();
          return;
        }
        var file = list.shift();
        var data = new FormData();
        data.append("file", file);
        data.append("discipline", form.querySelector('input[name="discipline"]').value);
        data.append("description", form.querySelector('input[name="description"]').value);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.getAttribute("data-upload-url"));
        xhr.setRequestHeader("X-CSRFToken", csrf);
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(e.loaded * 100 / e.total); };
        xhr.onload = function () {
          if (xhr.status === 201) { done += 1; }
          else {
            var msg = "HTTP " + xhr.status;
            try { msg = JSON.parse(xhr.responseText).message; } catch (e) {}
            failed.push(file.name + ": " + msg);
          }
          status.textContent = t("Uploading… %(done)s of %(total)s", {done: done, total: files.length});
          next();
        };
        xhr.onerror = function () { failed.push(file.name + ": " + t("connection lost")); next(); };
        status.textContent = t("Uploading %(name)s…", {name: file.name});
        xhr.send(data);
      }
      next();
    });
  });

  // htmx requests carry the CSRF token.
  document.body.addEventListener("htmx:configRequest", function (ev) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) ev.detail.headers["X-CSRFToken"] = meta.content;
  });
})();
