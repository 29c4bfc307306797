/* Planner page, issue 5: "recommend N sites" and the what-if scenario (add hypothetical stations by clicking the
   map, close existing ones). Figures come from /api/recommend and /api/whatif; nothing is ever written to the
   registry from here (the API has no write path). Shared helpers come from common.js (window.YZ); the panel is
   built once planner.js announces its map (YZ.onPlannerMap). No external requests. */
(function () {
  "use strict";
  var YZ = window.YZ;
  var $ = YZ.$, el = YZ.el, query = YZ.query, fetchJSON = YZ.getJSON;
  var me = document.currentScript;
  var API = {
    recommend: me.getAttribute("data-recommend") || "/api/recommend",
    whatif: me.getAttribute("data-whatif") || "/api/whatif",
    nearest: me.getAttribute("data-nearest") || "/api/nearest",
    download: me.getAttribute("data-download") || "/recommend/download/sites.__FMT__",
    curve: me.getAttribute("data-curve") || "/recommend/curve.png"
  };
  // Every label comes from the server in the page's language (webmap/i18n.py WHATIF_STRINGS, translated through
  // the Flask-Babel catalogue), rendered into <script id="wi-strings" type="application/json">.
  var T = YZ.readJSON("wi-strings", {});
  var PC = YZ.readJSON("pl-config", {});
  var lang = PC.lang || "zh";
  var P = PC.strings || {};  // the planner's labels (webmap/planner.py), for the parts added in issue 12
  var API_SCENARIO = (PC.api && PC.api.scenario) || "/api/scenario";
  var fmt = YZ.numberFormat(lang);
  var map = null;
  var state = { add: [], close: [], names: [], mode: "off", recLayer: null, scenLayer: null, gapsLayer: null, last: null,
                accepted: false, seq: 0, exactTimer: null };
  function planner() { return YZ.planner || {}; }
  function place(o) { return (lang === "en" ? o.place_en : o.place_zh) || ""; }
  function coords(lon, lat) { return Number(lon).toFixed(4) + ", " + Number(lat).toFixed(4); }

  YZ.onPlannerMap(function (m) { map = m; onMap(); });

  function plannerParams() {
    var p = {};
    var r = $("pl-radius"), ru = $("pl-rural"), h = $("pl-hour"), wd = $("pl-weekday");
    p.radius = r && r.value.trim() ? Number(r.value) : 1000;
    if (ru && ru.value.trim()) p.rural_radius = Number(ru.value);
    if (h && h.value !== "") p.hour = Number(h.value);
    if (wd && wd.value !== "") p.weekday = Number(wd.value);
    if (document.body.dataset.demand) p.demand = document.body.dataset.demand;  // the planner's uploaded demand set
    if (document.body.dataset.distance === "network") p.distance = "network";  // on foot (network.js, issue 13)
    var scen = planner().scenario ? planner().scenario() : null;
    if (scen) p.scenario = scen;  // the accepted scenario is the working baseline of what follows
    return p;
  }
  // the panel's status, and the same words beside the map (visible without scrolling) for what a click did
  function setStatus(state_, text, onMap) {
    var s = $("wi-status"); s.dataset.state = state_; s.textContent = text || "";
    if (onMap && planner().note) planner().note(text, state_);
  }

  // ---------------------------------------------------------------------------------------- panel

  function buildPanel() {
    var style = el("style");
    style.textContent = ".wi-panel{border:1px solid #cdd7e1;border-radius:4px;margin:10px 0;padding:6px 10px;font-size:.9rem}" +
      ".wi-panel h2{font-size:1rem;margin:4px 0 6px}.wi-row{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:flex-end;margin:4px 0}" +
      ".wi-row label{display:flex;flex-direction:column;font-size:.85rem}.wi-row input{width:6.5em;padding:3px 5px}" +
      ".wi-list{max-height:22vh;overflow:auto;margin:4px 0;padding-left:0;list-style:none;font-size:.82rem}" +
      ".wi-list li{display:flex;justify-content:space-between;gap:6px;border-bottom:1px solid #eee;padding:1px 2px}" +
      ".wi-list button{font-size:.75rem;padding:0 4px}.wi-figs{font-weight:600;margin:4px 0}" +
      ".wi-status{min-height:1.1em;color:#555;font-size:.85rem}.wi-status[data-state=error]{color:#b00020}" +
      ".wi-modes button[aria-pressed=true]{background:#1f5fa8;color:#fff}.wi-row select{padding:2px 4px}" +
      ".wi-row input#wi-hours-text{width:13em}.wi-row input[aria-invalid=true]{border-color:#b00020;outline:1px solid #b00020}" +
      ".wi-hours-tag{color:#555;font-size:.75rem;margin-left:4px}.wi-note{font-size:.78rem;color:#666}" +
      ".wi-table{border-collapse:collapse;font-size:.78rem;width:100%}.wi-table td,.wi-table th{padding:1px 4px;text-align:right;border-bottom:1px solid #eee}" +
      ".wi-table td:first-child,.wi-table th:first-child{text-align:left}.wi-site{background:#fff;border:2px solid #d7301f;border-radius:50%;" +
      "color:#d7301f;font:700 10px/16px sans-serif;text-align:center;width:16px;height:16px}";
    document.head.appendChild(style);
    var sec = el("section", { id: "wi-panel", "class": "wi-panel", "aria-label": T.title });
    sec.appendChild(el("h2", null, T.title));
    var row = el("div", { "class": "wi-row" });
    var l1 = el("label", null, T.n); var n = el("input", { id: "wi-n", type: "number", min: "0", max: "500", step: "1", value: "20" }); l1.appendChild(n);
    var l2 = el("label", null, T.target); var t = el("input", { id: "wi-target", type: "number", min: "1", max: "100", step: "0.5", placeholder: "—" }); l2.appendChild(t);
    var go = el("button", { id: "wi-recommend", type: "button", "class": "primary" }, T.recommend);
    row.appendChild(l1); row.appendChild(l2); row.appendChild(go);
    sec.appendChild(row);
    var ex = el("div", { "class": "wi-row wi-exact" });
    var exl = el("label", { "class": "wi-check" });
    exl.appendChild(el("input", { id: "wi-exact", type: "checkbox" }));
    exl.appendChild(document.createTextNode(" " + P.exact_box));
    ex.appendChild(exl);
    var exs = el("label", null, P.exact_budget);
    exs.appendChild(el("input", { id: "wi-exact-seconds", type: "number", min: "1", max: "20", step: "1", value: "10" }));
    ex.appendChild(exs);
    ex.appendChild(el("progress", { id: "wi-exact-progress", max: "10", value: "0", hidden: "hidden" }));
    sec.appendChild(ex);
    sec.appendChild(el("div", { id: "wi-compare", "class": "wi-compare" }));
    sec.appendChild(el("div", { id: "wi-rec-summary", "class": "wi-figs" }));
    sec.appendChild(el("ol", { id: "wi-sites", "class": "wi-list" }));
    var row2 = el("div", { "class": "wi-row" });
    row2.appendChild(el("button", { id: "wi-use", type: "button", disabled: "disabled" }, T.useSites));
    var dl = el("span", { id: "wi-downloads" });
    row2.appendChild(dl);
    sec.appendChild(row2);

    sec.appendChild(el("h2", null, T.scenario));
    var modes = el("div", { "class": "wi-row wi-modes" });
    modes.appendChild(el("button", { id: "wi-mode-add", type: "button", "aria-pressed": "false" }, T.addMode));
    modes.appendChild(el("button", { id: "wi-mode-close", type: "button", "aria-pressed": "false" }, T.closeMode));
    sec.appendChild(modes);
    var hrow = el("div", { "class": "wi-row wi-hours" });
    var hl = el("label", null, T.hours);
    var hs = el("select", { id: "wi-hours" });
    // option values are opening-hours text for the server's parser (stations.hours.parse_hours); labels translated
    [["", T.hours24], ["08:00-20:00", T.hoursDay], ["Mo-Fr 09:00-17:00", T.hoursOffice], ["other", T.hoursOther]]
      .forEach(function (o) { hs.appendChild(el("option", { value: o[0] }, o[1])); });
    hl.appendChild(hs);
    hrow.appendChild(hl);
    var ht = el("input", { id: "wi-hours-text", type: "text", maxlength: "200", placeholder: T.hoursPlaceholder, "aria-label": T.hours, hidden: "hidden" });
    hrow.appendChild(ht);
    sec.appendChild(hrow);
    sec.appendChild(el("div", { id: "wi-figs", "class": "wi-figs" }));
    sec.appendChild(el("div", null, T.added + ":"));
    sec.appendChild(el("ul", { id: "wi-added", "class": "wi-list" }));
    sec.appendChild(el("div", null, T.closed + ":"));
    sec.appendChild(el("ul", { id: "wi-closed", "class": "wi-list" }));
    var tw = el("div", { "class": "wi-table-wrap" });
    tw.appendChild(el("table", { id: "wi-pref", "class": "wi-table" }));
    sec.appendChild(tw);
    var row3 = el("div", { "class": "wi-row" });
    row3.appendChild(el("button", { id: "wi-accept", type: "button", disabled: "disabled" }, T.accept));
    row3.appendChild(el("button", { id: "wi-discard", type: "button", disabled: "disabled" }, T.discard));
    row3.appendChild(el("button", { id: "wi-export", type: "button", disabled: "disabled" }, T.exportPlan));
    sec.appendChild(row3);
    sec.appendChild(el("div", { id: "wi-status", "class": "wi-status", role: "status", "aria-live": "polite", "data-state": "idle" }));
    sec.appendChild(el("p", { "class": "wi-note" }, T.noWrite));

    // after the figures, table and gaps (the page's #pl-tools), so that they come first on a desktop
    var slot = $("pl-tools");
    if (slot) slot.appendChild(sec);
    else (document.querySelector(".pl-panel") || document.body).appendChild(sec);

    go.addEventListener("click", recommend);
    $("wi-use").addEventListener("click", useSites);
    $("wi-mode-add").addEventListener("click", function () { setMode(state.mode === "add" ? "off" : "add"); });
    $("wi-mode-close").addEventListener("click", function () { setMode(state.mode === "close" ? "off" : "close"); });
    $("wi-accept").addEventListener("click", accept);
    $("wi-discard").addEventListener("click", discard);
    $("wi-export").addEventListener("click", exportPlan);
    hs.addEventListener("change", function () {
      ht.hidden = hs.value !== "other";
      if (!ht.hidden) ht.focus();
      ht.removeAttribute("aria-invalid");
    });
    ht.addEventListener("input", function () { ht.removeAttribute("aria-invalid"); });
    // the scenario follows the planner's hour, day and radius
    ["pl-hour", "pl-weekday", "pl-radius", "pl-rural"].forEach(function (id) {
      var x = $(id);
      if (x) x.addEventListener("change", function () { if (state.add.length || state.close.length) changed(); });
    });
    renderScenario();
  }

  function setMode(m) {
    state.mode = m;
    $("wi-mode-add").setAttribute("aria-pressed", String(m === "add"));
    $("wi-mode-close").setAttribute("aria-pressed", String(m === "close"));
    if (map) map.getContainer().style.cursor = m === "off" ? "" : "crosshair";
    $("wi-panel").dataset.mode = m;
    if (planner().clusterZoom) planner().clusterZoom(m === "off");
    if (m !== "off") setStatus("idle", m === "add" ? T.addMode : T.closeMode, true);
  }

  // ---------------------------------------------------------------------------------------- recommend

  function recommend() {
    var p = plannerParams();
    var target = $("wi-target").value.trim();
    if (target) p.target_pct = target; else p.n = $("wi-n").value.trim() || "20";
    var exact = $("wi-exact").checked;
    var budget = Math.max(1, Math.min(20, Number($("wi-exact-seconds").value) || 10));
    if (exact) { p.exact = 1; p.exact_seconds = budget; }
    setStatus("loading", T.computing);
    $("wi-recommend").disabled = true;
    $("wi-compare").replaceChildren();
    if (exact) startProgress(budget);
    var q = query(p);
    return fetchJSON(API.recommend + "?" + q).then(function (fc) {
      state.last = fc;
      drawSites(fc);
      renderCompare(fc, exact);
      var s = T.before + " " + fmt(fc.before.covered_pct, 2) + "% → " + T.after + " " + fmt(fc.after.covered_pct, 2) + "% (+" +
        fmt(fc.after.workers_covered - fc.before.workers_covered) + " " + T.workers + ", " + fc.features.length + " " + T.sitesUnit + ")";
      if (fc.lower_bound_sites !== undefined && fc.lower_bound_sites !== null) s += " · " + T.lowerBound + " " + fc.lower_bound_sites + " " + T.sitesUnit;
      $("wi-rec-summary").textContent = s;
      var list = $("wi-sites");
      list.replaceChildren();
      fc.features.forEach(function (f) {
        var pr = f.properties;
        var li = el("li", { "data-rank": pr.rank });
        // named by place (county and nearest town, place_zh / place_en); the coordinates second
        var name = el("span", { "class": "wi-place" }, "#" + pr.rank + " " + (place(pr) || pr.county_adcode || ""));
        name.appendChild(el("small", { "class": "wi-coords" }, coords(pr.lon, pr.lat)));
        li.appendChild(name);
        li.appendChild(el("span", null, "+" + fmt(pr.gain_workers) + " · " + fmt(pr.cumulative_pct, 2) + "%"));
        li.addEventListener("click", function () { map.setView([pr.lat, pr.lon], Math.max(map.getZoom(), 13)); });
        list.appendChild(li);
      });
      $("wi-use").disabled = fc.features.length === 0;
      var dl = $("wi-downloads");
      dl.replaceChildren(document.createTextNode(T.download + ": "));
      ["csv", "xlsx", "geojson", "gpkg"].forEach(function (f) {
        dl.appendChild(el("a", { href: API.download.replace("__FMT__", f) + "?" + q, download: "", "class": "wi-dl" }, f.toUpperCase()));
        dl.appendChild(document.createTextNode(" "));
      });
      dl.appendChild(el("a", { href: API.curve + "?" + q, target: "_blank", rel: "noopener" }, T.curve));
      $("wi-panel").dataset.sites = String(fc.features.length);
      setStatus("ready", "");
    }).catch(function (err) { setStatus("error", T.failed + ": " + err.message); })
      .finally(function () { $("wi-recommend").disabled = false; stopProgress(); });
  }

  // the exact solver's progress: seconds spent of its budget (HiGHS stops at the budget with its best answer)
  function startProgress(budget) {
    var bar = $("wi-exact-progress"), t0 = Date.now();
    bar.max = budget; bar.value = 0; bar.hidden = false;
    $("wi-panel").dataset.exact = "running";
    var tick = function () {
      var s = Math.min(budget, (Date.now() - t0) / 1000);
      bar.value = s;
      $("wi-status").textContent = YZ.interpolate(P.solving, { s: s.toFixed(0), max: budget });
    };
    tick();
    state.exactTimer = setInterval(tick, 250);
  }
  function stopProgress() {
    if (state.exactTimer) { clearInterval(state.exactTimer); state.exactTimer = null; }
    $("wi-exact-progress").hidden = true;
  }

  // the greedy(+swap) answer beside the exact one, and the optimality gap when the exact solver stopped
  function renderCompare(fc, exact) {
    var box = $("wi-compare");
    box.replaceChildren();
    if (fc.mode !== "max-cover") { if (exact) $("wi-panel").dataset.exact = "done"; return; }
    var heur = fc.swap_objective !== undefined && fc.swap_objective !== null ? fc.swap_objective : fc.greedy_objective;
    var t = el("table", { "class": "wi-table", id: "wi-compare-table" });
    var head = el("tr");
    ["", "+" + T.workers, "s"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(head);
    var row = function (label, value, secs, key) {
      var tr = el("tr", { "data-method": key });
      tr.appendChild(el("td", null, label)); tr.appendChild(el("td", null, fmt(value)));
      tr.appendChild(el("td", null, secs === null || secs === undefined ? "–" : fmt(secs, 2)));
      t.appendChild(tr);
    };
    row(P.heuristic, heur, (fc.greedy_time_s || 0) + (fc.swap_time_s || 0), "heuristic");
    if (exact) {
      if (fc.exact_objective !== undefined && fc.exact_objective !== null) {
        var optimal = fc.exact_status === "optimal";
        row(P.exact + " (" + (optimal ? P.proven : /time/i.test(fc.exact_status || "") ? P.time_limit : fc.exact_status) + ")",
          fc.exact_objective, fc.exact_time_s, "exact");
        var best = Math.max(heur, fc.exact_objective);
        var ub = fc.exact_upper_bound !== undefined && fc.exact_upper_bound !== null ? fc.exact_upper_bound : best;
        var gapHeur = ub > 0 ? 100 * (ub - heur) / ub : 0;
        var gapBound = ub > 0 ? 100 * (ub - best) / ub : 0;
        var p = el("p", { id: "wi-gap", "class": "wi-figs" }, P.opt_gap + ": " + P.heuristic + " " + fmt(gapHeur, 2) + "%" +
          " · " + P.exact + " " + (optimal ? P.proven : fmt(gapBound, 2) + "% " + P.bound_gap));
        box.appendChild(t);
        box.appendChild(p);
        $("wi-panel").dataset.gap = String(gapHeur);
      } else {
        box.appendChild(t);
        box.appendChild(el("p", { id: "wi-gap", "class": "wi-note" }, P.not_run + (fc.exact_status ? ": " + fc.exact_status : "")));
      }
      $("wi-panel").dataset.exact = "done";
    } else {
      box.appendChild(t);
    }
  }

  function drawSites(fc) {
    if (!map) return;
    if (state.recLayer) map.removeLayer(state.recLayer);
    state.recLayer = L.layerGroup();
    fc.features.forEach(function (f) {
      var pr = f.properties;
      var m = L.marker([pr.lat, pr.lon], { icon: L.divIcon({ className: "wi-site", html: String(pr.rank), iconSize: [16, 16] }), keyboard: false });
      m.bindTooltip(el("span", null, "#" + pr.rank + " " + place(pr) + " (" + coords(pr.lon, pr.lat) + ") · " + T.gain + " " +
        fmt(pr.gain_workers) + " " + T.workers + " · " + T.cum + " " + fmt(pr.cumulative_pct, 2) + "%"));
      m.on("click", onMapClick);  // in add / close mode a click on a site counts as a click on the map
      m.addTo(state.recLayer);
    });
    state.recLayer.addTo(map);
    if (fc.features.length) {
      try { map.fitBounds(L.latLngBounds(fc.features.map(function (f) { return [f.properties.lat, f.properties.lon]; })), { padding: [30, 30], maxZoom: 12 }); } catch (e) { /* one point */ }
    }
  }

  // the opening hours chosen for the next hypothetical station: text for the API's parser, null = 24 hours
  function chosenHours() {
    var s = $("wi-hours");
    if (!s || s.value === "") return null;
    if (s.value !== "other") return s.value;
    var v = $("wi-hours-text").value.trim();
    return v || null;
  }

  function hoursLabel(h) {  // a preset's label in the page's language; typed text as typed
    if (!h) return T.hours24;
    var s = $("wi-hours"), out = h;
    if (s) Array.prototype.forEach.call(s.options, function (o) { if (o.value === h) out = o.textContent; });
    return out;
  }

  function useSites() {
    if (!state.last) return;
    // recommended sites are measured as 24-hour stations, so they join the scenario as such
    state.last.features.forEach(function (f) {
      state.add.push([f.properties.lon, f.properties.lat, null]);
      state.names.push({ place_zh: f.properties.place_zh, place_en: f.properties.place_en });
    });
    changed();
  }

  // ---------------------------------------------------------------------------------------- scenario

  function onMapClick(e) {
    if (state.mode === "add") {
      addAt(e.latlng);
    } else if (state.mode === "close") {
      var q = query({ lat: e.latlng.lat.toFixed(6), lon: e.latlng.lng.toFixed(6), k: 10, max_km: 3, lang: lang });
      fetchJSON(API.nearest + "?" + q).then(function (fc) {
        var hit = null;
        (fc.features || []).some(function (f) {
          if (f.properties.status === "open" && !state.close.some(function (c) { return c.id === f.properties.id; })) { hit = f; return true; }
          return false;
        });
        if (!hit) { setStatus("error", T.noStation, true); return; }
        closeStation({ id: hit.properties.id, name: hit.properties.name, lon: hit.geometry.coordinates[0], lat: hit.geometry.coordinates[1] });
      }).catch(function (err) { setStatus("error", T.failed + ": " + err.message, true); });
    }
  }

  function addAt(latlng) {
    state.add.push([Math.round(latlng.lng * 1e6) / 1e6, Math.round(latlng.lat * 1e6) / 1e6, chosenHours()]);
    state.names.push(null);  // named by the server's answer (place_zh / place_en)
    setStatus("loading", P.added_now + " " + state.add.length + " · " + coords(latlng.lng, latlng.lat), true);
    changed();
  }
  function closeStation(st) {
    if (state.close.some(function (c) { return c.id === st.id; })) return;
    state.close.push({ id: st.id, name: st.name, lon: st.lon, lat: st.lat });
    setStatus("loading", P.closed_now + ": " + (st.name || "") + " (" + st.id + ")", true);
    changed();
  }
  // a click on a drawn station (planner.js): in close mode it closes that very station, in add mode it adds there
  function onStation(st, latlng) {
    if (state.mode === "close") { closeStation(st); return true; }
    if (state.mode === "add") { addAt(latlng); return true; }
    return false;
  }

  function renderScenario() {
    var ul = $("wi-added"); ul.replaceChildren();
    state.add.forEach(function (p, i) {
      var nm = state.names[i] ? place(state.names[i]) : "";
      var li = el("li"); var sp = el("span", { "class": "wi-place" }, "+" + (i + 1) + "  " + nm);
      sp.appendChild(el("small", { "class": "wi-coords" }, coords(p[0], p[1])));
      sp.appendChild(el("span", { "class": "wi-hours-tag" }, hoursLabel(p[2])));
      li.appendChild(sp);
      var b = el("button", { type: "button", "aria-label": T.remove }, "×");
      b.addEventListener("click", function () { state.add.splice(i, 1); changed(); });
      li.appendChild(b); ul.appendChild(li);
    });
    if (!state.add.length) ul.appendChild(el("li", null, T.none));
    var uc = $("wi-closed"); uc.replaceChildren();
    state.close.forEach(function (c, i) {
      var li = el("li"); li.appendChild(el("span", null, c.id + " " + (c.name || "")));
      var b = el("button", { type: "button", "aria-label": T.remove }, "×");
      b.addEventListener("click", function () { state.close.splice(i, 1); changed(); });
      li.appendChild(b); uc.appendChild(li);
    });
    if (!state.close.length) uc.appendChild(el("li", null, T.none));
    var any = state.add.length + state.close.length > 0;
    $("wi-accept").disabled = !any || state.accepted;
    $("wi-discard").disabled = !any;
    $("wi-export").disabled = !any;
    $("wi-panel").dataset.added = String(state.add.length);
    $("wi-panel").dataset.closed = String(state.close.length);
    if (!map) return;
    if (state.scenLayer) map.removeLayer(state.scenLayer);
    state.scenLayer = L.layerGroup();
    state.add.forEach(function (p, i) {
      L.circleMarker([p[1], p[0]], { radius: 7, color: "#fff", weight: 2, fillColor: "#1a9641", fillOpacity: 1 })
        .bindTooltip(el("span", null, T.added + " " + (i + 1) + " · " + (state.names[i] ? place(state.names[i]) + " · " : "") +
          coords(p[0], p[1]) + " · " + hoursLabel(p[2]))).addTo(state.scenLayer);
      L.circle([p[1], p[0]], { radius: plannerParams().radius, color: "#1a9641", weight: 1, fill: false, interactive: false }).addTo(state.scenLayer);
    });
    state.close.forEach(function (c) {
      L.circleMarker([c.lat, c.lon], { radius: 7, color: "#000", weight: 2, fillColor: "#777", fillOpacity: 1 })
        .bindTooltip(el("span", null, T.closed + ": " + c.id + " " + (c.name || ""))).addTo(state.scenLayer);  // text, never HTML
    });
    state.scenLayer.addTo(map);
  }

  function changed() {
    state.accepted = false;
    renderScenario();
    if (!state.add.length && !state.close.length) { clearFigures(); return; }
    var body = plannerParams();
    body.add = state.add.map(function (p) { return p[2] ? [p[0], p[1], p[2]] : [p[0], p[1]]; });
    body.close = state.close.map(function (c) { return c.id; });
    var seq = ++state.seq;
    setStatus("loading", T.computing);
    return fetchJSON(API.whatif, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        if (seq !== state.seq) return;
        if (planner().hideGaps) planner().hideGaps(true);  // the what-if's gaps replace the page's; its checkbox stays
        (r.added || []).forEach(function (a, i) { if (i < state.names.length) state.names[i] = a; });
        renderScenario();
        var d = r.after.workers_covered - r.before.workers_covered;
        $("wi-figs").textContent = T.before + " " + fmt(r.before.covered_pct, 2) + "% → " + T.after + " " + fmt(r.after.covered_pct, 2) + "% (" +
          (d >= 0 ? "+" : "") + fmt(d) + " " + T.workers + ")";
        $("wi-panel").dataset.afterPct = String(r.after.covered_pct);
        $("wi-panel").dataset.beforePct = String(r.before.covered_pct);
        renderPrefectures(r.prefectures);
        if (state.gapsLayer) map.removeLayer(state.gapsLayer);
        state.gapsLayer = L.geoJSON(r.gaps, { style: { color: "#7a0177", weight: 1.2, fillColor: "#c51b8a", fillOpacity: 0.55 },
          onEachFeature: function (f, layer) { layer.bindTooltip("#" + f.properties.rank + " · " + fmt(f.properties.uncovered_workers) + " " + T.workers, { sticky: true }); } }).addTo(map);
        var last = $("wi-status").textContent;
        setStatus("ready", "");
        if (planner().note) planner().note((last && last !== T.computing ? last + " → " : "") + $("wi-figs").textContent, "ready");
      }).catch(function (err) {
        if (seq !== state.seq) return;
        var m = err.parameter === "add" && /add\[(\d+)\]/.exec(err.message || "");
        if (m && state.add[Number(m[1])] && state.add[Number(m[1])][2]) {
          // unreadable opening hours: drop that station, say why, and mark the hours field
          state.add.splice(Number(m[1]), 1);
          state.names.splice(Number(m[1]), 1);
          var ht = $("wi-hours-text");
          if (ht && !ht.hidden) ht.setAttribute("aria-invalid", "true");
          renderScenario();
          if (!state.add.length && !state.close.length) clearFigures();
          setStatus("error", T.badHours + ": " + err.message);
          $("wi-panel").dataset.hoursError = "1";
          return;
        }
        setStatus("error", T.failed + ": " + err.message, true);
      });
  }

  function renderPrefectures(rows) {
    var t = $("wi-pref"); t.replaceChildren();
    var head = el("tr");
    [T.prefecture, T.before + " %", T.after + " %", T.delta].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(head);
    rows.filter(function (r) { return r.covered_after !== r.covered_before || r.stations_after !== r.stations_before; })
      .sort(function (a, b) { return Math.abs(b.covered_after - b.covered_before) - Math.abs(a.covered_after - a.covered_before); })
      .forEach(function (r) {
        var tr = el("tr", { "data-adcode": r.adcode });
        tr.appendChild(el("td", null, lang === "en" ? (r.name_en || r.name) : r.name));
        tr.appendChild(el("td", null, fmt(r.covered_pct_before, 1)));
        tr.appendChild(el("td", null, fmt(r.covered_pct_after, 1)));
        var d = r.covered_after - r.covered_before;
        tr.appendChild(el("td", null, (d >= 0 ? "+" : "") + fmt(d)));
        t.appendChild(tr);
      });
  }

  function clearFigures() {
    $("wi-figs").textContent = "";
    $("wi-pref").replaceChildren();
    if (state.gapsLayer && map) { map.removeLayer(state.gapsLayer); state.gapsLayer = null; }
    if (planner().hideGaps) planner().hideGaps(false);
    delete $("wi-panel").dataset.afterPct;
  }

  // accept: the scenario (on top of an accepted one, if any) becomes the page's working baseline (webmap.state keeps
  // it for this session); its edits are then part of the baseline, so the lists empty
  function accept() {
    var body = {
      add: state.add.map(function (p) { return p[2] ? [p[0], p[1], p[2]] : [p[0], p[1]]; }),
      close: state.close.map(function (c) { return c.id; }),
      scenario: planner().scenario ? planner().scenario() : null
    };
    setMode("off");
    setStatus("loading", T.computing);
    $("wi-accept").disabled = true;
    return fetchJSON(API_SCENARIO, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body) }).then(function (r) {
      state.add = []; state.close = []; state.names = []; state.seq++;
      state.accepted = true;
      clearFigures();
      renderScenario();
      var done = planner().setScenario ? planner().setScenario({ id: r.scenario, added: r.added.length, closed: r.close.length }) : null;
      $("wi-panel").dataset.scenario = r.scenario;
      setStatus("accepted", P.accepted || T.accepted, true);
      var banner = $("pl-scenario");
      if (banner && banner.scrollIntoView) banner.scrollIntoView({ block: "nearest" });
      return done;
    }).catch(function (err) {
      $("wi-accept").disabled = false;
      setStatus("error", T.failed + ": " + err.message, true);
    });
  }

  function discard() {
    state.add = []; state.close = []; state.names = []; state.accepted = false; state.seq++;
    setMode("off");
    renderScenario();
    clearFigures();
    setStatus("discarded", T.discarded);
  }

  function exportPlan() {
    var feats = state.add.map(function (p, i) {
      var nm = state.names[i] || {};
      return { type: "Feature", properties: { action: "add", n: i + 1, name_zh: nm.place_zh || null, name_en: nm.place_en || null,
        opening_hours: p[2] || "24/7", scenario: planner().scenario ? planner().scenario() : null },
        geometry: { type: "Point", coordinates: [p[0], p[1]] } };
    }).concat(state.close.map(function (c) {
      return { type: "Feature", properties: { action: "close", id: c.id, name: c.name }, geometry: { type: "Point", coordinates: [c.lon, c.lat] } };
    }));
    var blob = new Blob([JSON.stringify({ type: "FeatureCollection", features: feats })], { type: "application/geo+json" });
    var scen = planner().scenario ? planner().scenario() : null;
    var a = el("a", { href: URL.createObjectURL(blob), download: (scen ? "scenario-" + scen + "-" : "") + "whatif-plan.geojson" });
    document.body.appendChild(a); a.click(); a.remove();
  }

  function onMap() {
    map.on("click", onMapClick);
    if (YZ.planner) {
      YZ.planner.onStation = onStation;
      YZ.planner.clickTakesStations = function () { return state.mode !== "off"; };
    }
    document.addEventListener("yz:scenario-reset", function () {
      $("wi-panel").dataset.scenario = "";
      state.accepted = false;
      renderScenario();
      setStatus("idle", P.back || "", true);
    });
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", buildPanel); else buildPanel();
  }
})();
