// The dataset review item page (templates/dsreview/item.html): focus fields highlighted and
// ignored fields greyed in the workbench editor, and field / file decisions by keyboard.
(function () {
  "use strict";
  var editor = document.getElementById("pane-editor");
  if (!editor) return;
  function mark(attr, cls) {
    (editor.getAttribute(attr) || "").split(" ").forEach(function (pointer) {
      if (!pointer) return;
      editor.querySelectorAll('[data-path="' + CSS.escape(pointer) + '"]').forEach(function (el) {
        el.classList.add(cls);
        var row = el.closest("tr, .wb-row, li, .wb-field");
        if (row) row.classList.add(cls + "-row");
      });
    });
  }
  mark("data-focus", "dsr-focus");
  mark("data-ignored", "dsr-ignored");

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
                      target.isContentEditable);
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".dsr-field")); }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey && event.key === "Enter") {
      var save = document.getElementById("dsr-save");
      if (save) { event.preventDefault(); save.click(); }
      return;
    }
    if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.shiftKey && (event.key === "A" || event.key === "X")) {
      var whole = document.getElementById(event.key === "A" ? "dsr-approve" : "dsr-remove");
      if (whole) { event.preventDefault(); whole.click(); }
      return;
    }
    var list = rows();
    if (!list.length) return;
    var at = list.indexOf(document.activeElement && document.activeElement.closest(".dsr-field"));
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      var next = event.key === "j" ? Math.min(at + 1, list.length - 1) : Math.max(at - 1, 0);
      list[next].focus();
      var field = editor.querySelector('[data-path="' + CSS.escape(list[next].getAttribute("data-path") || "") + '"]');
      if (field) field.scrollIntoView({block: "nearest"});
      return;
    }
    if (at < 0) return;
    var button = list[at].querySelector('button[data-key="' + event.key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });
  // After a decision the page comes back: put the focus on the row it was about.
  var remembered = sessionStorage.getItem("dsr-row");
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest(".dsr-field");
    if (row) sessionStorage.setItem("dsr-row", row.getAttribute("data-path") || row.getAttribute("data-file") || "");
  });
  if (remembered) {
    sessionStorage.removeItem("dsr-row");
    var again = rows().filter(function (r) {
      return r.getAttribute("data-path") === remembered || r.getAttribute("data-file") === remembered;
    })[0];
    if (again) again.focus();
  }
})();
