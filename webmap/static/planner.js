/* Coverage planner page: county choropleth, layers with their legend, inputs, sortable table, downloads, the accepted
   scenario as the page's working baseline. No external requests.
   Shared helpers come from common.js (window.YZ); the map is announced to whatif.js with YZ.announcePlannerMap, and
   YZ.planner is what whatif.js may ask of this page (the note beside the map, the scenario, station clicks). */
(function () {
  "use strict";
  var YZ = window.YZ;
  var $ = YZ.$, el = YZ.el, getJSON = YZ.getJSON;
  var cfg = YZ.readJSON("pl-config");
  var S = cfg.strings;
  var fmt = YZ.numberFormat(cfg.lang);
  var statusEl = $("pl-status");
  var BREAKS = [20, 40, 60, 80];
  var COLOURS = ["#d7301f", "#fc8d59", "#fdcc8a", "#a1d99b", "#31a354"];  // choropleth: red -> green
  var ACCESS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"];   // 2SFCA: light -> dark purple
  var STATIONS_ZOOM = 9;  // stations are drawn (clustered) from this zoom
  var LAYERS_KEY = "yz.planner.layers";
  var LAYER_IDS = ["pl-show-stations", "pl-show-buffers", "pl-show-demand", "pl-show-gaps", "pl-show-access", "pl-show-load"];

  function colour(pct) {
    if (pct === null || pct === undefined) return "#e0e0e0";
    for (var i = 0; i < BREAKS.length; i++) if (pct < BREAKS[i]) return COLOURS[i];
    return COLOURS[COLOURS.length - 1];
  }
  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  var map = L.map("pl-map", { preferCanvas: true, zoomSnap: 0.25, maxZoom: 18, attributionControl: false }).setView([25.0, 101.6], 6);
  map.createPane("plLayers").style.zIndex = 450; // buffers, demand, access and gaps above the choropleth
  map.createPane("plPoints").style.zIndex = 620;  // station load above them, below the markers
  var renderer = L.canvas({ padding: 0.3, pane: "plLayers" });
  var pointRenderer = L.canvas({ padding: 0.3, pane: "plPoints" });
  var svgRenderer = L.svg({ padding: 0.3 });
  var countyLayer = null, buffersLayer = null, demandLayer = null, gapsLayer = null, accessLayer = null, loadLayer = null;
  var stationsLayer = null, stationsKey = null;
  var countyRows = {};
  var current = null; // current parameters
  var lastSummary = null;
  var demandId = null; // an uploaded demand set, or null for the model
  var scenario = null; // the accepted scenario {id, added, closed}, or null: the registry's stations
  var hideGaps = false; // while a what-if shows its own gaps

  // ---------------------------------------------------------------------------------------- what whatif.js may ask
  var noteTimer = null;
  YZ.planner = {
    // a line beside the map (inside its pane, visible without scrolling) for click feedback
    note: function (text, state) {
      var n = $("pl-mapnote");
      n.textContent = text || "";
      n.dataset.state = state || "info";
      n.hidden = !text;
      if (noteTimer) clearTimeout(noteTimer);
      if (text && state !== "loading" && state !== "error") noteTimer = setTimeout(function () { n.hidden = true; }, 12000);
    },
    scenario: function () { return scenario ? scenario.id : null; },
    setScenario: function (s) { return setScenario(s); },
    hideGaps: function (on) { hideGaps = !!on; if (gapsLayer) { if (on) map.removeLayer(gapsLayer); else gapsLayer.addTo(map); } },
    onStation: null, // whatif.js: function (station, latlng) -> true when it used the click
    clickTakesStations: function () { return false; }
  };

  // ---------------------------------------------------------------------------------------- legend and layer states
  (function legend() {
    var box = $("pl-legend-choro");
    var labels = ["<20", "20–40", "40–60", "60–80", "≥80"];
    var html = "<strong>" + S["Covered %"] + "</strong><div class='pl-classes'>";
    for (var i = 0; i < COLOURS.length; i++) html += '<span><i style="background:' + COLOURS[i] + '"></i>' + labels[i] + "</span>";
    html += '<span><i style="background:#e0e0e0"></i>' + S["no data"] + "</span></div>";
    box.innerHTML = html;
    var ramp = document.querySelectorAll("#pl-access-ramp i");
    for (var k = 0; k < ramp.length; k++) ramp[k].style.background = ACCESS[k];
    if (window.matchMedia && window.matchMedia("(max-width: 800px)").matches) $("pl-legend").open = false;
  })();
  function restoreLayers() {
    var saved = {};
    try { saved = JSON.parse(window.localStorage.getItem(LAYERS_KEY) || "{}") || {}; } catch (e) { saved = {}; }
    LAYER_IDS.forEach(function (id) { if (typeof saved[id] === "boolean") $(id).checked = saved[id]; });
  }
  function saveLayers() {
    var out = {};
    LAYER_IDS.forEach(function (id) { out[id] = $(id).checked; });
    try { window.localStorage.setItem(LAYERS_KEY, JSON.stringify(out)); } catch (e) { /* private mode */ }
    document.body.dataset.layers = LAYER_IDS.filter(function (id) { return out[id]; }).join(" ");
  }
  restoreLayers();
  saveLayers();
  YZ.announcePlannerMap(map); // whatif.js adds its panel and map clicks

  function params(extra) {
    var p = { radius: current.radius, rural_radius: current.rural, hour: current.hour, weekday: current.weekday,
      demand: demandId, scenario: scenario ? scenario.id : null };
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

  // ---------------------------------------------------------------------------------------- table
  var sortKey = "covered_pct", sortDir = 1, tableRows = [];
  var COLUMNS = [
    ["name", S["Area"]], ["stations", S["Stations"], 0], ["stations_per_10k_urban", S["Per 10k urban"], 2], ["workers", S["Workers"], 0],
    ["workers_covered", S["Covered"], 0], ["covered_pct", S["Covered %"], 1], ["area_km2", S["Area km²"], 0],
    ["area_covered_km2", S["Covered km²"], 1], ["median_distance_m", S["Median m"], 0], ["p90_distance_m", S["P90 m"], 0],
    ["load_per_station", S.per_station, 0], ["access_per_1000", S.access_col, 2]
  ];
  function renderTable() {
    var thead = document.querySelector("#pl-table thead"), tbody = document.querySelector("#pl-table tbody");
    var tr = document.createElement("tr");
    COLUMNS.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = c[1] + (sortKey === c[0] ? (sortDir > 0 ? " ▲" : " ▼") : "");
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
      if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
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

  // ---------------------------------------------------------------------------------------- layers
  function loadBuffers() {
    if (buffersLayer) { map.removeLayer(buffersLayer); buffersLayer = null; }
    if (!$("pl-show-buffers").checked) return Promise.resolve();
    return getJSON(cfg.api.layer + "?" + params()).then(function (gj) {
      document.body.dataset.buffers = gj.features.length;
      buffersLayer = L.geoJSON(gj, { pane: "plLayers", renderer: renderer, style: { color: "#08519c", weight: 0.8, fillColor: "#4292c6", fillOpacity: 0.3 } }).addTo(map);
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
      var place = cfg.lang === "en" ? (p.place_en || p.name_en) : (p.place_zh || p.name_zh);
      a.textContent = (place || (county ? countyName(county) : (p.county_adcode || "–"))) + " · " + fmt(p.uncovered_workers) + " " +
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
        } });
      if (!hideGaps) gapsLayer.addTo(map);
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
        L.circleMarker([p[1], p[0]], { pane: "plLayers", renderer: renderer, radius: 3 + 9 * a, stroke: false, fillColor: "#e6550d", fillOpacity: 0.12 + 0.45 * a, interactive: false }).addTo(group);
      });
      demandLayer = group.addTo(map);
      document.body.dataset.demandPoints = body.points.length;
    });
  }

  // 2SFCA and load share one request (/api/access)
  var accessPromise = null, accessKey = null;
  function getAccess() {
    var key = params();
    if (accessPromise && accessKey === key) return accessPromise;
    accessKey = key;
    accessPromise = getJSON(cfg.api.access + "?" + key);
    accessPromise.catch(function () { accessPromise = null; });
    return accessPromise;
  }
  function accessClass(a, breaks) {
    for (var i = 0; i < breaks.length; i++) if (a <= breaks[i]) return i;
    return breaks.length;
  }
  function loadAccess() {
    if (accessLayer) { map.removeLayer(accessLayer); accessLayer = null; }
    $("pl-access-ramp").hidden = !$("pl-show-access").checked;
    if (!$("pl-show-access").checked) return Promise.resolve();
    return getAccess().then(function (b) {
      var vals = b.points.map(function (p) { return p[2]; }).filter(function (a) { return a > 0; }).sort(function (x, y) { return x - y; });
      var q = function (f) { return vals.length ? vals[Math.min(vals.length - 1, Math.floor(f * vals.length))] : 0; };
      var breaks = [0, q(0.25), q(0.5), q(0.75)];
      var group = L.layerGroup();
      b.points.forEach(function (p) {
        var k = p[2] > 0 ? Math.max(1, accessClass(p[2], breaks)) : 0;
        L.circleMarker([p[1], p[0]], { pane: "plLayers", renderer: renderer, radius: 5, weight: 0.6, color: "#3f007d",
          fillColor: ACCESS[k], fillOpacity: 0.85 }).bindTooltip(S.access_tip + ": " + fmt(p[2], 2) + " " + S.access_unit +
          " · " + fmt(p[3]) + " " + S["workers"]).addTo(group);
      });
      accessLayer = group.addTo(map);
      document.body.dataset.accessPoints = b.points.length;
    });
  }
  function renderLoaded(rows) {
    var frag = document.createDocumentFragment();
    rows.slice(0, 10).forEach(function (r) {
      var a = el("a", { href: "#" }, (r.name || r.id) + " · " + (countyRows[r.county_adcode] ? countyName(countyRows[r.county_adcode]) : "") +
        " · " + fmt(r.load_workers) + " " + S.load_unit);
      a.addEventListener("click", function (e) { e.preventDefault(); map.setView([r.lat, r.lon], Math.max(map.getZoom(), 13)); });
      var li = el("li");
      li.appendChild(a);
      frag.appendChild(li);
    });
    $("pl-loaded").replaceChildren(frag);
  }
  function loadLoad() {
    if (loadLayer) { map.removeLayer(loadLayer); loadLayer = null; }
    $("pl-loaded-box").hidden = !$("pl-show-load").checked;
    if (!$("pl-show-load").checked) return Promise.resolve();
    return getAccess().then(function (b) {
      renderLoaded(b.top_loaded || []);
      var max = 1;
      b.load.forEach(function (p) { if (p[2] > max) max = p[2]; });
      var group = L.layerGroup();
      b.load.forEach(function (p) {
        if (p[2] <= 0) return;
        L.circleMarker([p[1], p[0]], { pane: "plPoints", renderer: pointRenderer, radius: 2 + 10 * Math.sqrt(p[2] / max), weight: 1,
          color: "#8c2d04", fillColor: "#fec44f", fillOpacity: 0.7 })
          .bindTooltip(S.load_tip + ": " + fmt(p[2]) + " " + S.load_unit).addTo(group);
      });
      loadLayer = group.addTo(map);
      document.body.dataset.loadPoints = b.load.length;
    });
  }

  // stations of the question (the registry's or the scenario's, open at the hour), clustered, from STATIONS_ZOOM
  function clusterIcon(c) {
    var n = c.getChildCount();
    var size = n < 10 ? 26 : n < 100 ? 32 : 40;
    return L.divIcon({ html: "<span>" + n + "</span>", className: "pl-cluster", iconSize: [size, size] });
  }
  function stationClick(st, latlng) {
    // other page scripts (network.js: the clicked station's isochrones) hear every station click
    document.dispatchEvent(new CustomEvent("yz:planner-station", { detail: { station: st, latlng: latlng } }));
    var use = YZ.planner.onStation;
    return typeof use === "function" && use(st, latlng);
  }
  function loadStations() {
    var want = $("pl-show-stations").checked && map.getZoom() >= STATIONS_ZOOM;
    document.body.dataset.stationsShown = want ? "1" : "0";
    if (!want) { if (stationsLayer) map.removeLayer(stationsLayer); return Promise.resolve(); }
    var key = params();
    if (stationsLayer && stationsKey === key) { stationsLayer.addTo(map); return Promise.resolve(); }
    return getJSON(cfg.api.stations + "?" + key).then(function (body) {
      if (stationsLayer) map.removeLayer(stationsLayer);
      var group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 45, disableClusteringAtZoom: 15,
        iconCreateFunction: clusterIcon, chunkedLoading: true });
      var markers = body.stations.map(function (s) {
        var st = { id: s[0], lon: s[1], lat: s[2], name: s[3], added: !!s[4] };
        var m = L.circleMarker([s[2], s[1]], { pane: "plPoints", renderer: pointRenderer, radius: 6, weight: 1.5, color: "#fff",
          fillColor: st.added ? "#1a9641" : "#263238", fillOpacity: 0.95 });
        m.bindTooltip(el("span", null, st.name + " · " + st.id));  // text, never HTML
        m.on("click", function (e) { L.DomEvent.stopPropagation(e); stationClick(st, e.latlng); });
        m.station = st;
        return m;
      });
      group.addLayers(markers);
      group.on("clusterclick", function (e) {
        // in the what-if's click modes a cluster is a click on its station nearest to the pointer, not a zoom
        if (!YZ.planner.clickTakesStations()) return;
        var best = null, bestD = Infinity;
        e.layer.getAllChildMarkers().forEach(function (m) {
          var d = map.distance(e.latlng, m.getLatLng());
          if (d < bestD) { bestD = d; best = m; }
        });
        if (best) stationClick(best.station, e.latlng);
      });
      stationsLayer = group;
      stationsKey = key;
      document.body.dataset.stations = body.stations.length;
      if ($("pl-show-stations").checked && map.getZoom() >= STATIONS_ZOOM) group.addTo(map);
    });
  }
  YZ.planner.clusterZoom = function (on) {  // whatif.js: clusters zoom on click only outside its click modes
    if (stationsLayer) stationsLayer.options.zoomToBoundsOnClick = on;
  };
  map.on("zoomend", function () {
    loadStations().catch(function (err) { setStatus("error", err.message); });
    $("pl-legend").dataset.zoomedOut = map.getZoom() < STATIONS_ZOOM ? "1" : "0";
  });

  // ---------------------------------------------------------------------------------------- the question
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
      $("pl-summary").textContent = (scenario ? "[" + S.scenario + "] " : "") + fmt(s.workers_covered) + " " + S["of"] + " " +
        fmt(s.workers) + " " + S["workers covered"] + " (" + fmt(s.covered_pct, 1) + "%) · " + fmt(body.stations_active) + " " +
        S["stations open"] + " · " + when;
      statusEl.dataset.stationsActive = body.stations_active;
      return Promise.all([loadTable(), loadGaps(), loadBuffers(), loadDemand(), loadAccess(), loadLoad(), loadStations()]);
    }).then(function () {
      statusEl.dataset.radius = current.radius;
      statusEl.dataset.coveredPct = lastSummary ? lastSummary.covered_pct : "";
      statusEl.dataset.hour = current.hour;
      statusEl.dataset.weekday = current.weekday;
      statusEl.dataset.scenario = scenario ? scenario.id : "";
      setStatus("ready", "");
    }).catch(function (err) {
      setStatus("error", S["Could not compute coverage"] + ": " + (err && err.message ? err.message : String(err)));
    }).finally(function () { $("pl-go").disabled = false; });
  }

  // the accepted scenario: {id, added, closed} (whatif.js), or null for the registry's stations
  function setScenario(s) {
    scenario = s && s.id ? s : null;
    var box = $("pl-scenario");
    box.hidden = !scenario;
    document.body.dataset.scenario = scenario ? scenario.id : "";
    document.body.classList.toggle("pl-in-scenario", !!scenario);
    document.querySelector(".pl-map-pane").dataset.tag = scenario ? S.scenario + " · " + scenario.id : "";
    if (scenario) {
      $("pl-scenario-text").textContent = YZ.interpolate(S.scenario_text, { added: scenario.added, closed: scenario.closed, id: scenario.id });
    }
    return recompute();
  }
  $("pl-baseline").addEventListener("click", function () {
    setScenario(null);
    document.dispatchEvent(new CustomEvent("yz:scenario-reset"));
  });

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
  function onLayer(id, load) {
    $(id).addEventListener("change", function () {
      saveLayers();
      load().catch(function (err) { setStatus("error", err.message); });
    });
  }
  onLayer("pl-show-buffers", loadBuffers);
  onLayer("pl-show-gaps", loadGaps);
  onLayer("pl-show-demand", loadDemand);
  onLayer("pl-show-access", loadAccess);
  onLayer("pl-show-load", loadLoad);
  onLayer("pl-show-stations", loadStations);

  loadCounties().then(recompute, function (err) { setStatus("error", S["Could not compute coverage"] + ": " + err.message); });
})();
