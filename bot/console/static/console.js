// Charts from the JSON a page embeds next to its numbers (the page works without them).
(function () {
  var COLORS = ["#07c160", "#f53f3f", "#165dff", "#ff7d00", "#722ed1"];
  function draw(el) {
    var src = document.getElementById(el.getAttribute("data-chart"));
    if (!src || !window.uPlot) return;
    var data = JSON.parse(src.textContent);
    var xs = data.days.map(function (d) { return Date.parse(d + "T12:00:00") / 1000; });
    var named = data.series || {};
    if (!data.series) {
      named["成团件数"] = data.qty;
      named["缺货问询"] = data.unmet;
      Object.keys(data.keys || {}).forEach(function (k) { named[(data.names || {})[k] || k] = data.keys[k]; });
    }
    var series = [{}], cols = [xs], i = 0;
    Object.keys(named).forEach(function (label) {
      series.push({label: label, stroke: COLORS[i++ % COLORS.length], width: 2, spanGaps: true});
      cols.push(named[label]);
    });
    el.innerHTML = "";
    var width = Math.max(280, el.clientWidth || 320);
    new uPlot({width: width, height: 220, series: series, axes: [{}, {size: 40}]}, cols, el);
    el.setAttribute("data-drawn", "1");
  }
  function all() { document.querySelectorAll("[data-chart]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
