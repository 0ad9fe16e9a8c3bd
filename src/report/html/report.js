(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll(".filters button"));
  function apply(filter) {
    rows.forEach(function (r) {
      r.classList.toggle("hidden", filter !== "all" && r.getAttribute("data-status") !== filter);
    });
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-filter") === filter));
    });
    var shown = rows.filter(function (r) { return !r.classList.contains("hidden"); }).length;
    document.getElementById("shown").textContent = String(shown);
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { apply(b.getAttribute("data-filter")); });
  });
  var details = Array.prototype.slice.call(document.querySelectorAll("details"));
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = details.map(function (d) { return d.open; });
    // Print what needs action: a passing control stays one line.
    details.forEach(function (d) {
      var row = d.closest("tr");
      d.open = !row || row.getAttribute("data-status") !== "pass";
    });
    rows.forEach(function (r) { r.classList.remove("hidden"); });
  });
  window.addEventListener("afterprint", function () {
    details.forEach(function (d, i) { d.open = opened[i]; });
    var pressed = buttons.filter(function (b) { return b.getAttribute("aria-pressed") === "true"; })[0];
    apply(pressed ? pressed.getAttribute("data-filter") : "all");
  });
  document.getElementById("filters").classList.remove("hidden");
  apply("all");
  document.documentElement.setAttribute("data-ready", "1");
})();
