// Starts GOV.UK Frontend and MOJ Frontend, and adds small behaviours for every page.
// The Content-Security-Policy forbids inline scripts and handlers (onclick="..."), so the
// snippet GOV.UK's page template puts inline lives here, and templates mark elements with
// data-* attributes that this file wires.
(function () {
  "use strict";
  // GOV.UK Frontend styles its JavaScript-enhanced components only when this class is set.
  document.body.classList.add("js-enabled", "govuk-frontend-supported");
  if (window.GOVUKFrontend) {
    // The error summary module focuses itself on load, the GOV.UK pattern: keyboard and screen
    // reader users start where the problem is described (the page title starts "Error: ").
    window.GOVUKFrontend.initAll();
  }
  if (window.MOJFrontend) {
    window.MOJFrontend.initAll();
  }
  // A wide table scrolls sideways in its own box: when it does, the box must be reachable by
  // keyboard and named (WCAG 2.1.1), so it becomes a focusable region labelled by its caption.
  document.querySelectorAll(".app-table-wrapper").forEach(function (wrapper) {
    if (wrapper.scrollWidth > wrapper.clientWidth && !wrapper.hasAttribute("tabindex")) {
      var caption = wrapper.querySelector("caption");
      wrapper.setAttribute("tabindex", "0");
      wrapper.setAttribute("role", "region");
      wrapper.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table");
    }
  });
  // <button data-print>: open the browser's print dialogue (the exit report).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });
})();
