// The console's one browser script: draws the run-history plots with uPlot (served locally) from the page's JSON.
export const CONSOLE_JS = `'use strict';
(function () {
  var el = document.getElementById('history-data');
  if (!el || typeof uPlot === 'undefined') return;
  var d = JSON.parse(el.textContent);
  function plot(id, label, values, color, format) {
    var target = document.getElementById(id);
    if (!target) return;
    var width = Math.max(300, target.clientWidth - 16);
    new uPlot({
      width: width,
      height: 200,
      scales: { x: { time: true } },
      axes: [{}, { values: function (u, ticks) { return ticks.map(format); } }],
      series: [{}, { label: label, stroke: color, width: 2, points: { show: true, size: 6 }, spanGaps: false }],
    }, [d.t, values], target);
  }
  plot('chart-loaded', 'rows loaded', d.loaded, '#0b5cad', function (v) { return v == null ? '' : v.toLocaleString('en-US'); });
  plot('chart-seconds', 'seconds', d.seconds, '#6d28d9', function (v) { return v == null ? '' : v.toFixed(1); });
  plot('chart-rejects', 'reject ratio', d.rejectRatio, '#b42318', function (v) { return v == null ? '' : (v * 100).toFixed(2) + ' %'; });
  document.body.setAttribute('data-charts', 'drawn');
})();
`;
