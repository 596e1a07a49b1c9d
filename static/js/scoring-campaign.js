// The campaign scoring panel: starts a run with fetch and follows its progress by polling the
// JSON endpoint, so the bar moves without reloading the page. Plain JS, no library.
(function () {
  "use strict";

  function format(template, data) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) {
      return data[key] === undefined ? "" : String(data[key]);
    });
  }

  function setup(panel) {
    var url = panel.getAttribute("data-scoring-progress-url");
    var bar = panel.querySelector("[data-scoring-bar]");
    var fill = bar.querySelector(".campaign-scoring__fill");
    var status = panel.querySelector("[data-scoring-status]");
    var form = panel.querySelector("[data-scoring-start]");
    var button = form ? form.querySelector("button") : null;
    var timer = null;

    function show(data) {
      var state = data.state || "none";
      if (state === "none") {
        bar.hidden = true;
        status.textContent = status.getAttribute("data-text-none");
      } else {
        bar.hidden = false;
        fill.style.width = data.percent + "%";
        bar.setAttribute("aria-valuenow", String(data.percent));
        bar.classList.toggle("campaign-scoring__bar--failed", data.failed > 0);
        status.textContent = format(status.getAttribute("data-text-" + state) || "", data);
      }
      if (button) button.disabled = state === "running";
      return state;
    }

    // Reloads the page's result blocks in place once a run has finished.
    function refresh() {
      var targets = document.querySelectorAll("[data-scoring-refresh][id]");
      if (!targets.length) return;
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          targets.forEach(function (target) {
            var replacement = fresh.getElementById(target.id);
            if (replacement) target.innerHTML = replacement.innerHTML;
          });
        });
    }

    var seenRunning = false;

    function poll() {
      clearTimeout(timer);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          var state = show(data);
          if (state === "running") {
            seenRunning = true;
            timer = setTimeout(poll, 1000);
          } else if (state === "finished" && seenRunning) {
            seenRunning = false;
            refresh();
          }
        })
        .catch(function () {
          status.textContent = status.getAttribute("data-text-error");
          timer = setTimeout(poll, 3000);
        });
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        button.disabled = true;
        fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        })
          .then(function (response) {
            if (!response.ok) throw new Error(String(response.status));
            return response.json();
          })
          .then(function (data) {
            seenRunning = true;
            if (show(data) === "running") timer = setTimeout(poll, 500);
            else refresh();
          })
          .catch(function () {
            button.disabled = false;
            status.textContent = status.getAttribute("data-text-error");
          });
      });
    }
    poll();
  }

  document.querySelectorAll("[data-scoring-progress-url]").forEach(setup);
})();
