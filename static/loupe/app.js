// Loupe: keyboard shortcuts and small enhancements. Every flow also works without this file.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function click(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  function follow(selector) {
    var el = document.querySelector(selector);
    if (el && el.href) { window.location.href = el.href; return true; }
    return false;
  }

  function focusField(el) {
    if (!el) return false;
    el.focus();
    if (el.select && (el.tagName === "INPUT" || el.tagName === "TEXTAREA")) el.select();
    if (el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
    return true;
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // ---- Queue: j/k move a selection over the rows, Enter opens. -------------------------------
  var selected = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-table tbody tr")); }
  function select(index) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("is-selected", i === selected); });
    all[selected].scrollIntoView({ block: "nearest" });
    var link = all[selected].querySelector("[data-row-link]");
    if (link) link.focus();
  }

  // ---- Workbench: the output editor's fields --------------------------------------------------
  function pane() { return document.getElementById("run-pane"); }
  function fields() { return Array.prototype.slice.call(document.querySelectorAll("#pane-editor .wb-input")); }

  // Up/Down: in a table, the same column of the row above/below; elsewhere the previous/next field.
  function moveVertical(el, step) {
    var cell = el.closest("td");
    if (cell && cell.parentElement.parentElement.tagName === "TBODY") {
      var row = cell.parentElement, index = Array.prototype.indexOf.call(row.children, cell);
      var other = step > 0 ? row.nextElementSibling : row.previousElementSibling;
      if (other && other.children[index]) {
        var target = other.children[index].querySelector(".wb-input");
        if (target) return focusField(target);
      }
    }
    var all = fields(), at = all.indexOf(el);
    return focusField(all[at + step]);
  }

  function rowOf(el) { return el.closest("[data-row]"); }
  function rowButton(el, op) {
    var row = rowOf(el);
    if (!row) return null;
    return row.querySelector('.wb-tools button[value^="' + op + ':"]');
  }
  function removeButton(el) {
    var rowBtn = rowButton(el, "remove");
    if (rowBtn) return rowBtn;
    var holder = el.closest(".wb-row, .wb-fs, .wb-arr");
    return holder ? holder.querySelector('button[value^="remove:"]') : null;
  }
  function addRowButton(el) {
    var array = el.closest("[data-array]");
    if (!array) return null;
    var wrap = array.closest(".wb-table-wrap") || array;
    var next = wrap.nextElementSibling;
    return next && next.classList.contains("wb-addrow") ? next.querySelector("button") : null;
  }

  function editorKeys(event) {
    var el = event.target;
    if (!el.closest || !el.closest("#pane-editor")) return false;
    if (el.hasAttribute("data-newkey") && event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
      var add = el.parentElement.querySelector('button[value^="key:"]');
      if (add) { add.click(); return true; }
    }
    if (!el.classList.contains("wb-input")) return false;
    if (event.altKey) {
      var button = null;
      if (event.key === "ArrowUp") button = rowButton(el, "up");
      else if (event.key === "ArrowDown") button = rowButton(el, "down");
      else if (event.key === "Backspace" || event.key === "Delete") button = removeButton(el);
      else if (event.key === "Enter") button = addRowButton(el);
      else if (event.key === "k" || event.key === "K") {
        var obj = el.closest("[data-obj]");
        var box = obj && obj.querySelector(":scope > .wb-addkey input");
        return box ? focusField(box) : false;
      }
      if (button) { button.click(); return true; }
      return false;
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey) return false;
    if (el.tagName === "TEXTAREA") return false;  // arrows move the caret in multi-line text
    if (event.key === "ArrowDown") return moveVertical(el, 1);
    if (event.key === "ArrowUp") return moveVertical(el, -1);
    return false;
  }

  // ---- Unsaved input: nothing typed is lost by leaving without asking --------------------------
  var dirty = false;
  function syncDirty() { var p = pane(); dirty = !!(p && p.hasAttribute("data-unsaved")); }
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("#run-pane") && event.target.form) dirty = true;
  });
  document.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  // ---- Claims: renewed while the pane is open, released when leaving ---------------------------
  setInterval(function () {
    var p = pane();
    if (!p || !p.hasAttribute("data-claim-mine") || document.hidden) return;
    fetch(p.dataset.claimUrl, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" });
  }, 60000);
  window.addEventListener("pagehide", function () {
    var p = pane();
    if (!p || !p.hasAttribute("data-claim-mine") || !navigator.sendBeacon) return;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrfToken());
    navigator.sendBeacon(p.dataset.releaseUrl, data);
  });

  // ---- Keys ------------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    var dialog = document.getElementById("shortcuts");
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      if (click("#save-btn")) { event.preventDefault(); }
      return;
    }
    if (editorKeys(event)) { event.preventDefault(); return; }
    if (event.key === "Escape") {
      if (typing(event.target) && event.target.closest("#run-pane")) { event.target.blur(); event.preventDefault(); }
      return;
    }
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (typing(event.target)) return;
    var inQueue = !!document.getElementById("queue-table");
    var handled = true;
    switch (event.key) {
      case "?": if (dialog) { dialog.open ? dialog.close() : dialog.showModal(); } break;
      case "j": handled = inQueue ? (select(selected + 1), true) : follow("[data-next]"); break;
      case "k": handled = inQueue ? (select(selected - 1), true) : follow("[data-prev]"); break;
      case "Enter": handled = inQueue && selected >= 0 && document.activeElement === document.body ? (rows()[selected].querySelector("[data-row-link]").click(), true) : false; break;
      case "p": handled = click('#verdict button[value="pass"]'); break;
      case "f": handled = click('#verdict button[value="fail"]'); break;
      case "a": handled = click('#verdict button[value="partial"]'); break;
      case "r": handled = click('#verdict button[value="resolve"]'); break;
      case "i": handled = click('#verdict button[value="ignore"]'); break;
      case "o": handled = click('#verdict button[value="reopen"]'); break;
      case "m": handled = click("#promote-btn"); break;
      case "e": handled = focusField(fields()[0]) || click("#start-shape") || click("#start-empty"); break;
      case "s": handled = click("#save-btn"); break;
      case "n": handled = focusField(document.getElementById("id_body")); break;
      case "u": handled = follow("[data-back-to-queue]"); break;
      case "/": handled = focusField(document.getElementById("id_q")); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) {
      var dialog = document.getElementById("shortcuts");
      if (dialog) dialog.showModal();
    }
    var jump = event.target.closest("[data-jump]");
    if (jump) {
      var target = document.querySelector('#pane-editor [data-path="' + CSS.escape(jump.dataset.jump) + '"]');
      if (target) { event.preventDefault(); focusField(target); }
    }
    var confirmed = event.target.closest("[data-confirm]");
    if (confirmed && !window.confirm(confirmed.dataset.confirm)) event.preventDefault();
    // "Go back" links (no javascript: URLs under the Content-Security-Policy).
    if (event.target.closest("[data-history-back]") && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // Refuse an oversized upload before sending it; the server checks again.
  document.addEventListener("submit", function (event) {
    var input = event.target.querySelector && event.target.querySelector("input[type=file][data-max-bytes]");
    if (!input || !input.files || !input.files[0]) return;
    var max = parseInt(input.dataset.maxBytes, 10);
    if (input.files[0].size > max) {
      event.preventDefault();
      event.stopImmediatePropagation();
      input.setCustomValidity(input.files[0].name + " is larger than the " + Math.round(max / 1048576) + " MB limit.");
      input.reportValidity();
      input.addEventListener("change", function () { input.setCustomValidity(""); }, { once: true });
    }
  }, true);

  // Send only the output fields that changed (the server treats a missing field as unchanged);
  // after a failed save the page holds typed values, so then everything is sent.
  document.addEventListener("htmx:configRequest", function (event) {
    var p = pane();
    if (!p || p.hasAttribute("data-unsaved")) return;
    var params = event.detail.parameters;
    fields().forEach(function (el) {
      var unchanged = el.tagName === "SELECT"
        ? Array.prototype.every.call(el.options, function (o) { return o.selected === o.defaultSelected; })
        : el.value === el.defaultValue;
      if (unchanged && params.delete) params.delete(el.name);
      else if (unchanged) delete params[el.name];
    });
    var raw = document.getElementById("raw-json");
    if (raw && raw.value === raw.defaultValue) {
      if (params.delete) params.delete("raw"); else delete params.raw;
    }
  });

  // Focus lands where the server says (data-focus) after every update of the pane.
  function placeFocus() {
    syncDirty();
    var p = pane();
    if (!p) return;
    var selector = p.getAttribute("data-focus");
    var target = null;
    if (selector) { try { target = p.querySelector(selector); } catch (e) { target = null; } }
    if (!target) target = p.querySelector("[aria-invalid=true]") || p.querySelector("#conflict, .banner-error");
    if (target) {
      if (!typing(target) && !target.matches("a, button") && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      focusField(target);
    }
  }
  // Placed once the new pane has settled (htmx has wired its forms), unless a field was chosen
  // in the 20 ms between the swap and then: the reviewer's (or a test's) focus wins.
  var focusAtSwap = null;
  function paneSwap(e) {
    // A block the pane loads after it is shown (scores, steps) must not pull the focus away
    // from the field the reviewer is typing in: only a new pane places it.
    var t = e.target;
    return !(t && t.id !== "run-pane" && t.closest && t.closest("#run-pane"));
  }
  // A section the reviewer opened (expected files, the raw editor, a step) stays open when the
  // pane is swapped after a save: the new pane renders it closed unless the server opens it.
  // Keyed by the nearest id and the summary's heading; keys that repeat (one per file) are left.
  function openKeys(root) {
    var seen = {};
    Array.prototype.forEach.call(root.querySelectorAll("details"), function (d) {
      var owner = d.closest("[id]");
      var summary = d.querySelector("summary");
      var head = summary && (summary.firstElementChild || summary);
      var key = (owner ? owner.id : "") + "|" + (head ? head.textContent.trim() : "");
      seen[key] = seen[key] === undefined ? d : null;
    });
    return seen;
  }
  var openBefore = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var p = pane();
    if (!p || !paneSwap(e)) return;
    var keys = openKeys(p);
    openBefore = Object.keys(keys).filter(function (k) { return keys[k] && keys[k].open; });
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!paneSwap(e)) return;
    focusAtSwap = document.activeElement;
    var p = pane();
    if (p && openBefore) {
      var keys = openKeys(p);
      openBefore.forEach(function (k) { if (keys[k]) keys[k].open = true; });
    }
    openBefore = null;
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    if (!paneSwap(e)) return;
    var moved = focusAtSwap !== null && document.activeElement !== focusAtSwap;
    focusAtSwap = null;
    if (moved) { syncDirty(); return; }
    placeFocus();
  });
  document.addEventListener("DOMContentLoaded", function () {
    placeFocus();
    if (document.getElementById("queue-table") && location.hash !== "#keep") {
      // The queue: the first row is selected, so j/Enter work at once.
      if (rows().length) { selected = 0; rows()[0].classList.add("is-selected"); }
    }
  });
})();
