// The admin's campaign pages: ask before a form that changes state is sent, and let a province
// heading tick all of its clouds. Plain JS; the pages work without it.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.hasAttribute || !box.hasAttribute("data-select-group")) return;
    var group = box.closest("fieldset");
    group.querySelectorAll("input[name=clouds]").forEach(function (input) {
      input.checked = box.checked;
    });
  });
})();
