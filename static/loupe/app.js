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

  // Queue: j/k move a selection over the rows, Enter opens.
  var selected = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-table tbody tr")); }
  function select(index) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("is-selected", i === selected); });
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function focusFirstValue() {
    var link = document.querySelector("#editor a.val");
    if (link) { link.focus(); link.click(); }
  }

  function saveOpenForm() {
    var form = document.querySelector("#editor form[data-edit-form]") || document.activeElement && document.activeElement.form;
    if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); return true; }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    var dialog = document.getElementById("shortcuts");
    if (event.key === "Escape") {
      var cancel = document.querySelector("#editor [data-cancel]");
      if (cancel && !(dialog && dialog.open)) { cancel.click(); event.preventDefault(); }
      return;
    }
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (typing(event.target)) {
      // In a form, Ctrl/Cmd-less "s" types an s; Enter submits as usual.
      return;
    }
    var inQueue = !!document.getElementById("queue-table");
    var handled = true;
    switch (event.key) {
      case "?": if (dialog) { dialog.open ? dialog.close() : dialog.showModal(); } break;
      case "j": handled = inQueue ? (select(selected + 1), true) : follow("[data-next]"); break;
      case "k": handled = inQueue ? (select(selected - 1), true) : follow("[data-prev]"); break;
      case "Enter": handled = inQueue && selected >= 0 ? (rows()[selected].querySelector("[data-row-link]").click(), true) : false; break;
      case "p": handled = click('#verdict-form button[value="pass"]'); break;
      case "f": handled = click('#verdict-form button[value="fail"]'); break;
      case "a": handled = click('#verdict-form button[value="partial"]'); break;
      case "r": handled = click('#status-form button[value="resolve"]'); break;
      case "i": handled = click('#status-form button[value="ignore"]'); break;
      case "o": handled = click('#status-form button[value="reopen"]'); break;
      case "e": focusFirstValue(); break;
      case "s": handled = saveOpenForm(); break;
      case "n": var note = document.querySelector("#verdict-form textarea"); if (note) { note.focus(); } else { handled = false; } break;
      case "u": handled = follow("[data-back-to-queue]"); break;
      case "/": var search = document.getElementById("id_q"); if (search) { search.focus(); } else { handled = false; } break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) {
      var dialog = document.getElementById("shortcuts");
      if (dialog) dialog.showModal();
    }
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

  // After htmx swaps in an inline edit form, put the cursor in it.
  document.addEventListener("htmx:afterSwap", function () {
    var box = document.querySelector("#edit-value, #add-value, #add-key");
    if (box) { box.focus(); if (box.select && box.id === "edit-value") box.select(); }
  });
})();
