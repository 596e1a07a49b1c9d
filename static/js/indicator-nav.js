/* The indicator navigation of the long assessment pages (nav[data-indicator-nav]).
 *
 * - Counts the finished indicators and keeps each mark in step with the autosave: autosave.js
 *   fires "autosave:saved" on the form with the server's reply; the vendor's reply says whether
 *   the indicator is complete ("complete"), for a rating the form itself tells (a rating or
 *   met / not met chosen, and a rationale written: what the server requires).
 * - Dimensions are <details>: following a link to an indicator opens its dimension; "expand all"
 *   and "collapse all" do what they say; "only missing" hides the finished ones in the list.
 * - On a narrow screen the list starts folded (a bar at the top of the screen) and folds again
 *   after a jump, so the form stays visible.
 */
(function () {
  "use strict";
  var nav = document.querySelector("[data-indicator-nav]");
  if (!nav) { return; }
  var box = nav.querySelector("[data-indicator-nav-box]");
  var narrow = window.matchMedia("(max-width: 999px)");
  var doneLabel = nav.dataset.doneLabel || "";
  var todoLabel = nav.dataset.todoLabel || "";

  function items() { return nav.querySelectorAll("[data-nav-item]"); }

  function refreshCounts() {
    var all = items();
    var done = 0;
    all.forEach(function (item) { if (item.dataset.state === "done") { done += 1; } });
    var doneCount = nav.querySelector("[data-nav-done-count]");
    var total = nav.querySelector("[data-nav-total]");
    if (doneCount) { doneCount.textContent = done; }
    if (total) { total.textContent = all.length; }
    document.querySelectorAll("[data-dimension]").forEach(function (dimension) {
      var counter = dimension.querySelector("[data-dimension-done]");
      if (!counter) { return; }
      var n = 0;
      dimension.querySelectorAll("article[id^='ind-']").forEach(function (article) {
        var item = nav.querySelector('[data-nav-item="' + article.id.slice(4) + '"]');
        if (item && item.dataset.state === "done") { n += 1; }
      });
      counter.textContent = n;
    });
  }

  function mark(indicatorId, done) {
    var item = nav.querySelector('[data-nav-item="' + indicatorId + '"]');
    if (!item) { return; }
    item.dataset.state = done ? "done" : "todo";
    var text = item.querySelector("[data-nav-state-text]");
    if (text) { text.textContent = " · " + (done ? doneLabel : todoLabel); }
    var article = document.getElementById("ind-" + indicatorId);
    if (article) { article.dataset.state = item.dataset.state; }
    refreshCounts();
  }

  function ratingComplete(form) {
    var chosen = form.querySelector("input[type=radio]:checked");
    var rationale = form.querySelector("textarea[name=rationale]");
    return Boolean(chosen) && Boolean(rationale && rationale.value.trim());
  }

  document.addEventListener("autosave:saved", function (event) {
    var form = event.target;
    var article = form.closest ? form.closest("article[id^='ind-']") : null;
    if (!article) { return; }
    var detail = event.detail || {};
    var done = typeof detail.complete === "boolean" ? detail.complete : ratingComplete(form);
    mark(article.id.slice(4), done);
  });

  function openTarget(hash) {
    if (!hash || hash.length < 2) { return; }
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!target) { return; }
    var dimension = target.closest("details[data-dimension]");
    if (dimension) { dimension.open = true; }
  }

  nav.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    openTarget(link.getAttribute("href"));
    if (narrow.matches && box) { box.open = false; }
  });
  window.addEventListener("hashchange", function () { openTarget(window.location.hash); });
  openTarget(window.location.hash);
  // Links elsewhere on the page (the "what is missing" list) jump into folded dimensions too.
  document.querySelectorAll("a[href^='#ind-']").forEach(function (link) {
    if (nav.contains(link)) { return; }
    link.addEventListener("click", function () { openTarget(link.getAttribute("href")); });
  });

  function setAll(open) {
    document.querySelectorAll("details[data-dimension]").forEach(function (d) { d.open = open; });
  }
  var expand = nav.querySelector("[data-nav-expand]");
  var collapse = nav.querySelector("[data-nav-collapse]");
  if (expand) { expand.addEventListener("click", function () { setAll(true); }); }
  if (collapse) { collapse.addEventListener("click", function () { setAll(false); }); }

  var onlyTodo = nav.querySelector("[data-nav-only-todo]");
  if (onlyTodo) {
    onlyTodo.addEventListener("change", function () {
      nav.classList.toggle("indicator-nav--only-todo", onlyTodo.checked);
    });
  }

  function fitToScreen() { if (box) { box.open = !narrow.matches; } }
  fitToScreen();
  if (narrow.addEventListener) { narrow.addEventListener("change", fitToScreen); }

  items().forEach(function (item) {
    var article = document.getElementById("ind-" + item.dataset.navItem);
    if (article) { article.dataset.state = item.dataset.state; }
  });
  refreshCounts();
})();
