/* Certified reports being rendered: each table cell marked data-report-status polls its status
 * address and shows the download (or the error and "render again") as soon as the PDF is
 * ready, without reloading the page. The issue form says it is working while it is sent. */
(function () {
  "use strict";
  var FIRST = 1000;
  var MAX = 10000;

  function poll(cell, delay) {
    var url = cell.getAttribute("data-report-status");
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    var next = window.location.pathname + window.location.search;
    setTimeout(function () {
      fetch(url + sep + "next=" + encodeURIComponent(next), {
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" }
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (payload) {
        cell.innerHTML = payload.html;
        cell.setAttribute("data-report-state", payload.state);
        if (payload.done) {
          cell.removeAttribute("data-report-status");
          cell.dispatchEvent(new CustomEvent("report:status", { bubbles: true, detail: payload }));
        } else {
          poll(cell, Math.min(delay * 1.5, MAX));
        }
      }).catch(function () {
        poll(cell, MAX); // the network or the session: try again, more slowly
      });
    }, delay);
  }

  if (!window.__reportStatusBound) {
    window.__reportStatusBound = true;
    var start = function () {
      document.querySelectorAll("[data-report-status]").forEach(function (cell) { poll(cell, FIRST); });
      document.querySelectorAll("form[data-busy-form]").forEach(function (form) {
        form.addEventListener("submit", function () {
          var button = form.querySelector("[data-busy-label]");
          if (!button) { return; }
          // Disabled after the submit has started, so the browser still sends the form.
          setTimeout(function () {
            button.disabled = true;
            button.textContent = button.getAttribute("data-busy-label");
          }, 0);
        });
      });
    };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
})();
