/* yizhan service worker (webmap/offline.py renders it at /sw.js). Release {{ release }}.
 *
 * Workbox from the app's own copy (static/vendor/workbox, modulePathPrefix): never a CDN. Every cache is named
 * after the release, so a new release replaces them (cleanupOutdatedCaches for the precache, the activate step
 * below for the others).
 *   - the finder's shell (scripts, styles, icons, outlines): precached, matched without their ?v= parameter;
 *   - the finder page: network first (4 s), the cached copy when there is no network;
 *   - the station list, the stations file, the places file, the report strings: network first (5 s) with the
 *     cached copy as fallback; a late network answer still refreshes the cache (quiet refresh);
 *   - /api/nearest, /api/places, /api/stations/<id>: the network; without it, answered here from the cached
 *     stations and places files (nearest by straight line), and the page is told so.
 * Caches are bounded (ExpirationPlugin). When an answer comes from a cache, the page gets a message
 * {type: 'yz-cached', kind, url, fetchedAt}; static/offline.js shows "数据更新于 …".
 */
'use strict';
importScripts({{ workbox_sw|tojson }});
importScripts({{ gcoord|tojson }});  // GCJ-02 / BD-09 for the navigation links made here (as webmap.features.nav_links)
workbox.setConfig({ modulePathPrefix: {{ workbox_prefix|tojson }}, debug: false });
// importScripts only works while the worker starts: load every module now
{% for m in workbox_modules %}workbox.loadModule({{ m|tojson }});
{% endfor %}
var RELEASE = {{ release|tojson }};
var PREFIX = 'yizhan';
var CACHES = { pages: PREFIX + '-pages-' + RELEASE, data: PREFIX + '-data-' + RELEASE, api: PREFIX + '-api-' + RELEASE };
var STATIONS_FILE = '/offline/stations.json';
var PLACES_FILE = '/offline/places.json';

workbox.core.setCacheNameDetails({ prefix: PREFIX, suffix: RELEASE, precache: 'precache', runtime: 'runtime' });
workbox.core.clientsClaim();
self.skipWaiting();

workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute({{ precache|tojson }}, { ignoreURLParametersMatching: [/^v$/] });

self.addEventListener('activate', function (event) {
  // the runtime caches of older releases
  var keep = Object.keys(CACHES).map(function (k) { return CACHES[k]; });
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf(PREFIX + '-') === 0 && n.indexOf('-precache-') < 0 && keep.indexOf(n) < 0;
    }).map(function (n) { return caches.delete(n); }));
  }));
});

// the page asks for itself to be kept (on the first visit it loaded before this worker existed)
self.addEventListener('message', function (event) {
  var m = event.data || {};
  if (m.type !== 'yz-warm-page' || !m.url) { return; }
  var url = new URL(m.url);
  if (url.origin !== self.location.origin || url.pathname !== '/') { return; }
  var reply = function (ok) { if (event.source) { event.source.postMessage({ type: 'yz-page-saved', ok: ok }); } };
  event.waitUntil(fetch(url.href, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) { return reply(false); }
    return stamp.cacheWillUpdate({ response: r }).then(function (stamped) {
      return caches.open(CACHES.pages).then(function (c) { return c.put(url.href, stamped); });
    }).then(function () { reply(true); });
  }).catch(function () { reply(false); /* offline: the saved copy stays */ }));
});

