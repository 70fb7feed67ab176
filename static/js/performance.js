// Draws one Chart.js line chart per agreed metric on the performance page. The figures come
// from the page's JSON (json_script) and are also in the table under each chart, which is what
// screen readers and people who cannot see the chart use.
(function () {
  "use strict";
  // The GOV.UK colour palette (GOV.UK Frontend 6) and its typeface, so the charts match the page.
  var GOVUK = { blue: "#1d70b8", red: "#ca3535", darkGrey: "#484949", text: "#0b0c0c" };
  if (window.Chart) {
    Chart.defaults.font.family = '"GDS Transport", arial, sans-serif';
    Chart.defaults.font.size = 16;
    Chart.defaults.color = GOVUK.text;
  }
  var source = document.getElementById("performance-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var series = JSON.parse(source.textContent);

  function flat(value, length) {
    var line = [];
    for (var i = 0; i < length; i += 1) {
      line.push(value);
    }
    return line;
  }

  series.forEach(function (metric) {
    var canvas = document.getElementById(metric.canvas);
    if (!canvas) {
      return;
    }
    var count = metric.labels.length;
    // With one checkpoint each limit is a line of one point, which Chart.js does not draw:
    // mark it with a wide dash at the limit instead, so it shows from the first report.
    var limitMark = count === 1
      ? { pointStyle: "line", pointRadius: 60, pointBorderWidth: 2 }
      : { pointRadius: 0 };
    var misses = metric.values.map(function (value) {
      if (value === null) {
        return false;
      }
      return metric.comparator === "gte" ? value < metric.threshold : value > metric.threshold;
    });
    var datasets = [
      {
        label: "Reported " + metric.label.toLowerCase(),
        data: metric.values,
        borderColor: GOVUK.blue,
        backgroundColor: GOVUK.blue,
        borderWidth: 3,
        // A missed threshold is a larger triangle as well as red: never colour alone.
        // The drift early warning is a large diamond: shape, not colour alone.
        pointStyle: misses.map(function (miss, i) {
          if (i === metric.drift) { return "rectRot"; }
          return miss ? "triangle" : "circle";
        }),
        pointRadius: misses.map(function (miss, i) { return miss || i === metric.drift ? 8 : 5; }),
        pointBackgroundColor: misses.map(function (miss) { return miss ? GOVUK.red : GOVUK.blue; }),
        spanGaps: false,
      },
      {
        label: "Threshold (" + (metric.comparator === "gte" ? "at least " : "at most ") + metric.threshold + ")",
        data: flat(metric.threshold, count),
        borderColor: GOVUK.darkGrey,
        borderDash: [8, 4],
        borderWidth: 2,
      },
    ];
    // The 95% confidence interval of figures reported with their counts: thin dotted lines
    // either side of the figure, so a small sample's width shows.
    if (metric.lower && metric.lower.some(function (value) { return value !== null; })) {
      [["lower", "95% CI lower bound"], ["upper", "95% CI upper bound"]].forEach(function (end) {
        datasets.push({
          label: end[1],
          data: metric[end[0]],
          borderColor: GOVUK.darkGrey,
          borderDash: [1, 3],
          borderWidth: 1,
          pointRadius: 2,
          spanGaps: false,
        });
      });
    }
    if (metric.critical !== null) {
      datasets.push({
        label: "Critical limit (" + metric.critical + ")",
        data: flat(metric.critical, count),
        borderColor: GOVUK.red,
        borderDash: [2, 3],
        borderWidth: 2,
      });
    }
    datasets.slice(1).forEach(function (limit) {
      if (limit.label.indexOf("95% CI") !== 0) {
        Object.assign(limit, limitMark);
      }
    });
    new Chart(canvas, {
      type: "line",
      data: { labels: metric.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } },
        // Headroom so a point on the edge of the range is not cut in half.
        scales: {
          // A lone checkpoint sits in the middle rather than on the axis.
          x: { offset: count === 1 },
          y: { grace: "10%", title: { display: true, text: metric.label } },
        },
      },
    });
  });
})();
