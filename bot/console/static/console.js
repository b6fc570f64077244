// Charts from the JSON a page embeds next to its numbers (the page works without them).
(function () {
  var COLORS = ["#07c160", "#f53f3f", "#165dff", "#ff7d00", "#722ed1"];
  function draw(el) {
    var src = document.getElementById(el.getAttribute("data-chart"));
    if (!src || !window.uPlot) return;
    var data = JSON.parse(src.textContent);
    var days = data.days;
    var xs = days.map(function (_, i) { return i; });
    var named = data.series || {};
    if (!data.series) {
      named["成团件数"] = data.qty;
      named["缺货问询"] = data.unmet;
      Object.keys(data.keys || {}).forEach(function (k) { named[(data.names || {})[k] || k] = data.keys[k]; });
    }
    var series = [{label: "日期", value: function (u, v) { return v == null ? "" : days[v]; }}], cols = [xs], i = 0;
    Object.keys(named).forEach(function (label) {
      series.push({label: label, stroke: COLORS[i++ % COLORS.length], width: 2, spanGaps: true,
                   points: {size: 5}});
      cols.push(named[label]);
    });
    el.innerHTML = "";
    var width = Math.max(260, el.clientWidth || 320);
    new uPlot({width: width, height: 220, series: series, scales: {x: {time: false}},
               axes: [{values: function (u, vals) { return vals.map(function (v) {
                 return Number.isInteger(v) && days[v] ? days[v].slice(5) : ""; }); }}, {size: 40}]}, cols, el);
    el.setAttribute("data-drawn", "1");
  }
  function all() { document.querySelectorAll("[data-chart]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
  var timer = null, lastWidth = window.innerWidth;
  window.addEventListener("resize", function () {  // a phone turned sideways: redraw at the new width
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(all, 100);
  });
})();
