// Small behaviours for every page. Content-Security-Policy forbids inline handlers
// (onclick="..."), so templates mark elements with data-* attributes and this file wires them.
(function () {
  "use strict";
  // <button data-print>: open the browser's print dialogue (the exit report).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });
})();