/* ------------------------------------------------------------------ plugins */
var FETCHED = 'X-Yizhan-Fetched-At';
// what the cache keeps: only good answers, stamped with the time they came from the server
var stamp = {
  cacheWillUpdate: function (args) {
    var r = args.response;
    if (!r || r.status !== 200) { return null; }
    return r.clone().blob().then(function (body) {
      var headers = new Headers(r.headers);
      headers.set(FETCHED, new Date().toISOString());
      return new Response(body, { status: r.status, statusText: r.statusText, headers: headers });
    });
  }
};
function tell(clientId, message) {
  if (!clientId) {
    return self.clients.matchAll({ type: 'window' }).then(function (all) { all.forEach(function (c) { c.postMessage(message); }); });
  }
  return self.clients.get(clientId).then(function (c) { if (c) { c.postMessage(message); } });
}
function clientOf(event) { return event && (event.clientId || event.resultingClientId); }
// when the cached copy answers (the network failed or was too slow), the page is told how old it is (not for the
// page's own saving requests, X-Yizhan-Warm), and the answer says so (X-Yizhan-From-Cache)
function cachedNotice(kind) {
  return {
    cachedResponseWillBeUsed: function (args) {
      var r = args.cachedResponse;
      if (!r) { return r; }
      if (!args.request.headers.get('X-Yizhan-Warm')) {
        tell(clientOf(args.event), { type: 'yz-cached', kind: kind, url: args.request.url, fetchedAt: r.headers.get(FETCHED) });
      }
      var headers = new Headers(r.headers);
      headers.set('X-Yizhan-From-Cache', '1');
      return new Response(r.body, { status: r.status, statusText: r.statusText, headers: headers });
    }
  };
}
// the map's saved station list, answered from the cache: its open flags are those of when it was saved, so they
// are set again for now from the 15-minute slots of the saved stations file (when there is one)
var openAgain = {
  cachedResponseWillBeUsed: function (args) {
    var r = args.cachedResponse, url = new URL(args.request.url);
    if (!r || url.pathname !== '/api/stations') { return r; }
    return Promise.all([r.clone().json(), cachedJSON(STATIONS_FILE, langOf(url))]).then(function (both) {
      var body = both[0], file = both[1], pattern = {}, status = {};
      var ci = file.columns.indexOf('pattern'), cs = file.columns.indexOf('status');
      file.stations.forEach(function (row) { pattern[row[0]] = row[ci]; status[row[0]] = row[cs]; });
      body.features.forEach(function (f) {
        if (f.id in pattern) { f.properties.open_now = openNow(file, pattern[f.id], status[f.id]); }
      });
      return new Response(JSON.stringify(body), { status: r.status, statusText: r.statusText, headers: r.headers });
    }).catch(function () { return r; });
  }
};
function bounded(n, days) { return new workbox.expiration.ExpirationPlugin({ maxEntries: n, maxAgeSeconds: days * 86400, purgeOnQuotaError: true }); }
var ok = new workbox.cacheableResponse.CacheableResponsePlugin({ statuses: [200] });

/* ------------------------------------------------------------------ routes */
var route = workbox.routing.registerRoute;
var NetworkFirst = workbox.strategies.NetworkFirst;

// the finder page (both languages): network first, the cached copy offline
route(function (o) { return o.request.mode === 'navigate' && o.url.pathname === '/'; },
      new NetworkFirst({ cacheName: CACHES.pages, networkTimeoutSeconds: 4, matchOptions: { ignoreVary: true },
                         plugins: [ok, stamp, cachedNotice('page'), bounded(6, 60)] }));

// the station list of the map, the offline files, the report strings
// (the app answers Vary: Accept-Language, Cookie; offline, the copy kept is the answer)
var dataFirst = new NetworkFirst({ cacheName: CACHES.data, networkTimeoutSeconds: 5, matchOptions: { ignoreVary: true },
                                   plugins: [ok, stamp, cachedNotice('data'), openAgain, bounded(12, 60)] });
route(function (o) { return o.url.origin === self.location.origin && o.url.pathname === '/api/stations' && o.url.searchParams.get('fields') === 'compact'; }, dataFirst);
route(function (o) { return o.url.origin === self.location.origin && (o.url.pathname === STATIONS_FILE || o.url.pathname === PLACES_FILE || o.url.pathname === '/offline/lakes.json' || o.url.pathname === '/api/reports/strings'); }, dataFirst);

/* ------------------------------------------------------------------ answers made here when the network fails */
function langOf(url) { return url.searchParams.get('lang') === 'en' ? 'en' : 'zh'; }
function cachedJSON(path, lang) {
  return caches.open(CACHES.data).then(function (c) {
    return c.match(path + '?lang=' + lang, { ignoreVary: true });
  }).then(function (r) {
    if (!r) { throw new Error('not saved: ' + path); }
    var at = r.headers.get(FETCHED);
    return r.json().then(function (j) { j._fetchedAt = at; return j; });
  });
}
function json(body, extraHeaders) {
  var h = { 'Content-Type': 'application/json', 'X-Yizhan-Offline': '1' };
  Object.keys(extraHeaders || {}).forEach(function (k) { h[k] = extraHeaders[k]; });
  return new Response(JSON.stringify(body), { status: 200, headers: h });
}
function networkElse(makeAnswer, kind) {
  return function (o) {
    return fetch(o.request).catch(function (err) {
      return makeAnswer(o.url).then(function (answer) {
        tell(clientOf(o.event), { type: 'yz-cached', kind: kind, url: o.url.href, fetchedAt: answer._fetchedAt });
        delete answer._fetchedAt;
        return json(answer);
      }, function () { throw err; });
    });
  };
}

