// Every chart answers a hover with the values under the pointer, and a click on a legend
// entry hides or shows that series. The charts are drawn without this script; it reads the
// labels the report computed (one number format for the whole page) and fetches nothing.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function nearest(points, x) {
    var lo = 0, hi = points.length - 1;
    if (hi < 0) return null;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (points[mid][0] < x) lo = mid; else hi = mid;
    }
    return Math.abs(points[lo][0] - x) <= Math.abs(points[hi][0] - x) ? points[lo] : points[hi];
  }

  function setUp(figure) {
    var svg = figure.querySelector("svg");
    var data = JSON.parse(figure.querySelector("script.chart-data").textContent);
    var tip = figure.querySelector(".tip");
    var pointer = svg.querySelector(".pointer");
    var guide = pointer.querySelector(".guide");
    var hidden = {};
    var dots = [];

    figure.querySelectorAll(".legend-item").forEach(function (button) {
      button.addEventListener("click", function () {
        var index = button.getAttribute("data-series");
        var shown = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", shown ? "true" : "false");
        svg.querySelector('g.series[data-series="' + index + '"]').style.display = shown ? "" : "none";
        hidden[index] = !shown;
      });
    });

    function hide() {
      pointer.setAttribute("visibility", "hidden");
      tip.hidden = true;
    }

    function show(event) {
      var matrix = svg.getScreenCTM();
      if (!matrix) return;
      var point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var at = point.matrixTransform(matrix.inverse());
      if (at.x < data.left - 8 || at.x > data.right + 8) return hide();
      var rows = [], guideX = null, best = Infinity;
      data.series.forEach(function (series, index) {
        if (hidden[index]) return;
        var hit = nearest(series.points, at.x);
        if (!hit) return;
        var distance = Math.abs(hit[0] - at.x);
        if (distance < best) { best = distance; guideX = hit[0]; }
        rows.push({ series: series, hit: hit, distance: distance });
      });
      if (guideX === null) return hide();
      dots.forEach(function (dot) { dot.remove(); });
      dots = [];
      tip.textContent = "";
      var head = document.createElement("div");
      head.className = "tip-x";
      tip.appendChild(head);
      rows.forEach(function (row) {
        // Series whose nearest point is far from the guide have no value there.
        if (Math.abs(row.hit[0] - guideX) > 12) return;
        head.textContent = row.hit[2];
        var line = document.createElement("div");
        var swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.borderTop = "3px solid " + row.series.color;
        line.appendChild(swatch);
        line.appendChild(document.createTextNode(row.series.name + ": " + row.hit[3] + (row.hit[4] ? " (" + row.hit[4] + ")" : "")));
        tip.appendChild(line);
        var dot = document.createElementNS(SVG, "circle");
        dot.setAttribute("cx", row.hit[0]);
        dot.setAttribute("cy", row.hit[1]);
        dot.setAttribute("r", 4);
        dot.setAttribute("fill", row.series.color);
        pointer.appendChild(dot);
        dots.push(dot);
      });
      guide.setAttribute("x1", guideX);
      guide.setAttribute("x2", guideX);
      pointer.setAttribute("visibility", "visible");
      tip.hidden = false;
      var box = svg.getBoundingClientRect();
      var left = (guideX / svg.viewBox.baseVal.width) * box.width;
      var right = left + 12 + tip.offsetWidth > box.width;
      tip.style.left = (right ? left - 12 - tip.offsetWidth : left + 12) + "px";
      tip.style.top = "8px";
    }

    svg.addEventListener("mousemove", show);
    svg.addEventListener("mouseleave", hide);
  }

  document.querySelectorAll("figure.chart").forEach(setUp);
})();
