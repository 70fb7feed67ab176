// Small behaviours for every page. Content-Security-Policy forbids inline handlers
// (onclick="..."), so templates mark elements with data-* attributes and this file wires them.
(function () {
  "use strict";
  // A form sent back with errors: move the focus to the error summary, so keyboard and screen
  // reader users start where the problem is described (the GOV.UK pattern; the page title
  // starts "Error: " too).
  var summary =
    document.getElementById("error-summary") ||
    document.querySelector("main .alert-danger[role=alert]");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) {
      summary.setAttribute("tabindex", "-1");
    }
    summary.focus();
  }
  // <button data-print>: open the browser's print dialogue (the exit report).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });
})();
