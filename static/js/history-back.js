/* The error pages' "Go back" button: the browser's back, shown only when there is a page to go
 * back to. A file of its own because the Content-Security-Policy runs no inline code (the link
 * was once href="javascript:history.back()"). */
(function () {
  "use strict";
  if (window.history.length < 2) { return; }
  document.querySelectorAll("[data-history-back]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.history.back(); });
  });
})();
