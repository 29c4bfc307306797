/* yizhan: the tile watch and the drawn base map (loaded in <head>, after Leaflet, before the map script).
 *
 * Tile watch: until one tile has loaded, the tile layers ask for one tile at a time (the others wait); after 3
 * failed tiles in a row before any success, or 6 in a row later, every tile layer is removed (its pending
 * requests cancelled) and the drawn base takes over. So a blocked tile host, an intranet or no signal costs a
 * handful of failed requests, not one per tile of the screen.
 *
 * The drawn base (also what YIZHAN_TILES=none shows): a land-coloured map with the outlines finder.js draws
 * (province, prefectures, counties with their labels), the lakes (/offline/lakes.json) and the towns, townships
 * and old towns of the gazetteer (/offline/places.json) as labels at the zooms where they fit, decluttered on
 * screen (the higher kind first, none overlapping), and from zoom 9 a box naming the county and prefecture at
 * the centre of the map, so a worker zoomed to street level still sees where she is.
 * Back online (the 'online' event), the removed tile layers are tried again the same way; when a tile loads, the
 * drawn base steps aside. The body carries data-basemap="drawn" and data-tiles="failed" / "ok" for the tests.
 */
(function () {
  'use strict';

  if (!window.L || !L.TileLayer) { return; }
  var PROBE_FAILS = 3, LATER_FAILS = 6;
  var gate = { state: 'probe', inFlight: 0, fails: 0, streak: 0, waiting: [], layers: [], removed: [] };
  var drawn = false;

  function start(layer, tile, coords) {
    gate.inFlight += 1;
    tile._yzAsked = true;
    tile.src = layer.getTileUrl(coords);
  }
  function stillWanted(w) {  // Leaflet drops tiles when the view moves on: those are not asked for any more
    var t = w.layer._map && w.layer._tiles[w.layer._tileCoordsToKey(w.coords)];
    return !!t && t.el === w.tile;
  }
  function next() {
    while (gate.waiting.length && (gate.state === 'ok' || (gate.state === 'probe' && gate.inFlight === 0))) {
      var w = gate.waiting.shift();
      if (stillWanted(w)) { start(w.layer, w.tile, w.coords); }
    }
  }
  // once per asked tile: ok true (loaded), false (failed) or null (Leaflet cancelled it: neither)
  function settled(tile, ok) {
    if (!tile._yzAsked || tile._yzDone) { return; }
    tile._yzDone = true;
    gate.inFlight = Math.max(0, gate.inFlight - 1);
    if (gate.state === 'off') { return; }
    if (ok === null) { next(); return; }
    if (ok) {
      if (gate.state === 'probe' && gate.removed.length) { tilesBack(); }
      gate.state = 'ok'; gate.streak = 0; next(); return;
    }
    gate.fails += 1;
    gate.streak += 1;
    if ((gate.state === 'probe' && gate.fails >= PROBE_FAILS) || (gate.state === 'ok' && gate.streak >= LATER_FAILS)) {
      tilesFailed();
      return;
    }
    next();
  }
  // Leaflet 1.9's TileLayer.createTile, with the request held back while the tiles are unproven
  L.TileLayer.include({
    createTile: function (coords, done) {
      var tile = document.createElement('img');
      L.DomEvent.on(tile, 'load', L.Util.bind(this._tileOnLoad, this, done, tile));
      L.DomEvent.on(tile, 'error', L.Util.bind(this._tileOnError, this, done, tile));
      L.DomEvent.on(tile, 'load', function () { settled(tile, tile.getAttribute('src') === L.Util.emptyImageUrl ? null : true); });
      L.DomEvent.on(tile, 'error', function () { settled(tile, false); });
      if (this.options.crossOrigin || this.options.crossOrigin === '') {
        tile.crossOrigin = this.options.crossOrigin === true ? '' : this.options.crossOrigin;
      }
      if (typeof this.options.referrerPolicy === 'string') { tile.referrerPolicy = this.options.referrerPolicy; }
      tile.alt = '';
      tile.setAttribute('role', 'presentation');
      if (gate.layers.indexOf(this) < 0) { gate.layers.push(this); }
      if (gate.state === 'off') { return tile; }
      if (gate.state === 'ok' || gate.inFlight === 0) { start(this, tile, coords); }
      else { gate.waiting.push({ layer: this, tile: tile, coords: coords }); }
      return tile;
    }
  });

  function readJSON(id) {
    var node = document.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
  }
  function map() { return window.YZ_MAP; }

  var BASE_PANES = ['yz-base', 'yz-lakes', 'yz-base-labels'];
  function showBase(on) {
    var m = map();
    BASE_PANES.forEach(function (name) { var pane = m.getPane(name); if (pane) { pane.style.display = on ? '' : 'none'; } });
    m.getContainer().classList.toggle('yz-drawn-base', on);
    if (whereBox) { whereBox.querySelector('.tiles-note').hidden = !on; }
    if (on) { document.body.setAttribute('data-basemap', 'drawn'); } else { document.body.removeAttribute('data-basemap'); }
  }
  function tilesFailed() {
    gate.state = 'off';
    gate.waiting = [];
    var m = map();
    gate.layers.forEach(function (layer) {
      if (m && m.hasLayer(layer)) { m.removeLayer(layer); if (gate.removed.indexOf(layer) < 0) { gate.removed.push(layer); } }
    });
    document.body.setAttribute('data-tiles', 'failed');
    if (drawn) { showBase(true); }
    drawBase(true);
  }
  // a tile loaded again after a failure: the tiles are back, the drawn base steps aside
  function tilesBack() {
    gate.removed = [];
    document.body.setAttribute('data-tiles', 'ok');
    if (drawn) { showBase(false); whereAmI(); }
  }
  // back online: try the tiles again (one at a time, as at the start)
  window.addEventListener('online', function () {
    var m = map();
    if (gate.state !== 'off' || !gate.removed.length || !m) { return; }
    gate.state = 'probe';
    gate.fails = 0;
    gate.streak = 0;
    gate.inFlight = 0;
    gate.removed.forEach(function (layer) { layer.addTo(m); });
  });

  /* ------------------------------------------------------------------ the drawn base */
  var placeLabels = [], lakeLabels = [], countyShapes = null, labelLayer = null, whereBox = null;

  function textWidth(s) {
    var w = 0;
    for (var i = 0; i < s.length; i++) { w += s.charCodeAt(i) > 0x2e80 ? 13 : 7; }
    return w + 8;
  }
  function minZoom(p) {  // the zoom from which a gazetteer place is labelled (counties: finder.js labels them)
    if (p.kind === 'prefecture' || p.kind === 'county') { return 99; }
    if (p.kind === 'landmark') { return 10; }
    return p.type === 'place' ? 12 : 10;
  }
  // the labels that fit: by priority, each kept when its box overlaps none kept before
  function declutter() {
    var m = map();
    if (!m || !labelLayer) { return; }
    labelLayer.clearLayers();
    var z = m.getZoom(), bounds = m.getBounds().pad(0.1), boxes = [], shown = 0;
    // the prefecture and county names finder.js draws come first: towns keep clear of them
    var origin = m.getContainer().getBoundingClientRect();
    Array.prototype.forEach.call(m.getContainer().querySelectorAll('.yz-label'), function (node) {
      var r = node.getBoundingClientRect();
      if (r.width) { boxes.push([r.left - origin.left - 3, r.top - origin.top - 3, r.right - origin.left + 3, r.bottom - origin.top + 3]); }
    });
    var toDisplay = (window.YZ && window.YZ.toDisplay) || function (lon, lat) { return L.latLng(lat, lon); };
    var cands = placeLabels.concat(lakeLabels).filter(function (c) { return z >= c.z; });
    cands.sort(function (a, b) { return a.prio - b.prio; });
    cands.forEach(function (c) {
      var ll = toDisplay(c.lon, c.lat);
      if (!bounds.contains(ll)) { return; }
      var pt = m.latLngToContainerPoint(ll), w = textWidth(c.text), h = 18;
      var box = [pt.x - w / 2, pt.y - h / 2, pt.x + w / 2, pt.y + h / 2];
      for (var i = 0; i < boxes.length; i++) {
        var b = boxes[i];
        if (box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1]) { return; }
      }
      boxes.push(box);
      shown += 1;
      L.marker(ll, { pane: 'yz-base-labels', interactive: false, keyboard: false,
                     icon: L.divIcon({ className: 'yz-base-label ' + c.cls, html: '', iconSize: [w, h] }) })
        .addTo(labelLayer).getElement().textContent = c.text;
    });
    document.body.setAttribute('data-base-labels', String(shown));
  }

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if (((yi > y) !== (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi)) { inside = !inside; }
    }
    return inside;
  }
  function inGeometry(x, y, g) {
    var polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    for (var i = 0; i < polys.length; i++) {
      if (inRing(x, y, polys[i][0])) {
        var hole = false;
        for (var k = 1; k < polys[i].length; k++) { if (inRing(x, y, polys[i][k])) { hole = true; } }
        if (!hole) { return true; }
      }
    }
    return false;
  }
  // the nearest labelled town or old town within NEAR_KM (equirectangular distance: plenty at this range); farther
  // than that a town is no help in saying where one is ("近 马街街道 7.4 km" misleads): the county says it alone
  var NEAR_KM = 3;
  function nearestPlace(lon, lat) {
    var best = null, k = Math.cos(lat * Math.PI / 180);
    placeLabels.forEach(function (c) {
      if (c.cls.indexOf('place-town') < 0 && c.cls.indexOf('place-landmark') < 0) { return; }
      var dx = (c.lon - lon) * k * 111.32, dy = (c.lat - lat) * 110.57, d = Math.sqrt(dx * dx + dy * dy);
      if (d <= NEAR_KM && (!best || d < best.km)) { best = { text: c.text, km: d }; }
    });
    return best;
  }
  function whereAmI() {
    var m = map(), cfg = readJSON('yz-offline'), page = readJSON('yz-config') || {};
    if (!m || !whereBox || !countyShapes) { return; }
    var c = m.getCenter(), from = (window.YZ && window.YZ.fromDisplay) ? window.YZ.fromDisplay(c) : { lon: c.lng, lat: c.lat };
    var text = '';
    if (m.getZoom() >= 9) {
      for (var i = 0; i < countyShapes.length; i++) {
        var f = countyShapes[i];
        if (inGeometry(from.lon, from.lat, f.geometry)) {
          text = page.lang === 'en' ? (f.properties.name_en || f.properties.name_zh) : f.properties.name_zh;
          break;
        }
      }
    }
    var near = m.getZoom() >= 12 ? nearestPlace(from.lon, from.lat) : null;
    if (text && near) {
      text += ' · ' + window.YZ.interpolate(cfg.strings.near, { place: near.text }) + ' ' +
              (near.km < 1 ? Math.round(near.km * 10) * 100 + ' m' : near.km.toFixed(1) + ' km');
    }
    var line = whereBox.querySelector('.where');
    line.textContent = text ? window.YZ.interpolate(cfg.strings.you_are_in, { place: text }) : '';
    line.hidden = !text;
    whereBox.hidden = !text && !whereBox.querySelector('.tiles-note:not([hidden])');
  }

  function drawBase(failed) {
    var m = map(), cfg = readJSON('yz-offline'), page = readJSON('yz-config') || {};
    if (!m || !cfg) { return; }
    if (failed && whereBox) { whereBox.querySelector('.tiles-note').hidden = false; whereBox.hidden = false; }
    if (drawn) { return; }
    drawn = true;
    document.body.setAttribute('data-basemap', 'drawn');
    m.getContainer().classList.add('yz-drawn-base');
    var getJSON = function (u) { return fetch(u, { credentials: 'same-origin' }).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); }); };
    var toDisplay = (window.YZ && window.YZ.toDisplay) || function (lon, lat) { return L.latLng(lat, lon); };
    m.createPane('yz-base');
    m.getPane('yz-base').style.zIndex = 300;  // above the tiles, below the outlines (350) and the markers
    m.getPane('yz-base').style.pointerEvents = 'none';
    m.createPane('yz-lakes');
    m.getPane('yz-lakes').style.zIndex = 360;  // above finder.js's outlines pane, whose province is filled without tiles
    m.getPane('yz-lakes').style.pointerEvents = 'none';
    m.createPane('yz-base-labels');
    m.getPane('yz-base-labels').style.zIndex = 440;
    m.getPane('yz-base-labels').style.pointerEvents = 'none';
    labelLayer = L.layerGroup().addTo(m);
    var box = L.control({ position: 'bottomleft' });
    box.onAdd = function () {
      whereBox = L.DomUtil.create('div', 'yz-where');
      var where = L.DomUtil.create('div', 'where', whereBox);
      where.hidden = true;
      var note = L.DomUtil.create('div', 'tiles-note', whereBox);
      note.textContent = cfg.strings.tiles_failed;
      note.hidden = !failed;
      whereBox.hidden = !failed;
      return whereBox;
    };
    box.addTo(m);
    if (page.tiles !== 'none' && page.api && page.api.outlines) {
      // the province as land (finder.js fills it itself when there are no tiles at all)
      getJSON(page.api.outlines.replace('__LEVEL__', 'province')).then(function (gj) {
        L.geoJSON(gj, { pane: 'yz-base', interactive: false, coordsToLatLng: function (c) { return toDisplay(c[0], c[1]); },
                        style: function () { return { stroke: false, fillColor: '#fbfaf3', fillOpacity: 1 }; } }).addTo(m);
      }).catch(function () { /* the outlines still draw */ });
    }
    getJSON(cfg.lakes).then(function (gj) {
      L.geoJSON(gj, { pane: 'yz-lakes', interactive: false, coordsToLatLng: function (c) { return toDisplay(c[0], c[1]); },
                      style: function () { return { color: '#6f9fc4', weight: 0.8, fillColor: '#a9cbe6', fillOpacity: 1, className: 'yz-lake' }; } }).addTo(m);
      gj.features.forEach(function (f) {
        var p = f.properties, name = page.lang === 'en' ? (p.name_en || p.name_zh) : (p.name_zh || p.name_en);
        if (!name || !p.label_point) { return; }
        lakeLabels.push({ text: name, lon: p.label_point[0], lat: p.label_point[1], z: p.area_km2 >= 50 ? 8 : 10,
                          prio: 5 - Math.min(4, Math.log(p.area_km2 + 1) / 2), cls: 'lake' });
      });
      declutter();
    }).catch(function () { /* the base works without lakes */ });
    getJSON(cfg.places).then(function (data) {
      data.places.forEach(function (p) {
        var z = minZoom(p);
        if (z > 18 || !p.label) { return; }
        placeLabels.push({ text: p.label, lon: p.lon, lat: p.lat, z: z, prio: p.rank, cls: 'place place-' + p.kind });
      });
      declutter();
    }).catch(function () { /* no town labels */ });
    if (page.api && page.api.outlines) {
      getJSON(page.api.outlines.replace('__LEVEL__', 'counties')).then(function (gj) {
        countyShapes = gj.features;
        whereAmI();
      }).catch(function () { /* no "you are in" box */ });
    }
    m.on('zoomend moveend', function () { declutter(); whereAmI(); });
    // finder.js adds its county names when the county outlines arrive: make room for them then too
    var names = m.getPane('labels'), timer = null;
    if (names && window.MutationObserver) {
      new MutationObserver(function () { clearTimeout(timer); timer = setTimeout(declutter, 100); })
        .observe(names, { childList: true });
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    var page = readJSON('yz-config') || {};
    // YIZHAN_TILES=none: the drawn base from the start (after finder.js has made its panes)
    if (page.tiles === 'none') { setTimeout(function () { drawBase(false); }, 0); }
  });
  window.YZ = window.YZ || {};
  window.YZ.basemap = { gate: gate, drawBase: drawBase };
}());