// the open state now, from the 15-minute slots of the stations file (unknown after its 7 days: not open)
function openNow(file, pattern, status) {
  if (status !== 'open') { return false; }
  var slot = Math.floor((Date.now() - file.slot_start_ms) / (file.slot_minutes * 60000));
  var bits = file.patterns[pattern] || '';
  return slot >= 0 && slot < bits.length && bits.charAt(slot) === '1';
}
function props(file, row) {
  var c = {};
  file.columns.forEach(function (name, i) { c[name] = row[i]; });
  var services = [];
  file.service_keys.forEach(function (key, j) { if (c.sv & (1 << j)) { services.push(key); } });
  return { id: c.id, name: c.name, address: c.address, hours_text: c.hours_text, host_label: c.host_label,
           phone: c.phone, status: c.status, status_label: c.status_label, services: services,
           service_labels: c.service_labels, demo: c.demo, open_now: openNow(file, c.pattern, c.status),
           offline: true, _lon: c.lon, _lat: c.lat, _sv: c.sv };
}
var R = 6371008.8;
function haversine(lon1, lat1, lon2, lat2) {
  var p = Math.PI / 180, dLat = (lat2 - lat1) * p, dLon = (lon2 - lon1) * p;
  var a = Math.sin(dLat / 2) * Math.sin(dLat / 2) + Math.cos(lat1 * p) * Math.cos(lat2 * p) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}
