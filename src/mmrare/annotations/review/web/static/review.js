// Keyboard shortcuts on the item page: a = accept, e = edit, r = reject (choose a reason first),
// n = next/skip.
// Nothing else runs in the page; every action is a plain form post that also works without this file.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName))) return;
  var key = event.key;
  if (key === "a") {
    var accept = document.getElementById("accept-form");
    if (accept) { event.preventDefault(); accept.requestSubmit(); }
  } else if (key === "r") {
    var panel = document.getElementById("reject-panel");
    var reason = document.getElementById("reject-reason");
    if (!panel || !reason) return;
    event.preventDefault();
    if (panel.open && reason.value) { document.getElementById("reject-form").requestSubmit(); return; }
    panel.open = true;
    reason.focus();
  } else if (key === "e") {
    var edit = document.getElementById("edit");
    if (edit) { event.preventDefault(); window.location.assign(edit.href); }
  } else if (key === "n") {
    var next = document.getElementById("next-link");
    if (next) { event.preventDefault(); window.location.assign(next.href); }
  }
});
