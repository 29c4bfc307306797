/* Coverage planner page: county choropleth, layers, inputs, sortable table, downloads. No external requests.
   Shared helpers come from common.js (window.YZ); the map is announced to whatif.js with YZ.announcePlannerMap. */
(function () {
  "use strict";
  var YZ = window.YZ;
  var $ = YZ.$, getJSON = YZ.getJSON;
  var cfg = YZ.readJSON("pl-config");
  var S = cfg.strings;
  var fmt = YZ.numberFormat(cfg.lang);
  var statusEl = $("pl-status");
  var BREAKS = [20, 40, 60, 80];
  var COLOURS = ["#d7301f", "#fc8d59", "#fdcc8a", "#a1d99b", "#31a354"];

  function colour(pct) {
    if (pct === null || pct === undefined) return "#e0e0e0";
    for (var i = 0; i < BREAKS.length; i++) if (pct < BREAKS[i]) return COLOURS[i];
    return COLOURS[COLOURS.length - 1];
  }
  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  var map = L.map("pl-map", { preferCanvas: true, zoomSnap: 0.25, attributionControl: false }).setView([25.0, 101.6], 6);
  map.createPane("plLayers").style.zIndex = 450; // buffers, demand and gaps above the choropleth
  var renderer = L.canvas({ padding: 0.3, pane: "plLayers" });
  var svgRenderer = L.svg({ padding: 0.3 });
  YZ.announcePlannerMap(map); // whatif.js adds its panel and map clicks
  var countyLayer = null, buffersLayer = null, demandLayer = null, gapsLayer = null;
  var countyRows = {};
  var current = null; // current parameters
  var lastSummary = null;
  var demandId = null; // an uploaded demand set, or null for the model

  // legend
  (function legend() {
    var el = $("pl-legend");
    var labels = ["<20", "20–40", "40–60", "60–80", "≥80"];
    var html = "<strong>" + S["Covered %"] + "</strong>";
    for (var i = 0; i < COLOURS.length; i++) html += '<div><i style="background:' + COLOURS[i] + '"></i>' + labels[i] + "</div>";
    html += '<div><i style="background:#e0e0e0"></i>' + S["no data"] + "</div>";
    el.innerHTML = html;
  })();

  function params(extra) {
    var p = { radius: current.radius, rural_radius: current.rural, hour: current.hour, weekday: current.weekday,
      demand: demandId };
    if (document.body.dataset.distance === "network") p.distance = "network";  // network.js (issue 13)
    if (extra) Object.keys(extra).forEach(function (k) { p[k] = extra[k]; });
    return YZ.query(p);
  }

  function countyName(p) { return cfg.lang === "en" ? (p.name_en || p.name) : p.name; }

  function styleCounty(f) {
    var row = countyRows[f.properties.adcode];
    return { renderer: svgRenderer, className: "pl-county", weight: 0.6, color: "#555", fillOpacity: 0.75,
      fillColor: colour(row ? row.covered_pct : null) };
  }
  function tooltipFor(f) {
    var row = countyRows[f.properties.adcode];
    var t = countyName(f.properties);
    if (row) t += "<br>" + S["Covered %"] + ": " + fmt(row.covered_pct, 1) + "<br>" + S["Workers"] + ": " + fmt(row.workers) +
      "<br>" + S["Stations"] + ": " + fmt(row.stations);
    return t;
  }

  function loadCounties() {
    return getJSON(cfg.api.counties).then(function (gj) {
      document.body.dataset.counties = gj.features.length;
      countyLayer = L.geoJSON(gj, { style: styleCounty, renderer: svgRenderer,
        onEachFeature: function (f, layer) { layer.bindTooltip(function () { return tooltipFor(f); }, { sticky: true }); } }).addTo(map);
      try { map.fitBounds(countyLayer.getBounds(), { padding: [8, 8] }); } catch (e) { /* empty geography */ }
    });
  }

  var sortKey = "covered_pct", sortDir = 1, tableRows = [];
  var COLUMNS = [
    ["name", "Area"], ["stations", "Stations", 0], ["stations_per_10k_urban", "Per 10k urban", 2], ["workers", "Workers", 0],
    ["workers_covered", "Covered", 0], ["covered_pct", "Covered %", 1], ["area_km2", "Area km²", 0],
    ["area_covered_km2", "Covered km²", 1], ["median_distance_m", "Median m", 0], ["p90_distance_m", "P90 m", 0]
  ];
  function renderTable() {
    var thead = document.querySelector("#pl-table thead"), tbody = document.querySelector("#pl-table tbody");
    var tr = document.createElement("tr");
    COLUMNS.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = S[c[1]] + (sortKey === c[0] ? (sortDir > 0 ? " ▲" : " ▼") : "");
      th.dataset.key = c[0];
      th.setAttribute("role", "button");
      th.title = S["Sort"];
      th.addEventListener("click", function () {
        if (sortKey === c[0]) sortDir = -sortDir; else { sortKey = c[0]; sortDir = 1; }
        renderTable();
      });
      tr.appendChild(th);
    });
    thead.replaceChildren(tr);
    var rows = tableRows.slice().sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      if (sortKey === "name") { x = countyName(a); y = countyName(b); return sortDir * String(x).localeCompare(String(y), "zh-CN"); }
      if (x === null) return 1; if (y === null) return -1;
      return sortDir * (x - y);
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var row = document.createElement("tr");
      row.dataset.adcode = r.adcode;
      row.addEventListener("click", function () {
        if (!countyLayer) return;
        countyLayer.eachLayer(function (l) { if (l.feature.properties.adcode === r.adcode) zoomTo(l); });
      });
      COLUMNS.forEach(function (c) {
        var td = document.createElement("td");
        td.textContent = c[0] === "name" ? countyName(r) : fmt(r[c[0]], c[2]);
        if (c[0] === "covered_pct") td.style.boxShadow = "inset 4px 0 0 " + colour(r.covered_pct);
        row.appendChild(td);
      });
      frag.appendChild(row);
    });
    tbody.replaceChildren(frag);
  }

  function updateDownloads() {
    document.querySelectorAll(".pl-dl").forEach(function (a) {
      var url = cfg.api.download.replace("__WHAT__", a.dataset.what).replace("__FMT__", a.dataset.fmt);
      a.href = url + "?" + params(a.dataset.what === "coverage" ? { by: $("pl-by").value } : {});
    });
  }

  function loadTable() {
    return getJSON(cfg.api.coverage + "?" + params({ by: $("pl-by").value })).then(function (body) {
      tableRows = body.rows;
      renderTable();
      updateDownloads();
    });
  }

  function loadBuffers() {
    if (buffersLayer) { map.removeLayer(buffersLayer); buffersLayer = null; }
    if (!$("pl-show-buffers").checked) return Promise.resolve();
    return getJSON(cfg.api.layer + "?" + params()).then(function (gj) {
      document.body.dataset.buffers = gj.features.length;
      buffersLayer = L.geoJSON(gj, { pane: "plLayers", renderer: renderer, style: { color: "#1f5fa8", weight: 0.8, fillColor: "#3b8bd9", fillOpacity: 0.35 } }).addTo(map);
    });
  }
  function zoomTo(layer) {
    try { map.fitBounds(layer.getBounds(), { maxZoom: 12, padding: [20, 20] }); } catch (e) { /* no bounds */ }
  }
  function renderGapList(features) {
    var ol = $("pl-gap-list");
    var frag = document.createDocumentFragment();
    features.forEach(function (f) {
      var p = f.properties;
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "#";
      var county = countyRows[p.county_adcode];
      a.textContent = (county ? countyName(county) : (p.county_adcode || "–")) + " · " + fmt(p.uncovered_workers) + " " +
        S["workers"] + " · " + fmt(p.mean_distance_m) + " " + S["m on average to the nearest station"];
      a.addEventListener("click", function (e) { e.preventDefault(); zoomTo(L.geoJSON(f)); });
      li.appendChild(a);
      frag.appendChild(li);
    });
    ol.replaceChildren(frag);
  }

  function loadGaps() {
    if (gapsLayer) { map.removeLayer(gapsLayer); gapsLayer = null; }
    if (!$("pl-show-gaps").checked) { $("pl-gap-list").replaceChildren(); return Promise.resolve(); }
    return getJSON(cfg.api.gaps + "?" + params({ limit: 300 })).then(function (gj) {
      document.body.dataset.gaps = gj.features.length;
      renderGapList(gj.features.slice(0, 10));
      gapsLayer = L.geoJSON(gj, { pane: "plLayers", renderer: renderer, style: { color: "#7a0177", weight: 1.2, fillColor: "#c51b8a", fillOpacity: 0.55 },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindTooltip("#" + p.rank + " · " + S["Uncovered workers"] + ": " + fmt(p.uncovered_workers) + "<br>" +
            S["Nearest station"] + ": " + fmt(p.nearest_station_m) + " m · " + fmt(p.mean_distance_m) + " " +
            S["m on average to the nearest station"], { sticky: true });
        } }).addTo(map);
    });
  }
  function loadDemand() {
    if (!$("pl-show-demand").checked) { if (demandLayer) map.removeLayer(demandLayer); return Promise.resolve(); }
    if (demandLayer) { demandLayer.addTo(map); return Promise.resolve(); }
    return getJSON(cfg.api.demand + (demandId ? "?demand=" + encodeURIComponent(demandId) : "")).then(function (body) {
      var max = 1;
      body.points.forEach(function (p) { if (p[2] > max) max = p[2]; });
      var group = L.layerGroup();
      body.points.forEach(function (p) {
        var a = Math.sqrt(p[2] / max);
        L.circleMarker([p[1], p[0]], { pane: "plLayers", renderer: renderer, radius: 3 + 9 * a, stroke: false, fillColor: "#253494", fillOpacity: 0.12 + 0.45 * a, interactive: false }).addTo(group);
      });
      demandLayer = group.addTo(map);
      document.body.dataset.demandPoints = body.points.length;
    });
  }

  function recompute() {
    var radius = $("pl-radius").value.trim();
    current = { radius: radius || String(cfg.radius), rural: $("pl-rural").value.trim(), hour: $("pl-hour").value,
      weekday: $("pl-weekday").value || "2" };
    setStatus("loading", S["Computing…"]);
    $("pl-go").disabled = true;
    return getJSON(cfg.api.coverage + "?" + params({ by: "county" })).then(function (body) {
      countyRows = {};
      body.rows.forEach(function (r) { countyRows[r.adcode] = r; });
      if (countyLayer) countyLayer.setStyle(styleCounty);
      var s = body.summary || {};
      lastSummary = body.summary;
      var when = current.hour === "" ? S["All day (status only)"]
        : (cfg.weekdays[Number(current.weekday)] || "") + " " + ("0" + current.hour).slice(-2) + ":00";
      $("pl-summary").textContent = fmt(s.workers_covered) + " " + S["of"] + " " + fmt(s.workers) + " " + S["workers covered"] +
        " (" + fmt(s.covered_pct, 1) + "%) · " + fmt(body.stations_active) + " " + S["stations open"] + " · " + when;
      return Promise.all([loadTable(), loadGaps(), loadBuffers(), loadDemand()]);
    }).then(function () {
      statusEl.dataset.radius = current.radius;
      statusEl.dataset.coveredPct = lastSummary ? lastSummary.covered_pct : "";
      statusEl.dataset.hour = current.hour;
      statusEl.dataset.weekday = current.weekday;
      setStatus("ready", "");
    }).catch(function (err) {
      setStatus("error", S["Could not compute coverage"] + ": " + err.message);
    }).finally(function () { $("pl-go").disabled = false; });
  }

  function setDemand(id, label) {
    demandId = id;
    $("pl-demand-name").textContent = label;
    $("pl-demand-reset").hidden = !id;
    if (demandLayer) { map.removeLayer(demandLayer); demandLayer = null; }
    document.body.dataset.demand = id || "";
    return recompute();
  }
  $("pl-demand-file").addEventListener("change", function () {
    var file = this.files && this.files[0];
    if (!file) return;
    var form = new FormData();
    form.append("file", file);
    var w = $("pl-demand-weight").value.trim();
    if (w) form.append("weight", w);
    setStatus("loading", S["Uploading…"]);
    getJSON(cfg.api.upload, { method: "POST", body: form }).then(function (body) {
      return setDemand(body.demand, body.name + " · " + fmt(body.points) + " " + S["points"] + " · " + fmt(body.workers) + " " + S["workers"]);
    }).catch(function (err) {
      setStatus("error", S["Could not use the file"] + ": " + err.message);
    }).finally(function () { $("pl-demand-file").value = ""; });
  });
  $("pl-demand-reset").addEventListener("click", function () { setDemand(null, S["Estimated outdoor workers (model)"]); });

  $("pl-form").addEventListener("submit", function (e) { e.preventDefault(); if ($("pl-form").reportValidity()) recompute(); });
  $("pl-radius").addEventListener("change", function () { if ($("pl-form").checkValidity()) recompute(); });
  $("pl-rural").addEventListener("change", function () { if ($("pl-form").checkValidity()) recompute(); });
  $("pl-hour").addEventListener("change", recompute);
  $("pl-weekday").addEventListener("change", recompute);
  $("pl-by").addEventListener("change", function () { loadTable().catch(function (err) { setStatus("error", err.message); }); });
  $("pl-show-buffers").addEventListener("change", function () { loadBuffers(); });
  $("pl-show-gaps").addEventListener("change", function () { loadGaps(); });
  $("pl-show-demand").addEventListener("change", function () { loadDemand(); });

  loadCounties().then(recompute, function (err) { setStatus("error", S["Could not compute coverage"] + ": " + err.message); });
})();
