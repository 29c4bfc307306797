/* Finder, issue 13 §3: walking on streets. Loaded by finder.html after finder.js, which calls
   YZ.onFinderResults(fc, origin, list) once it has listed the nearest stations.
   - With a street network (/api/nearest answers distance_kind "network"): each result shows its walk on
     streets (metres, minutes) and a "路线 / Route" button that draws the walking route (/api/route) on the map
     (in the tiles' datum: YZ.toDisplay) with its length and minutes; the network's attribution is shown.
     Offline (no signal, or the request gets no answer) the button says "离线时无法计算路线 / No route offline".
   - The station popup gets the same button (YZ.onFinderPopup, called by finder.js's popupContent) once a
     search was ranked on streets.
   - Without one: a plain note that distances are straight lines.
   Text goes in with textContent only; no inline handlers (CSP). No external requests. */
(function () {
  "use strict";
  var YZ = window.YZ;
  var el = YZ.el, getJSON = YZ.getJSON;
  var me = document.currentScript;
  var API = { route: me.dataset.route };
  var cfg = YZ.readJSON("yz-config") || {};
  var en = cfg.lang === "en";
  var T = en ? {
    route: "Route", onStreets: "{m} on streets · {min} min walk", ranked: "Ranked by walking distance on streets",
    straight: "Straight-line distances: no street network loaded", routeInfo: "Walking route: {m} · {min} min",
    noRoute: "No walking route", beyond: "walk not measured (far away)", offline: "No route offline"
  } : {
    route: "路线", onStreets: "街道步行 {m} · {min} 分钟", ranked: "按街道步行距离排序",
    straight: "直线距离：未加载街道网络", routeInfo: "步行路线：{m} · {min} 分钟",
    noRoute: "没有步行路线", beyond: "步行距离未计算（较远）", offline: "离线时无法计算路线"
  };
  var layer = null;

  function metres(m) { return m < 1000 ? Math.round(m / 10) * 10 + (en ? " m" : " 米") : (m / 1000).toFixed(1) + (en ? " km" : " 公里"); }
  function fill(t, v) { return t.replace("{m}", v.m).replace("{min}", v.min); }
  function clearRoute() { if (layer && window.YZ_MAP) { window.YZ_MAP.removeLayer(layer); } layer = null; }

  function note(list, fc) {
    var old = document.getElementById("walk-note");
    if (old) { old.remove(); }
    var walk = fc.distance_kind === "network";
    var p = el("p", { id: "walk-note", class: "walk-note", "data-kind": walk ? "network" : "straight",
                      text: walk ? T.ranked + (fc.attribution ? " · " + fc.attribution : "") : T.straight });
    p.style.fontSize = "0.8rem"; p.style.color = "#555"; p.style.margin = "2px 0 6px";
    list.parentNode.insertBefore(p, list);
  }

  function drawRoute(origin, p, info) {
    var q = "?from=" + origin.lon.toFixed(6) + "," + origin.lat.toFixed(6) + "&to=" + encodeURIComponent(p.id) +
            "&lang=" + (en ? "en" : "zh");
    if (navigator.onLine === false) {  // the route is worked out on the server: say so at once, ask nothing
      info.textContent = T.offline;
      document.body.dataset.route = "offline";
      return Promise.resolve();
    }
    info.textContent = "…";
    return getJSON(API.route + q).then(function (f) {
      clearRoute();
      var map = window.YZ_MAP;
      var lls = f.geometry.coordinates.map(function (c) { return YZ.toDisplay(c[0], c[1]); });
      layer = L.polyline(lls, { color: "#d7301f", weight: 5, opacity: 0.85, className: "walk-route" }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 17 });
      info.textContent = fill(T.routeInfo, { m: metres(f.properties.length_m), min: Math.ceil(f.properties.minutes) });
      document.body.dataset.route = p.id;
    }, function (err) {
      // no answer at all (fetch rejects with a TypeError: no signal, or the phone went offline meanwhile): say
      // offline, not "no route"
      var offline = navigator.onLine === false || err instanceof TypeError;
      info.textContent = offline ? T.offline : T.noRoute + (err && err.message ? ": " + err.message : "");
      document.body.dataset.route = offline ? "offline" : "error";
    }).catch(function (err) {
      info.textContent = T.noRoute + (err && err.message ? ": " + err.message : "");
      document.body.dataset.route = "error";
    });
  }

  /* the station popup (finder.js's popupContent): the same "路线 / Route" button once the last search was ranked
     on streets (a network is loaded) and there is a place to walk from */
  var lastKind = null;
  var lastWalk = {};  // station id -> its walk on streets in the last search (walk_m, walk_min)
  YZ.onFinderPopup = function (div, p, origin, onResize) {
    var actions = div.querySelector(".actions");
    if (lastKind !== "network" || !origin || !actions || !window.YZ_MAP || !p || !p.id) { return; }
    var walked = lastWalk[p.id];
    var dist = div.querySelector(".dist");
    if (walked && dist) {  // the walk measured on streets, not finder.js's straight-line guess
      dist.textContent = fill(T.onStreets, { m: metres(walked.walk_m), min: walked.walk_min });
      dist.classList.add("walk-streets");
    }
    var info = el("span", { class: "route-info" });
    var btn = el("button", { type: "button", class: "yz-btn route-btn", text: T.route });
    btn.addEventListener("click", function () {
      drawRoute(origin, p, info).then(function () {
        // the map fits the route; then the popup (which says the route's length) pans back into view
        if (!onResize) { return; }
        window.YZ_MAP.once("moveend", onResize);
        setTimeout(onResize, 600);  // in case the view did not move
      });
    });
    actions.insertBefore(btn, actions.firstChild);
    actions.appendChild(info);
  };

  YZ.onFinderResults = function (fc, origin, list) {
    lastKind = fc.distance_kind;
    clearRoute();
    delete document.body.dataset.route;
    note(list, fc);
    if (fc.distance_kind !== "network") { return; }
    var byId = {};
    fc.features.forEach(function (f) { byId[f.properties.id] = f.properties; });
    lastWalk = {};
    fc.features.forEach(function (f) {
      var q = f.properties;
      if (q.walk_m !== null && q.walk_m !== undefined) { lastWalk[q.id] = { walk_m: q.walk_m, walk_min: q.walk_min }; }
    });
    Array.prototype.forEach.call(list.querySelectorAll("li.result"), function (li) {
      var p = byId[li.getAttribute("data-id")];
      if (!p) { return; }
      var walk = el("p", { class: "walk-streets" });
      walk.style.margin = "2px 0";
      if (p.walk_m !== null && p.walk_m !== undefined) {
        walk.textContent = fill(T.onStreets, { m: metres(p.walk_m), min: p.walk_min });
        li.setAttribute("data-walk-m", String(p.walk_m));
        var guess = li.querySelector(".dist .walk");  // finder.js's "walk ~ n min (straight line)": measured now
        if (guess) { guess.remove(); }
      } else {
        walk.textContent = T.beyond;
      }
      var dist = li.querySelector(".dist");
      li.insertBefore(walk, dist ? dist.nextSibling : null);
      var actions = li.querySelector(".actions");
      if (actions && window.YZ_MAP && p.walk_m !== null && p.walk_m !== undefined) {
        var info = el("span", { class: "route-info" });
        var btn = el("button", { type: "button", class: "yz-btn route-btn", text: T.route });
        btn.addEventListener("click", function () { drawRoute(origin, p, info); });
        actions.insertBefore(btn, actions.firstChild);
        actions.appendChild(info);
      }
    });
  };
})();
