// Draws ECharts charts from data written into the page with json_script:
//   <script id="x" type="application/json">{"categories": [...], "series": [{"name": "...", "data": [...]}],
//                                          "unit": "%", "urls": [...]}</script>
//   <div class="jiedao-chart" data-chart="line|bar" data-source="x" data-empty-text="..."></div>
// A null value is a gap (no data that month). With "urls", clicking a category opens its link.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var palette = ["#206bc4", "#2fb344", "#f59f00", "#d63939", "#ae3ec9"];

  function hasData(data) {
    return data.series.some(function (s) {
      return s.data.some(function (v) { return v !== null && v !== undefined; });
    });
  }

  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    if (!el.style.height) {
      el.style.height = el.classList.contains("jiedao-chart-sm") ? "220px" : "320px";
    }
    if (!data.categories.length || !hasData(data)) {
      el.classList.add("d-flex", "align-items-center", "justify-content-center", "text-secondary");
      el.textContent = el.dataset.emptyText || "";
      el.dataset.ready = "empty";
      return;
    }
    var kind = el.dataset.chart === "bar" ? "bar" : "line";
    var unit = data.unit || "";
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      color: palette,
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + unit; }
      },
      legend: { top: 0, show: data.series.length > 1 },
      grid: { left: 8, right: 16, top: data.series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.categories, axisLabel: { hideOverlap: true } },
      yAxis: unit === "%" ? { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }
                          : { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: s.type || kind,
          data: s.data,
          connectNulls: false,
          smooth: false,
          barMaxWidth: 18
        };
      })
    });
    if (data.urls) {
      chart.on("click", function (params) {
        var url = data.urls[params.dataIndex];
        if (url) { window.location.href = url; }
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "true";
  }

  document.querySelectorAll(".jiedao-chart[data-source]").forEach(draw);
})();
