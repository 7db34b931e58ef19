(function () {
  "use strict";
  // Filters of report.html and of the per-asset pages. Allowed by its sha256 in the page's Content-Security-Policy: any change
  // to this file changes the hash, which reports/html.py recomputes. The page is complete without
  // this script (the filter bar stays hidden and every finding is shown).
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  var ATTENTION = ["fail", "error", "manual", "waived"];
  var selects = Array.prototype.slice.call(bar.querySelectorAll("select[data-filter]"));
  var reset = bar.querySelector("[data-filter-reset]");
  var counter = document.getElementById("filter-count");
  var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.asset"));
  var heatRows = Array.prototype.slice.call(document.querySelectorAll("tr[data-asset]"));
  var zoneCards = Array.prototype.slice.call(document.querySelectorAll("article.zone[data-zone]"));
  var matrixCells = Array.prototype.slice.call(document.querySelectorAll("table.matrix td[data-fr]"));
  var fixes = Array.prototype.slice.call(document.querySelectorAll("tr[data-fix]"));
  var questions = Array.prototype.slice.call(document.querySelectorAll("tr[data-question]"));

  function current() {
    var state = {};
    selects.forEach(function (el) { state[el.getAttribute("data-filter")] = el.value; });
    return state;
  }

  function statusMatches(wanted, status) {
    if (wanted === "") { return true; }
    if (wanted === "attention") { return ATTENTION.indexOf(status) >= 0; }
    return wanted === status;
  }

  function assetMatches(state, asset, zone) {
    return (!state.asset || state.asset === asset) && (!state.zone || state.zone === zone);
  }

  function frMatches(state, frs) {
    return !state.fr || (" " + frs + " ").indexOf(" " + state.fr + " ") >= 0;
  }

  // the key of the chosen zone or asset: the plant-wide findings list theirs as short keys ("k2", "a17")
  function keyOf(name) {
    var el = bar.querySelector("select[data-filter=" + name + "]");
    if (!el || !el.value) { return ""; }
    return el.options[el.selectedIndex].getAttribute("data-key") || "";
  }

  function listed(list, key) {
    return !key || (" " + (list || "") + " ").indexOf(" " + key + " ") >= 0;
  }

  function anyStatus(wanted, statuses) {
    return (statuses || "").split(" ").some(function (s) { return statusMatches(wanted, s); });
  }

  function show(el, visible) {
    if (visible) { el.removeAttribute("hidden"); } else { el.setAttribute("hidden", ""); }
  }

  function apply() {
    var state = current();
    var shown = 0;
    findings.forEach(function (el) {
      var d = el.dataset;
      var visible = assetMatches(state, d.asset, d.zone) && frMatches(state, d.fr || "") &&
        (!state.severity || state.severity === d.severity) && statusMatches(state.status, d.status);
      show(el, visible);
      if (visible) { shown += 1; }
    });
    sections.forEach(function (section) {
      var head = section.querySelector("[data-asset]");
      var inScope = !head || assetMatches(state, head.dataset.asset, head.dataset.zone);
      show(section, inScope);
      var attention = section.querySelectorAll(".attention article.finding:not([hidden])").length;
      var noMatch = section.querySelector(".no-match");
      if (noMatch) { show(noMatch, attention === 0 && section.querySelectorAll(".attention article.finding").length > 0); }
      var others = section.querySelector("details.others");
      if (others) {
        var visibleOthers = others.querySelectorAll("article.finding:not([hidden])").length;
        show(others, visibleOthers > 0);
        // a verdict filter other than the default reaches into the collapsed "passed" list: open it
        if (state.status !== "" && state.status !== "attention") { others.open = visibleOthers > 0; }
      }
    });
    heatRows.forEach(function (row) { show(row, assetMatches(state, row.dataset.asset, row.dataset.zone)); });
    zoneCards.forEach(function (card) { show(card, !state.zone || state.zone === card.dataset.zone); });
    matrixCells.forEach(function (cell) { show(cell.parentNode, frMatches(state, cell.dataset.fr || "")); });
    var zoneKey = keyOf("zone");
    var assetKey = keyOf("asset");
    var fixesShown = 0;
    fixes.forEach(function (row) {
      var d = row.dataset;
      var visible = listed(d.zones, zoneKey) && listed(d.assets, assetKey) && frMatches(state, d.fr || "") &&
        (!state.severity || state.severity === d.severity) && anyStatus(state.status, d.statuses);
      show(row, visible);
      if (visible) { fixesShown += 1; }
    });
    questions.forEach(function (row) { show(row, frMatches(state, row.dataset.fr || "")); });
    if (counter) {
      var texts = [];
      if (findings.length) { texts.push("Showing " + shown + " of " + findings.length + " check verdicts"); }
      if (fixes.length) { texts.push(fixesShown + " of " + fixes.length + " findings to fix first"); }
      if (heatRows.length) {
        var rows = heatRows.filter(function (row) { return !row.hasAttribute("hidden"); }).length;
        texts.push(rows + " of " + heatRows.length + " assets");
      }
      counter.textContent = texts.join(" · ");
    }
    bar.setAttribute("data-fixes-shown", String(fixesShown));
    bar.setAttribute("data-shown", String(shown));
  }

  selects.forEach(function (el) { el.addEventListener("change", apply); });
  if (reset) {
    reset.addEventListener("click", function () {
      selects.forEach(function (el) { el.value = el.getAttribute("data-default") || ""; });
      apply();
    });
  }
  bar.removeAttribute("hidden");
  document.documentElement.classList.add("js");
  apply();
}());
