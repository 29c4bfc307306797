/* yizhan finder: clustered map of all stations + "nearest station" finder.
 *
 * Station text (names, addresses, hours, phone) is only ever put into the page with textContent or as
 * attribute values through the DOM, never through innerHTML, so a name such as
 * <img src=x onerror=alert(1)> shows as text.
 *
 * Coordinates from the API are WGS-84. When the tiles are drawn in GCJ-02 (Amap), everything is shifted
 * into GCJ-02 for display (toDisplay) and taps are shifted back (fromDisplay), with the vendored gcoord
 * package (the same published formula as stations/coords.py). Shared helpers come from common.js (window.YZ).
 */
(function () {
  'use strict';

  var YZ = window.YZ;
  var $ = YZ.$, el = YZ.el, fmt = YZ.interpolate, query = YZ.query, getJSON = YZ.getJSON;
  var cfg = YZ.readJSON('yz-config');
  var S = cfg.strings;
  var map = window.YZ_MAP;
  // Leaflet's default attribution prefix carries a national flag; keep the plain credit
  if (map.attributionControl) { map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>'); }
  var SVGNS = 'http://www.w3.org/2000/svg';

  /* ------------------------------------------------------------------ datums */
  // (lon, lat) in degrees -> [lon, lat]; outside China nothing moves (gcoord's box, the same as stations/coords.py)
  function wgsToGcj(lon, lat) { return gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02); }
  function gcjToWgs(lon, lat) { return gcoord.transform([lon, lat], gcoord.GCJ02, gcoord.WGS84); }
  var gcj = cfg.crs === 'gcj02';
  function toDisplay(lon, lat) {
    if (gcj) { var g = wgsToGcj(lon, lat); return L.latLng(g[1], g[0]); }
    return L.latLng(lat, lon);
  }
  function fromDisplay(latlng) {
    if (gcj) { var w = gcjToWgs(latlng.lng, latlng.lat); return { lon: w[0], lat: w[1] }; }
    return { lon: latlng.lng, lat: latlng.lat };
  }
  YZ.toDisplay = toDisplay;
  YZ.fromDisplay = fromDisplay;
  YZ.wgsToGcj = wgsToGcj;
  YZ.gcjToWgs = gcjToWgs;

  /* ------------------------------------------------------------------ DOM helpers */
  function icon(name) {
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    var use = document.createElementNS(SVGNS, 'use');
    use.setAttribute('href', cfg.icons + '#i-' + name);
    svg.appendChild(use);
    return svg;
  }
  function setStatus(text, warn) {
    var s = $('status');
    s.textContent = text;
    s.className = warn ? 'status warn' : 'status';
  }
  function formatDistance(m) {
    if (m < 1000) { return fmt(S.metres, { n: String(Math.round(m / 10) * 10) }); }
    if (m < 100000) { return fmt(S.km, { n: (m / 1000).toFixed(1) }); }
    return fmt(S.km, { n: String(Math.round(m / 1000)) });
  }
  /* walking minutes only where walking is plausible (within cfg.walk_max_km, as the API's walk_min); beyond it the
     distance only, and the line says so */
  function walkText(p) {
    if (p.distance_m === undefined) { return ''; }
    if (p.walk_min !== undefined) { return fmt(S.walk, { n: p.walk_min }); }
    if (p.distance_m > cfg.walk_max_km * 1000) { return S.distance_only; }
    return fmt(S.walk, { n: Math.max(1, Math.ceil(p.distance_m / 1000 / cfg.walk_kmh * 60)) });
  }

  var demoShown = false;
  function noteDemo(features) {
    if (demoShown) { return; }
    for (var i = 0; i < features.length; i++) {
      if (features[i].properties && features[i].properties.demo) {
        $('demo-banner').hidden = false;
        demoShown = true;
        if (map) { setTimeout(function () { map.invalidateSize(); }, 0); }
        return;
      }
    }
  }

  /* ------------------------------------------------------------------ station card (popup + list) */
  function servicesList(p) {
    var ul = el('ul', { class: 'svc' });
    (p.services || []).forEach(function (key, i) {
      ul.appendChild(el('li', { 'data-service': key }, [icon(key), (p.service_labels || [])[i] || cfg.services[key] || key]));
    });
    return ul;
  }
  function openBadge(p) {
    if (p.hours_unknown && !p.open_now) { return el('span', { class: 'badge closed unknown', text: S.hours_unknown }); }
    return el('span', { class: 'badge ' + (p.open_now ? 'open' : 'closed'), text: p.open_now ? S.open_now : S.closed_now });
  }
  function navLinks(p) {
    var box = el('div', { class: 'actions' });
    if (p.nav) {
      box.appendChild(el('a', { href: p.nav.amap, target: '_blank', rel: 'noopener', class: 'yz-btn nav-amap' }, [icon('nav'), S.amap]));
      box.appendChild(el('a', { href: p.nav.baidu, target: '_blank', rel: 'noopener', class: 'yz-btn nav-baidu' }, [S.baidu]));
      box.appendChild(el('a', { href: p.nav.geo, class: 'yz-btn nav-geo' }, [S.geo]));
    }
    if (p.phone) {
      box.appendChild(el('a', { href: 'tel:' + p.phone.replace(/[^0-9+]/g, ''), class: 'yz-btn tel' }, [icon('phone'), p.phone]));
    }
    return box;
  }
  /* ------------------------------------------------------------------ issue 10: last verified, open reports, "report a problem"
     Four functions, used by popupContent and renderResults: verifiedLine(p), reportBadges(p), reportBox(p, onResize)
     and reportStrings() (the reasons and texts in the page's language, from /api/reports/strings, loaded once).
     Reporting takes two taps: "report a problem", then a reason (an optional text can be typed before it). */
  var reportStringsPromise = null;
  function reportStrings() {
    if (!reportStringsPromise) {
      var url = cfg.api.station.replace(/stations\/__ID__$/, 'reports/strings') + '?' + query({ lang: cfg.lang });
      reportStringsPromise = getJSON(url).catch(function () { reportStringsPromise = null; return null; });
    }
    return reportStringsPromise;
  }
  function whenStrings(node, fill) {
    reportStrings().then(function (R) { if (R) { fill(R.strings, R); } });
    return node;
  }
  function verifiedLine(p) {
    var line = el('p', { class: 'verified', 'data-last-verified': p.last_verified || '' });
    return whenStrings(line, function (T) {
      line.appendChild(el('span', { class: 'k', text: T.verified + ': ' }));
      line.appendChild(document.createTextNode(p.last_verified || T.never_verified));
    });
  }
  function reportBadges(p) {
    var box = el('p', { class: 'reports-badge' });
    var r = p.reports;
    if (!r) { box.hidden = true; return box; }
    box.setAttribute('data-open-reports', String(r.open));
    return whenStrings(box, function (T) {
      if (r.reported_closed) { box.appendChild(el('span', { class: 'badge reported-closed', text: T.reported_closed })); box.appendChild(document.createTextNode(' ')); }
      box.appendChild(el('span', { class: 'badge report', text: fmt(T.open_reports, { n: r.open, reason: r.reason_label, date: r.date }) }));
    });
  }
  function reportBox(p, onResize) {
    var box = el('div', { class: 'report-box', 'data-id': p.id });
    return whenStrings(box, function (T, R) {
      var open = el('button', { type: 'button', class: 'report-open' }, [T.report]);
      var panel = el('div', { class: 'report-panel', hidden: 'hidden' });
      var note = el('p', { class: 'report-note', role: 'status' });
      var text = el('input', { type: 'text', name: 'text', maxlength: String(R.text_max), placeholder: T.text, 'aria-label': T.text, class: 'report-text' });
      var trap = el('input', { type: 'text', name: 'website', tabindex: '-1', autocomplete: 'off', 'aria-hidden': 'true', class: 'visually-hidden' });
      var reasons = el('div', { class: 'actions report-reasons', role: 'group', 'aria-label': T.choose });
      R.reasons.forEach(function (reason) {
        var b = el('button', { type: 'button', 'data-reason': reason.key }, [reason.label]);
        b.addEventListener('click', function () {
          Array.prototype.forEach.call(reasons.querySelectorAll('button'), function (x) { x.disabled = true; });
          var url = cfg.api.station.replace('__ID__', encodeURIComponent(p.id)) + '/reports?' + query({ lang: cfg.lang });
          getJSON(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
                         body: JSON.stringify({ reason: reason.key, text: text.value, website: trap.value }) })
            .then(function () {
              panel.hidden = true; open.hidden = true; note.textContent = T.sent; box.setAttribute('data-sent', reason.key);
              if (onResize) { onResize(); }
            }).catch(function (err) {
              Array.prototype.forEach.call(reasons.querySelectorAll('button'), function (x) { x.disabled = false; });
              note.textContent = (err && err.message) || T.failed; box.setAttribute('data-error', String(err && err.status));
              if (onResize) { onResize(); }
            });
        });
        reasons.appendChild(b);
      });
      var cancel = el('button', { type: 'button', class: 'report-cancel' }, [T.cancel]);
      cancel.addEventListener('click', function () { panel.hidden = true; open.hidden = false; if (onResize) { onResize(); } });
      reasons.appendChild(cancel);
      panel.appendChild(el('p', { class: 'k', text: T.choose }));
      panel.appendChild(text);
      panel.appendChild(trap);
      panel.appendChild(reasons);
      open.addEventListener('click', function () { panel.hidden = false; open.hidden = true; if (onResize) { onResize(); } });
      box.appendChild(open);
      box.appendChild(panel);
      box.appendChild(note);
    });
  }

  function popupContent(p, onResize) {
    var div = el('div', { class: 'yz-popup', 'data-id': p.id });
    div.appendChild(el('h3', { class: 'name', text: p.name }));
    div.appendChild(reportBadges(p));
    if (p.demo) { div.appendChild(el('p', {}, [el('span', { class: 'badge demo', text: S.demo_station })])); }
    if (p.distance_m !== undefined) {
      div.appendChild(el('p', { class: 'dist' }, [el('span', { class: 'k', text: S.distance + ': ' }),
        formatDistance(p.distance_m) + ' · ' + walkText(p)]));
    }
    if (p.address) { div.appendChild(el('p', { class: 'addr' }, [el('span', { class: 'k', text: S.address + ': ' }), p.address])); }
    div.appendChild(el('p', { class: 'hours' }, [el('span', { class: 'k', text: S.hours + ': ' }), (p.hours_text || p.opening_hours || '') + ' ', openBadge(p)]));
    if (p.status && p.status !== 'open') { div.appendChild(el('p', {}, [el('span', { class: 'k', text: S.status + ': ' }), p.status_label])); }
    div.appendChild(el('p', { class: 'host' }, [el('span', { class: 'k', text: S.host + ': ' }), p.host_label || '']));
    div.appendChild(servicesList(p));
    div.appendChild(verifiedLine(p));
    div.appendChild(navLinks(p));
    div.appendChild(reportBox(p, onResize));
    if (YZ.onFinderPopup) { YZ.onFinderPopup(div, p, state.origin, onResize); }  // the route button (finder_route.js)
    return div;
  }

  /* ------------------------------------------------------------------ map layers */
  var markersById = {};
  var cluster = null;
  var hitsLayer = null;
  var meMarker = null;
  var hiddenFromCluster = [];
  var state = { origin: null, seq: 0, locateSeq: 0 };

  function openStation(id, latlng, marker) {
    var params = { lang: cfg.lang };
    if (state.origin) { params.lat = state.origin.lat.toFixed(6); params.lon = state.origin.lon.toFixed(6); }
    var url = cfg.api.station.replace('__ID__', encodeURIComponent(id)) + '?' + query(params);
    // kept clear of the zoom buttons (top left), the map hint (top) and the attribution (bottom)
    // (and no taller than the map, so its top is never cut off: it scrolls inside instead)
    var popup = L.popup({ maxWidth: 280, maxHeight: Math.max(160, map.getSize().y - 90),
                          autoPanPaddingTopLeft: L.point(64, 44), autoPanPaddingBottomRight: L.point(16, 28) }).setLatLng(latlng).setContent(el('div', { class: 'yz-popup', text: S.loading }));
    popup.openOn(map);
    getJSON(url).then(function (f) {
      popup.setContent(popupContent(f.properties, function () { popup.update(); }));
      popup.update();
    }).catch(function () { popup.setContent(el('div', { class: 'yz-popup', text: S.stations_error })); });
    return marker;
  }

  function loadOutlines(afterStations) {
    if (!map) { return; }
    map.createPane('outlines');
    map.getPane('outlines').style.zIndex = 350;
    map.createPane('labels');
    map.getPane('labels').style.zIndex = 450;
    map.getPane('labels').style.pointerEvents = 'none';
    var styles = {
      counties: { color: '#8a7f99', weight: 0.7, opacity: 0.8, fill: false, dashArray: '2 3' },
      prefectures: { color: '#5b3f7a', weight: 1.4, opacity: 0.9, fill: false },
      province: { color: '#3b1f55', weight: 2.6, opacity: 1, fillColor: '#fbfaf3', fillOpacity: cfg.tiles === 'none' ? 0.9 : 0.0 }
    };
    var labels = { prefectures: L.layerGroup(), counties: L.layerGroup() };
    function syncLabels() {
      var z = map.getZoom();
      [['prefectures', 7], ['counties', 9]].forEach(function (pair) {
        var layer = labels[pair[0]];
        if (z >= pair[1]) { if (!map.hasLayer(layer)) { layer.addTo(map); } }
        else if (map.hasLayer(layer)) { map.removeLayer(layer); }
      });
    }
    var loaded = {};
    function load(level) {
      if (loaded[level] || (cfg.outline_levels || []).indexOf(level) < 0) { return; }
      loaded[level] = true;
      getJSON(cfg.api.outlines.replace('__LEVEL__', level)).then(function (gj) {
        var style = styles[level];
        style.className = 'yz-outline yz-outline-' + level;
        style.pane = 'outlines';
        style.interactive = false;
        L.geoJSON(gj, { style: function () { return style; }, coordsToLatLng: function (c) { return toDisplay(c[0], c[1]); } }).addTo(map);
        if (labels[level]) {
          gj.features.forEach(function (f) {
            var lp = f.properties.label_point;
            if (!lp) { return; }
            var name = cfg.lang === 'en' ? (f.properties.name_en || f.properties.name_zh) : f.properties.name_zh;
            L.tooltip({ permanent: true, direction: 'center', className: 'yz-label', pane: 'labels', interactive: false })
              .setLatLng(toDisplay(lp[0], lp[1])).setContent(el('span', { text: name })).addTo(labels[level]);
          });
          syncLabels();
        }
      }).catch(function () { loaded[level] = false; /* the map still works without outlines */ });
    }
    // the province at once, the prefectures once the stations are drawn (on slow 3G they would share the link with
    // the stations), the 129 counties (the largest file) once zoomed in to where they help
    load('province');
    afterStations.then(function () { load('prefectures'); });
    function maybeCounties() { if (map.getZoom() >= cfg.counties_zoom) { load('counties'); } }
    map.on('zoomend', maybeCounties);
    maybeCounties();
    map.on('zoomend', syncLabels);
  }

  function loadStations() {
    if (!map) { return; }
    var openIcon = L.divIcon({ className: 'yz-pin', iconSize: [14, 14] });
    var closedIcon = L.divIcon({ className: 'yz-pin closed', iconSize: [14, 14] });
    // like the station markers and the rank pins (keyboard: false), cluster bubbles stay out of the tab order: the
    // keyboard's way to a station is the search and the nearest list, not dozens of bubbles before the search box
    L.MarkerCluster.mergeOptions({ keyboard: false });
    cluster = L.markerClusterGroup({ chunkedLoading: false, showCoverageOnHover: false, maxClusterRadius: 55,
                                     spiderfyOnMaxZoom: true, removeOutsideVisibleBounds: true,
                                     iconCreateFunction: function (c) {
                                       var n = c.getChildCount();
                                       var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : 50;
                                       return L.divIcon({ html: el('div', {}, [el('span', { text: String(n) })]),
                                                          className: 'marker-cluster yz-cluster', iconSize: L.point(size, size) });
                                     } });
    var url = cfg.api.stations_map;  // preloaded in <head>
    // columns (api.stations fields=columns): ids, coordinates as differences of whole 1/scale degrees, 0/1 flags
    return getJSON(url).then(function (c) {
      var x = 0, y = 0, markers = new Array(c.ids.length);
      function onClick() { openStation(this.yz.id, this.getLatLng(), this); }
      for (var i = 0; i < c.ids.length; i++) {
        x += c.dlon[i]; y += c.dlat[i];
        var id = c.ids[i], open = c.open.charAt(i) === '1';
        var m = L.marker(toDisplay(x / c.scale, y / c.scale), { icon: open ? openIcon : closedIcon, keyboard: false });
        m.on('click', onClick);
        m.yz = { id: id, bits: c.sv[i] || 0, open: open, h24: c.h24.charAt(i) === '1' };
        markersById[id] = m;
        allMarkers.push(m);
        markers[i] = m;
      }
      cluster.addLayers(markers);
      cluster.addTo(map);
      if (c.demo.indexOf('1') >= 0) { noteDemo([{ properties: { demo: true } }]); }
      document.body.setAttribute('data-stations-loaded', String(markers.length));
      document.body.setAttribute('data-stations-shown', String(markers.length));
    }).catch(function () { setStatus(S.stations_error, true); });
  }

  /* the map shows only the stations that pass the filters too: the checkboxes are read once (readFilter),
     then each marker is tested against the result (passes) */
  var allMarkers = [];
  function readFilter() {
    var bits = 0;
    selectedServices().forEach(function (key) { var j = cfg.service_keys.indexOf(key); if (j >= 0) { bits |= (1 << j); } });
    return { bits: bits, openOnly: $('filter-open').checked, h24: $('filter-24h').checked,
             atIds: $('filter-open-at').value ? openAt.ids : null };
  }
  function passes(m, f) {
    return (m.yz.bits & f.bits) === f.bits && (!f.openOnly || m.yz.open) && (!f.h24 || m.yz.h24) &&
      (!f.atIds || f.atIds[m.yz.id] === true);
  }
  /* "open at 22:00": the ids of the stations open then, from the API (the hours are read on the server only) */
  var openAt = { value: '', ids: {} };
  function loadOpenAt() {
    var value = $('filter-open-at').value;
    if (!value || value === openAt.value) { return Promise.resolve(); }
    return getJSON(cfg.api.stations_ids + '&' + query({ open_at: value })).then(function (r) {
      var ids = {};
      r.ids.forEach(function (id) { ids[id] = true; });
      openAt = { value: value, ids: ids };
    });
  }
  function applyMapFilter() {
    if (!cluster) { return; }
    var f = readFilter();
    var keep = allMarkers.filter(function (m) { return passes(m, f); });
    cluster.clearLayers();
    cluster.addLayers(keep.filter(function (m) { return hiddenFromCluster.indexOf(m) < 0; }));
    document.body.setAttribute('data-stations-shown', String(keep.length));
  }

  /* ------------------------------------------------------------------ finder */
  function selectedServices() {
    return Array.prototype.map.call(document.querySelectorAll('#filters input[name=service]:checked'), function (i) { return i.value; });
  }

  function setOrigin(lon, lat, label, kind, accuracy) {
    state.origin = { lon: lon, lat: lat, label: label, kind: kind, accuracy: accuracy };
    if (map) {
      var ll = toDisplay(lon, lat);
      if (!meMarker) {
        meMarker = L.marker(ll, { icon: L.divIcon({ className: 'yz-me', iconSize: [16, 16] }), zIndexOffset: 1000, keyboard: false, interactive: false });
        meMarker.addTo(map);
      } else {
        meMarker.setLatLng(ll);
      }
    }
    runQuery();
  }

  function renderResults(fc) {
    var list = $('results');
    list.textContent = '';
    if (hitsLayer) { hitsLayer.clearLayers(); } else if (map) { hitsLayer = L.layerGroup().addTo(map); }
    // stations in the list are drawn as numbered pins: take them out of the clusters meanwhile
    if (cluster) {
      var f = readFilter();
      hiddenFromCluster.forEach(function (m) { if (passes(m, f)) { cluster.addLayer(m); } });
      hiddenFromCluster = [];
    }
    var feats = fc.features;
    var title = $('results-title');
    var o = state.origin;
    title.textContent = o.kind === 'me' ? (o.accuracy ? fmt(S.from_me_accuracy, { m: o.accuracy }) : S.from_me)
      : (o.kind === 'place' ? fmt(S.from_place, { place: o.label }) : S.from_here);
    title.hidden = false;
    if (!feats.length) {
      setStatus(S.nothing_at_all, true);
      document.body.setAttribute('data-results', '0');
      return;
    }
    var nearestM = Math.min.apply(null, feats.map(function (f) { return f.properties.distance_m; }));
    if (nearestM > cfg.reach_km * 1000) {
      setStatus(fmt(S.nothing_within, { km: cfg.reach_km, dist: formatDistance(nearestM) }), true);
      feats = feats.filter(function (f) { return f.properties.distance_m === nearestM; }).slice(0, 1);
    } else {
      var q = fc.query || {};
      setStatus(q.open_at ? fmt(S.found_at, { n: feats.length, time: $('filter-open-at').value })
        : q.open_24h ? fmt(S.found_24h, { n: feats.length }) : fmt(S.found, { n: feats.length }), false);
    }
    noteDemo(feats);
    var bounds = map ? L.latLngBounds([toDisplay(o.lon, o.lat)]) : null;
    feats.forEach(function (f, i) {
      var p = f.properties, c = f.geometry.coordinates;
      var nearestOpen = fc.nearest_open_id !== undefined && String(fc.nearest_open_id) === String(p.id);
      var li = el('li', { class: 'result' + (nearestOpen ? ' nearest-open' : ''), 'data-id': p.id,
                          'data-distance-m': String(p.distance_m), 'data-services': (p.services || []).join(' '),
                          'data-open': p.open_now ? '1' : '0', 'data-walk-min': p.walk_min === undefined ? '' : String(p.walk_min) });
      var h = el('h3', {}, [el('span', { class: 'rank', text: String(i + 1) }), el('span', { class: 'name', text: p.name })]);
      li.appendChild(h);
      var dist = el('p', { class: 'dist' }, [formatDistance(p.distance_m),
        el('span', { class: 'walk' + (p.walk_min === undefined ? ' far' : ''), text: walkText(p) }),
        ' ', openBadge(p)]);
      if (nearestOpen) { dist.appendChild(document.createTextNode(' ')); dist.appendChild(el('span', { class: 'badge nearest', text: S.nearest_open })); }
      if (p.demo) { dist.appendChild(document.createTextNode(' ')); dist.appendChild(el('span', { class: 'badge demo', text: S.demo_station })); }
      li.appendChild(dist);
      if (p.address) { li.appendChild(el('p', { class: 'addr', text: p.address })); }
      li.appendChild(el('p', { class: 'addr hours' }, [icon('clock'), ' ', p.hours_text || p.opening_hours || '']));
      li.appendChild(servicesList(p));
      li.insertBefore(reportBadges(p), dist);
      li.appendChild(verifiedLine(p));
      var actions = navLinks(p);
      if (map) {
        var ll = toDisplay(c[0], c[1]);
        bounds.extend(ll);
        var hm = L.marker(ll, { icon: L.divIcon({ className: 'yz-pin hit', html: String(i + 1), iconSize: [22, 22] }),
                                zIndexOffset: 900, keyboard: false, title: p.name });
        hm.on('click', function () { openStation(p.id, ll, hm); });
        hitsLayer.addLayer(hm);
        if (cluster && markersById[p.id]) {
          cluster.removeLayer(markersById[p.id]);
          hiddenFromCluster.push(markersById[p.id]);
        }
        var show = el('button', { type: 'button', class: 'show-on-map' }, [S.show_on_map]);
        show.addEventListener('click', function () {
          map.setView(ll, Math.max(map.getZoom(), 16), { animate: false });  // a pan in progress would skip the popup's autoPan
          openStation(p.id, ll, hm);
          $('map-pane').scrollIntoView({ behavior: 'smooth', block: 'start' });
        });
        actions.insertBefore(show, actions.firstChild);
      }
      li.appendChild(actions);
      li.appendChild(reportBox(p));
      list.appendChild(li);
    });
    if (map && bounds) { map.fitBounds(bounds, { paddingTopLeft: [50, 30], paddingBottomRight: [30, 30], maxZoom: 16 }); }
    if (YZ.onFinderResults) { YZ.onFinderResults(fc, o, list); }  // walks and routes on streets (finder_route.js)
    document.body.setAttribute('data-results', String(feats.length));
  }

  function runQuery() {
    var o = state.origin;
    if (!o) { return; }
    var seq = ++state.seq;
    setStatus(S.loading, false);
    document.body.setAttribute('data-results', 'loading');
    var params = { lat: o.lat.toFixed(6), lon: o.lon.toFixed(6), k: cfg.k, service: selectedServices(),
                   open_now: $('filter-open').checked ? '1' : '', open_24h: $('filter-24h').checked ? '1' : '',
                   open_at: $('filter-open-at').value, lang: cfg.lang };
    getJSON(cfg.api.nearest + '?' + query(params)).then(function (fc) {
      if (seq !== state.seq) { return; }
      renderResults(fc);
    }).catch(function () {
      if (seq === state.seq) { setStatus(S.nearest_error, true); document.body.setAttribute('data-results', 'error'); }
    });
  }

  /* every tap asks for a fresh position (maximumAge 0: a fix from a minute ago at another place is never reused)
     and says how accurate it is */
  function locate() {
    if (!navigator.geolocation) { setStatus(S.geo_unsupported, true); return; }
    setStatus(S.locating, false);
    var seq = ++state.locateSeq;
    navigator.geolocation.getCurrentPosition(function (pos) {
      if (seq !== state.locateSeq) { return; }
      var acc = Math.round(pos.coords.accuracy || 0);
      document.body.setAttribute('data-accuracy', String(acc));
      setOrigin(pos.coords.longitude, pos.coords.latitude, S.my_location, 'me', acc);
    }, function (err) {
      setStatus(err && err.code === 1 ? S.geo_denied : S.geo_unavailable, true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  }

  /* ------------------------------------------------------------------ place search */
  var placeTimer = null, placeSeq = 0, lastPlaces = [];
  function placeLabel(p) { return p.label || p.name_zh || p.name || p.name_en || ''; }
  function placeSub(p) {
    var parts = [];
    /* places: kind label (州/市/县/镇/景区 ...), pinyin mark, matched short name, county (issue 11 §4) */
    if (p.kind_label) { parts.push(p.kind_label); }
    if (p.label_note) { parts.push(p.label_note); }
    if (p.matched && p.matched !== placeLabel(p)) { parts.push(p.matched); }
    var other = cfg.lang === 'en' ? p.name_zh : p.name_en;
    if (other && other !== placeLabel(p)) { parts.push(other); }
    var county = cfg.lang === 'en' ? p.county_en : p.county_zh;
    if (county && county !== placeLabel(p)) { parts.push(county); }
    /* end places */
    var parent = cfg.lang === 'en' ? (p.prefecture_en || p.parent_en) : (p.prefecture_zh || p.parent_zh);
    if (parent && parent !== placeLabel(p)) { parts.push(parent); }
    return parts.join(' · ');
  }
  function choosePlace(p) {
    var box = $('place-suggestions');
    box.hidden = true;
    box.textContent = '';
    $('place-input').value = placeLabel(p);
    var lon = Number(p.lon !== undefined ? p.lon : p.longitude), lat = Number(p.lat !== undefined ? p.lat : p.latitude);
    setOrigin(lon, lat, placeLabel(p), 'place');
  }
  function showPlaces(places) {
    var box = $('place-suggestions');
    box.textContent = '';
    lastPlaces = places;
    if (!places.length) {
      box.appendChild(el('li', { class: 'none' }, [el('span', { class: 'sub', text: S.no_places })]));
      box.hidden = false;
      return;
    }
    places.forEach(function (p) {
      var b = el('button', { type: 'button' }, [placeLabel(p), el('span', { class: 'sub', text: placeSub(p) })]);
      b.addEventListener('click', function () { choosePlace(p); });
      box.appendChild(el('li', p.group ? { class: 'sub-answer' } : {}, [b]));  /* places: grouped under the answer above */
    });
    box.hidden = false;
  }
  function searchPlaces(q) {
    var seq = ++placeSeq;
    return getJSON(cfg.api.places + '?' + query({ q: q, limit: 8, lang: cfg.lang })).then(function (r) {
      if (seq === placeSeq) { showPlaces(r.places || []); }
      return r.places || [];
    }).catch(function () { if (seq === placeSeq) { setStatus(S.places_error, true); } return []; });
  }

  /* ------------------------------------------------------------------ wiring */
  $('locate-btn').addEventListener('click', locate);
  $('place-input').addEventListener('input', function (e) {
    var q = e.target.value.trim();
    clearTimeout(placeTimer);
    if (!q) { $('place-suggestions').hidden = true; return; }
    placeTimer = setTimeout(function () { searchPlaces(q); }, 250);
  });
  $('place-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var q = $('place-input').value.trim();
    if (!q) { return; }
    clearTimeout(placeTimer);
    searchPlaces(q).then(function (places) { if (places.length) { choosePlace(places[0]); } });
  });
  $('filters').addEventListener('change', function () {
    loadOpenAt().then(function () { applyMapFilter(); }, function () { setStatus(S.stations_error, true); });
    runQuery();
  });
  function label(node, text) { if (node) { node.title = text; node.setAttribute('aria-label', text); } }
  if (map) {
    if (map.zoomControl) { label(map.zoomControl._zoomInButton, S.zoom_in); label(map.zoomControl._zoomOutButton, S.zoom_out); }
    map.on('popupopen', function (e) { label(e.popup._closeButton, S.close); $('map-note').hidden = true; });
    if (cfg.bounds) { map.fitBounds(cfg.bounds, { padding: [4, 4] }); }
    map.on('click', function (e) {
      var w = fromDisplay(e.latlng);
      setOrigin(w.lon, w.lat, S.chosen_point, 'point');
    });
    loadOutlines(loadStations());
  }
  reportStrings();  // issue 10: load the report strings early, so the popup's first render has them
  document.body.setAttribute('data-ready', '1');
}());
