/* Planner page, issue 13: the street network. Loaded by planner.html after planner.js, fills #pl-network:
   - without a network: the note "直线距离：未加载街道网络" (straight-line distances);
   - with one: a distance chooser (straight line / 15 minutes' walk on streets), which sets
     document.body.dataset.distance (planner.js and whatif.js add distance=network to their requests) and the
     radius (1,125 m on foot, 1,000 m straight) and recomputes; an isochrone layer (5/10/15 minutes) for the
     station nearest to a map click, with its legend and downloads (GeoJSON, GeoPackage); the network's
     attribution. Text goes in with textContent only; no inline handlers (CSP). No external requests. */
(function () {
  "use strict";
  var YZ = window.YZ;
  var $ = YZ.$, el = YZ.el, getJSON = YZ.getJSON;
  var me = document.currentScript;
  var API = { network: me.dataset.network, isochrones: me.dataset.isochrones, nearest: me.dataset.nearest,
              coverage: me.dataset.coverage };
  var box = $("pl-network");
  if (!box) return;
  var cfg = YZ.readJSON("pl-config") || {};
  var en = cfg.lang === "en";
  var T = en ? {
    distance: "Distance", straight: "Straight line", walk: "15 minutes' walk (street network)",
    iso: "Isochrones: click the map for the nearest station's 5 / 10 / 15-minute walk",
    min: "min walk", loading: "Walking areas…", failed: "Could not draw the walking areas",
    download: "Download", of: "of", hourAll: "every station open at the hour (GeoJSON)",
    compare: "Workers covered: straight line {s}% · on foot {n}% (straight lines overstate by {pp} points)"
  } : {
    distance: "距离", straight: "直线距离", walk: "15分钟步行（街道网络）",
    iso: "等时圈：点击地图，显示最近驿站步行 5 / 10 / 15 分钟范围",
    min: "分钟步行", loading: "正在计算步行范围…", failed: "无法绘制步行范围",
    download: "下载", of: "：", hourAll: "该时刻所有开放驿站（GeoJSON）",
    compare: "覆盖劳动者：直线 {s}% · 步行 {n}%（直线高估 {pp} 个百分点）"
  };
  var BANDS = { 5: "#08519c", 10: "#3182bd", 15: "#9ecae1" };
  var map = null, layer = null, isoOn = false, compareSeq = 0;

  function colour(m) { return BANDS[m] || "#6baed6"; }
  function setDistance(kind) {
    document.body.dataset.distance = kind;
    var r = $("pl-radius");
    if (r) {
      r.value = kind === "network" ? "1125" : "1000";
      r.dispatchEvent(new Event("change"));  // planner.js recomputes (and whatif.js follows the radius)
    }
  }
  function legend(host) {
    var ul = el("ul", { class: "pl-net-legend" });
    ul.style.listStyle = "none"; ul.style.padding = "0"; ul.style.margin = "4px 0";
    [5, 10, 15].forEach(function (m) {
      var sw = el("span", { class: "pl-net-swatch" });
      sw.style.display = "inline-block"; sw.style.width = "14px"; sw.style.height = "10px"; sw.style.marginRight = "6px";
      sw.style.background = colour(m); sw.style.opacity = "0.6";
      ul.appendChild(el("li", {}, [sw, m + " " + T.min]));
    });
    host.appendChild(ul);
  }
  function clearLayer() { if (layer && map) { map.removeLayer(layer); } layer = null; }
  function showIsochrones(id, name) {
    var st = $("pl-net-iso-status");
    st.textContent = T.loading;
    var q = "?id=" + encodeURIComponent(id) + "&minutes=5,10,15&lang=" + (en ? "en" : "zh");
    return getJSON(API.isochrones + q).then(function (fc) {
      clearLayer();
      var feats = fc.features.slice().sort(function (a, b) { return b.properties.minutes - a.properties.minutes; });
      layer = L.geoJSON({ type: "FeatureCollection", features: feats }, {
        pane: "plLayers", interactive: false,
        style: function (f) { var c = colour(f.properties.minutes); return { color: c, weight: 1, fillColor: c, fillOpacity: 0.35 }; }
      }).addTo(map);
      try { map.fitBounds(layer.getBounds(), { maxZoom: 15, padding: [20, 20] }); } catch (e) { /* empty */ }
      st.textContent = name + " · " + fc.features.map(function (f) {
        return f.properties.minutes + " " + T.min + " " + f.properties.area_km2.toFixed(2) + " km²";
      }).join(" · ");
      var dl = $("pl-net-downloads");
      dl.textContent = T.download + T.of + " ";
      ["geojson", "gpkg"].forEach(function (fmt) {
        dl.appendChild(el("a", { href: API.isochrones + "." + fmt + q, download: "", class: "pl-dl pl-net-dl", text: fmt.toUpperCase() }));
        dl.appendChild(document.createTextNode(" "));
      });
      var h = $("pl-hour");
      if (h && h.value !== "") {
        var wd = $("pl-weekday");
        dl.appendChild(el("a", { href: API.isochrones + ".geojson?hour=" + h.value + "&weekday=" + (wd ? wd.value : "2"),
          download: "", class: "pl-dl pl-net-dl-all", text: T.hourAll }));
      }
      document.body.dataset.isochrones = id;
    }).catch(function (err) { st.textContent = T.failed + ": " + err.message; document.body.dataset.isochrones = "error"; });
  }
  function onClick(e) {
    if (!isoOn) return;
    var q = "?lat=" + e.latlng.lat.toFixed(6) + "&lon=" + e.latlng.lng.toFixed(6) + "&k=1";
    getJSON(API.nearest + q).then(function (fc) {
      if (!fc.features.length) return;
      var p = fc.features[0].properties;
      return showIsochrones(p.id, p.name);
    });
  }
  /* straight line vs on foot for the planner's current question (the province row of /api/coverage's side_by_side) */
  function compare() {
    var out = $("pl-net-compare"), st = $("pl-status");
    if (!out || !st || st.dataset.state !== "ready") return;
    var q = { by: "province", radius: $("pl-radius").value, rural_radius: $("pl-rural").value, hour: $("pl-hour").value,
              weekday: $("pl-weekday").value, demand: document.body.dataset.demand || "", distance: document.body.dataset.distance };
    var seq = ++compareSeq;
    getJSON(API.coverage + "?" + YZ.query(q)).then(function (body) {
      if (seq !== compareSeq) return;  // a newer question was asked meanwhile
      var r = (body.side_by_side || [])[0];
      if (!r) { out.textContent = ""; return; }
      var f = function (v) { return v === null || v === undefined ? "–" : Number(v).toFixed(1); };
      out.textContent = T.compare.replace("{s}", f(r.covered_pct_straight)).replace("{n}", f(r.covered_pct_network))
        .replace("{pp}", f(r.overstatement_pp));
      out.dataset.overstatement = String(r.overstatement_pp);
    }).catch(function () { out.textContent = ""; });
  }
  function build(info) {
    box.textContent = "";
    document.body.dataset.network = info.loaded ? "loaded" : "none";
    if (!info.loaded) {
      box.appendChild(el("p", { class: "pl-note pl-net-status", text: info.status }));
      return;
    }
    var fs = el("fieldset", { class: "pl-layers pl-net" });
    fs.appendChild(el("legend", { text: T.distance }));
    [["straight", T.straight], ["network", T.walk]].forEach(function (pair) {
      var input = el("input", { type: "radio", name: "pl-distance", value: pair[0], id: "pl-distance-" + pair[0] });
      if (pair[0] === "straight") input.checked = true;
      input.addEventListener("change", function () { if (input.checked) setDistance(pair[0]); });
      fs.appendChild(el("label", {}, [input, " " + pair[1]]));
    });
    var iso = el("input", { type: "checkbox", id: "pl-net-iso" });
    iso.addEventListener("change", function () { isoOn = iso.checked; if (!isoOn) { clearLayer(); } });
    fs.appendChild(el("label", {}, [iso, " " + T.iso]));
    legend(fs);
    fs.appendChild(el("p", { id: "pl-net-iso-status", class: "pl-net-iso-status" }));
    fs.appendChild(el("p", { id: "pl-net-downloads", class: "pl-downloads" }));
    fs.appendChild(el("p", { id: "pl-net-compare", class: "pl-net-compare" }));
    fs.appendChild(el("p", { class: "pl-note pl-net-status", text: info.status }));
    fs.appendChild(el("p", { class: "pl-note pl-net-attribution", text: info.manifest.attribution }));
    box.appendChild(fs);
    YZ.onPlannerMap(function (m) { map = m; map.on("click", onClick); });
    // a click on a drawn station (planner.js stops it reaching the map) asks for that station's walk
    document.addEventListener("yz:planner-station", function (e) {
      if (isoOn && e.detail && e.detail.station && !e.detail.station.added) showIsochrones(e.detail.station.id, e.detail.station.name);
    });
    var st = $("pl-status");
    if (st && window.MutationObserver) {
      new MutationObserver(compare).observe(st, { attributes: true, attributeFilter: ["data-state"] });
    }
    compare();
  }
  document.body.dataset.distance = "straight";
  getJSON(API.network + "?lang=" + (en ? "en" : "zh")).then(build, function () { box.textContent = ""; });
})();
