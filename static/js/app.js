// 8D Workbench: small progressive enhancements. Everything works without JavaScript too.
(function () {
  "use strict";

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

  // htmx requests carry the CSRF token.
  document.body.addEventListener("htmx:configRequest", function (ev) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) ev.detail.headers["X-CSRFToken"] = meta.content;
  });
})();