// webmap.features.nav_links, the same strings: Amap (GCJ-02, walking), Baidu (BD-09), geo: (WGS-84)
function formEncode(params) {  // Python's urlencode (quote_plus)
  return params.map(function (kv) {
    var enc = function (v) {
      return encodeURIComponent(v).replace(/[!'()*]/g, function (c) { return '%' + c.charCodeAt(0).toString(16).toUpperCase(); }).replace(/%20/g, '+');
    };
    return enc(kv[0]) + '=' + enc(kv[1]);
  }).join('&');
}
function quote(v) {  // Python's quote (safe '/')
  return encodeURIComponent(v).replace(/[!'()*]/g, function (c) { return '%' + c.charCodeAt(0).toString(16).toUpperCase(); }).replace(/%2F/g, '/');
}
function navLinks(lon, lat, name, address, origin, here) {
  var g = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02), b = gcoord.transform(g, gcoord.GCJ02, gcoord.BD09);
  var f = function (x) { return x.toFixed(6); };
  var amap = [['to', f(g[0]) + ',' + f(g[1]) + ',' + name], ['mode', 'walk'], ['coordinate', 'gaode'], ['callnative', '1'], ['src', 'yizhan']];
  var baidu;
  if (origin) {
    var og = gcoord.transform(origin, gcoord.WGS84, gcoord.GCJ02), ob = gcoord.transform(og, gcoord.GCJ02, gcoord.BD09);
    amap.unshift(['from', f(og[0]) + ',' + f(og[1]) + ',' + here]);
    baidu = 'https://api.map.baidu.com/direction?' + formEncode([
      ['origin', 'latlng:' + f(ob[1]) + ',' + f(ob[0]) + '|name:' + here],
      ['destination', 'latlng:' + f(b[1]) + ',' + f(b[0]) + '|name:' + name],
      ['mode', 'walking'], ['region', '云南'], ['coord_type', 'bd09ll'], ['output', 'html'], ['src', 'yizhan']]);
  } else {
    baidu = 'https://api.map.baidu.com/marker?' + formEncode([
      ['location', f(b[1]) + ',' + f(b[0])], ['title', name], ['content', address || name],
      ['coord_type', 'bd09ll'], ['output', 'html'], ['src', 'yizhan']]);
  }
  return { amap: 'https://uri.amap.com/navigation?' + formEncode(amap), baidu: baidu,
           geo: 'geo:' + f(lat) + ',' + f(lon) + '?q=' + f(lat) + ',' + f(lon) + '(' + quote(name) + ')' };
}
function withNav(p, file, origin) {
  p.nav = navLinks(p._lon, p._lat, p.name, p.address, origin, file.my_location);
  return p;
}
function feature(p) {
  var f = { type: 'Feature', id: p.id, geometry: { type: 'Point', coordinates: [p._lon, p._lat] }, properties: p };
  delete p._lon; delete p._lat; delete p._sv;
  return f;
}
function nearestOffline(url) {
  var lang = langOf(url);
  return cachedJSON(STATIONS_FILE, lang).then(function (file) {
    var lat = Number(url.searchParams.get('lat')), lon = Number(url.searchParams.get('lon'));
    var k = Math.max(1, Math.min(50, Number(url.searchParams.get('k')) || 5));
    var wanted = url.searchParams.getAll('service').join(',').split(',').filter(Boolean);
    var bits = 0;
    wanted.forEach(function (s) { var j = file.service_keys.indexOf(s); if (j >= 0) { bits |= (1 << j); } });
    var openOnly = ['1', 'true', 'yes', 'on'].indexOf((url.searchParams.get('open_now') || '').toLowerCase()) >= 0;
    var hits = [];
    file.stations.forEach(function (row) {
      var p = props(file, row);
      if ((p._sv & bits) !== bits || (openOnly && !p.open_now)) { return; }
      p.distance_m = Math.round(haversine(lon, lat, p._lon, p._lat) * 10) / 10;
      hits.push(p);
    });
    hits.sort(function (a, b) { return a.distance_m - b.distance_m; });
    hits = hits.slice(0, k);
    hits.forEach(function (p) { p.walk_min = Math.ceil(p.distance_m / 1000 / 4.5 * 60); withNav(p, file, [lon, lat]); });
    return { type: 'FeatureCollection', offline: true, numberReturned: hits.length,
             distance: 'great-circle metres worked out on the phone (straight line, not a route)',
             features: hits.map(feature), _fetchedAt: file._fetchedAt };
  });
}
function stationOffline(url) {
  var id = decodeURIComponent(url.pathname.replace(/^\/api\/stations\//, ''));
  return cachedJSON(STATIONS_FILE, langOf(url)).then(function (file) {
    for (var i = 0; i < file.stations.length; i++) {
      if (file.stations[i][0] === id) {
        var p = props(file, file.stations[i]);
        var lat = url.searchParams.get('lat'), lon = url.searchParams.get('lon');
        var origin = null;
        if (lat !== null && lon !== null) {
          origin = [Number(lon), Number(lat)];
          p.distance_m = Math.round(haversine(origin[0], origin[1], p._lon, p._lat) * 10) / 10;
        }
        withNav(p, file, origin);
        var f = feature(p);
        f._fetchedAt = file._fetchedAt;
        return f;
      }
    }
    throw new Error('no such station offline');
  });
}
// the place search as stations.places.search does it: prefix of the normalised query against each place's keys,
// exact before prefix, then the class order (rank), then shorter names
function normalise(q) {
  return String(q || '').normalize('NFKC').trim().toLowerCase().replace(/ü/g, 'v').replace(/[\s'’‘`\-·・.,，。]+/g, '');
}
function placesOffline(url) {
  return cachedJSON(PLACES_FILE, langOf(url)).then(function (file) {
    var q = normalise(url.searchParams.get('q'));
    var limit = Math.max(1, Math.min(50, Number(url.searchParams.get('limit')) || 10));
    var found = [];
    if (q) {
      file.places.forEach(function (p) {
        var best = null;
        p.keys.forEach(function (key) {
          if (key === q) { best = 0; } else if (best === null && key.indexOf(q) === 0) { best = 1; }
        });
        if (best !== null) { found.push({ p: p, how: best }); }
      });
    }
    found.sort(function (a, b) {
      return (a.how - b.how) || (a.p.rank - b.p.rank) || ((a.p.name_zh || a.p.name_en || '').length - (b.p.name_zh || b.p.name_en || '').length) || (a.p.id < b.p.id ? -1 : 1);
    });
    var places = found.slice(0, limit).map(function (x) {
      var out = {};
      Object.keys(x.p).forEach(function (k) { if (k !== 'keys') { out[k] = x.p[k]; } });
      out.match = x.how === 0 ? 'exact' : 'prefix';
      return out;
    });
    return { query: url.searchParams.get('q'), offline: true, places: places, _fetchedAt: file._fetchedAt };
  });
}
function sameOrigin(o) { return o.url.origin === self.location.origin; }
route(function (o) { return sameOrigin(o) && o.url.pathname === '/api/nearest'; }, networkElse(nearestOffline, 'nearest'));
route(function (o) { return sameOrigin(o) && o.url.pathname === '/api/places'; }, networkElse(placesOffline, 'places'));
route(function (o) { return sameOrigin(o) && /^\/api\/stations\/[^/]+$/.test(o.url.pathname); }, networkElse(stationOffline, 'station'));
