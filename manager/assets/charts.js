// Live charts of the balancer-manager: per member, requests and errors per
// second and latency over the last minutes, redrawn in place from the
// manager's own JSON (?charts). No library, nothing loaded from elsewhere;
// the page's Content-Security-Policy allows this script by its hash.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 320, H = 132, L = 40, R = 8, T = 10, B = 20;
  var palette = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e", "#a16207", "#475569"];
  var updates = 0;

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v) {
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2).replace(/\.?0+$/, "") || "0";
  }

  // niceTop rounds a maximum up to 1, 2 or 5 times a power of ten.
  function niceTop(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (v <= steps[i] * p) return steps[i] * p;
    return 10 * p;
  }

  function draw(svg, metric, members, doc) {
    // The time axis spans the history kept, or less while the samples
    // do not reach back that far.
    var t1 = doc.now, t0 = doc.now - doc.historyMs, first = t1;
    var max = 0;
    members.forEach(function (m) {
      m.points.forEach(function (p) {
        if (p[metric] > max) max = p[metric];
        if (p.t < first) first = p.t;
      });
    });
    t0 = Math.max(t0, first - doc.intervalMs);
    if (t1 - t0 < 4 * doc.intervalMs) t0 = t1 - 4 * doc.intervalMs;
    var top = niceTop(max);
    var x = function (t) { return L + (W - L - R) * Math.max(0, t - t0) / (t1 - t0); };
    var y = function (v) { return T + (H - T - B) * (1 - v / top); };
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    [0, 0.5, 1].forEach(function (f) {
      var yy = y(top * f).toFixed(1);
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: yy, y2: yy, "class": "grid" }));
      svg.appendChild(el("text", { x: L - 4, y: (+yy + 3).toFixed(1), "text-anchor": "end", "class": "axis" }, fmt(top * f)));
    });
    var span = (t1 - t0) / 1000;
    svg.appendChild(el("text", { x: L, y: H - 5, "class": "axis" }, span < 120 ? "-" + Math.round(span) + " s" : "-" + Math.round(span / 60) + " min"));
    svg.appendChild(el("text", { x: W - R, y: H - 5, "text-anchor": "end", "class": "axis" }, "now"));
    members.forEach(function (m, i) {
      var pts = m.points.filter(function (p) { return p.t >= t0; });
      if (pts.length === 0) return;
      var coords = pts.map(function (p) { return x(p.t).toFixed(1) + "," + y(p[metric]).toFixed(1); });
      if (coords.length === 1) coords.push((x(pts[0].t) - 1).toFixed(1) + "," + y(pts[0][metric]).toFixed(1));
      svg.appendChild(el("polyline", {
        points: coords.join(" "), fill: "none", stroke: palette[i % palette.length],
        "stroke-width": "1.8", "stroke-linejoin": "round",
        "data-member": m.url, "data-last": String(pts[pts.length - 1][metric])
      }));
    });
    svg.setAttribute("data-max", String(max));
  }

  function legend(ul, members) {
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    members.forEach(function (m, i) {
      var li = document.createElement("li");
      var sw = el("svg", { width: "12", height: "12", viewBox: "0 0 12 12", "aria-hidden": "true" });
      sw.appendChild(el("rect", { width: "12", height: "12", rx: "2", fill: palette[i % palette.length] }));
      li.appendChild(sw);
      li.appendChild(document.createTextNode(" " + m.url));
      ul.appendChild(li);
    });
  }

  function render(doc) {
    updates++;
    document.querySelectorAll("[data-charts]").forEach(function (box) {
      var b = null;
      doc.balancers.forEach(function (x) { if (x.name === box.getAttribute("data-charts")) b = x; });
      if (!b) return;
      box.querySelectorAll("svg[data-metric]").forEach(function (svg) {
        draw(svg, svg.getAttribute("data-metric"), b.members, doc);
      });
      var ul = box.querySelector("ul.legend");
      if (ul) legend(ul, b.members);
      box.setAttribute("data-updates", String(updates));
      var st = box.querySelector(".charts-status");
      if (st) st.textContent = "updated " + new Date(doc.now).toLocaleTimeString();
    });
  }

  function status(msg) {
    document.querySelectorAll("[data-charts] .charts-status").forEach(function (st) { st.textContent = msg; });
  }

  var delay = 2000;
  function tick() {
    if (document.hidden) { setTimeout(tick, delay); return; }
    fetch("?charts", { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (doc) {
        delay = Math.min(Math.max(doc.intervalMs, 250), 10000);
        render(doc);
      })
      .catch(function (err) { status("charts: " + err.message); })
      .then(function () { setTimeout(tick, delay); });
  }

  if (document.querySelector("[data-charts]")) tick();
})();
