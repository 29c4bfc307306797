/* yizhan management area: the station map (click to set the location) and confirmations before closing a
 * station or reverting a change. No inline handlers: everything is wired here; data comes from
 * <script type="application/json"> blocks (#mg-map-config, #mg-station). Text from the server only.
 *
 * The form's coordinates are what the server validates; the map only fills them in. Clicks are WGS-84 unless
 * the tiles are drawn in GCJ-02 (Amap), where the click is shifted back to WGS-84 with the vendored gcoord
 * (the same formula as stations/coords.py) and the form's coordinate system is set to WGS-84.
 */
(function () {
  'use strict';

  function readJSON(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  /* ------------------------------------------------------------------ confirmations */
  var cfg = readJSON('mg-map-config') || { strings: {} };
  Array.prototype.forEach.call(document.querySelectorAll('form[data-confirm]'), function (form) {
    form.addEventListener('submit', function (e) {
      var kind = form.getAttribute('data-confirm');
      var text = kind === 'revert' ? cfg.strings.confirm_revert : cfg.strings.confirm_close;
      if (text && !window.confirm(text)) { e.preventDefault(); }
    });
  });

  /* ------------------------------------------------------------------ the station map */
  var box = document.getElementById('station-map');
  if (!box || !window.L) { return; }
  var gcj = cfg.crs === 'gcj02' && window.gcoord;
  function toDisplay(lon, lat) {
    if (gcj) { var g = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02); return L.latLng(g[1], g[0]); }
    return L.latLng(lat, lon);
  }
  function fromDisplay(ll) {
    if (gcj) { var w = gcoord.transform([ll.lng, ll.lat], gcoord.GCJ02, gcoord.WGS84); return { lon: w[0], lat: w[1] }; }
    return { lon: ll.lng, lat: ll.lat };
  }
  var map = L.map(box, { zoomControl: true, attributionControl: true });
  window.YZManage = { map: map, toDisplay: toDisplay };  // for the browser tests (a real click needs its pixel)
  if (map.attributionControl) { map.attributionControl.setPrefix(''); }
  (cfg.tiles || []).forEach(function (t) {
    L.tileLayer(t.url, { attribution: t.attr, maxZoom: t.max_zoom || 18, subdomains: t.subdomains || 'abc' }).addTo(map);
  });
  (cfg.outline_levels || []).forEach(function (level) {
    if (level === 'counties' || !cfg.outlines) { return; }
    fetch(cfg.outlines.replace('__LEVEL__', level)).then(function (r) { return r.json(); }).then(function (gj) {
      L.geoJSON(gj, { interactive: false, style: { color: level === 'province' ? '#3b1f55' : '#5b3f7a', weight: level === 'province' ? 2.4 : 1.2, fill: false },
                      coordsToLatLng: function (c) { return toDisplay(c[0], c[1]); } }).addTo(map);
    }).catch(function () { /* the map works without outlines */ });
  });
  // the registry's stations as small dots, so an editor sees what is already there (the map may have no tiles)
  if (cfg.stations) {
    fetch(cfg.stations).then(function (r) { return r.json(); }).then(function (fc) {
      var renderer = L.canvas({ padding: 0.2 });
      fc.features.forEach(function (f) {
        var c = f.geometry.coordinates;
        L.circleMarker(toDisplay(c[0], c[1]), { renderer: renderer, radius: 4, weight: 1, color: '#7a1c14',
                                                fillColor: '#b3261e', fillOpacity: 0.7, interactive: false }).addTo(map);
      });
    }).catch(function () { /* the map works without them */ });
  }
  var lonIn = document.getElementById('f-lon'), latIn = document.getElementById('f-lat'), crsIn = document.getElementById('f-crs');
  var marker = null;
  function place(lon, lat) {
    var ll = toDisplay(lon, lat);
    if (!marker) { marker = L.marker(ll, { keyboard: false }).addTo(map); } else { marker.setLatLng(ll); }
    return ll;
  }
  var station = readJSON('mg-station');
  if (station) {
    map.setView(place(station.lon, station.lat), 15);
  } else if (cfg.bounds) {
    map.fitBounds(cfg.bounds, { padding: [4, 4] });
  }
  map.on('click', function (e) {
    var w = fromDisplay(e.latlng);
    lonIn.value = w.lon.toFixed(6);
    latIn.value = w.lat.toFixed(6);
    if (crsIn) { crsIn.value = 'wgs84'; }
    place(w.lon, w.lat);
    var hint = document.getElementById('map-hint');
    if (hint && cfg.strings.picked) { hint.textContent = cfg.strings.picked + ': ' + lonIn.value + ', ' + latIn.value; }
    document.body.setAttribute('data-picked', lonIn.value + ',' + latIn.value);
  });
  function fromInputs() {
    var lon = parseFloat(lonIn.value), lat = parseFloat(latIn.value);
    if (!isFinite(lon) || !isFinite(lat)) { return; }
    if (crsIn && crsIn.value === 'gcj02' && window.gcoord) {
      var w = gcoord.transform([lon, lat], gcoord.GCJ02, gcoord.WGS84); lon = w[0]; lat = w[1];
    }
    map.setView(place(lon, lat), Math.max(map.getZoom(), 13));
  }
  lonIn.addEventListener('change', fromInputs);
  latIn.addEventListener('change', fromInputs);
  if (crsIn) { crsIn.addEventListener('change', fromInputs); }
  document.body.setAttribute('data-map-ready', '1');
}());
