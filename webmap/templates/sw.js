/* yizhan service worker (webmap/offline.py renders it at /sw.js). Release {{ release }}.
 *
 * Workbox from the app's own copy (static/vendor/workbox, modulePathPrefix): never a CDN. Every cache is named
 * after the release, so a new release replaces them (cleanupOutdatedCaches for the precache, the activate step
 * below for the others).
 *   - the finder's shell (scripts, styles, icons, outlines): precached, matched without their ?v= parameter;
 *   - the finder page: network first (4 s), the cached copy when there is no network;
 *   - the station list, the stations file, the places file, the report strings: network first (5 s) with the
 *     cached copy as fallback; a late network answer still refreshes the cache (quiet refresh);
 *   - /api/nearest, /api/places, /api/stations/<id>, /api/stations?fields=ids (the map's "open at"): the network;
 *     without it, answered here from the cached stations and places files, and the page is told so. The answers
 *     keep the server's rules (webmap.api): the nearest station open at `at` first (nearest_open_id), open_at and
 *     open_24h from the saved 15-minute slots, walk_min only within walk_max_m, hours_unknown never open;
 *     distances are geodesic metres on the WGS-84 ellipsoid, as the server's.
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
var WALK_KMH = {{ walk_kmh|tojson }}, WALK_MAX_M = {{ walk_max_m|tojson }};  // webmap.features
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
// are set again for now from the 15-minute slots of the saved stations file (when there is one). The map's list
// is columns (fields=columns: the `open` string of 0/1, one per id; `h24` does not change with the time and is
// kept); the older GeoJSON list (fields=compact) gets its open_now set the same way.
var openAgain = {
  cachedResponseWillBeUsed: function (args) {
    var r = args.cachedResponse, url = new URL(args.request.url);
    if (!r || url.pathname !== '/api/stations') { return r; }
    return Promise.all([r.clone().json(), cachedJSON(STATIONS_FILE, langOf(url))]).then(function (both) {
      var body = both[0], file = both[1], pattern = {}, status = {}, now = minuteOf(Date.now());
      var ci = file.columns.indexOf('pattern'), cs = file.columns.indexOf('status');
      file.stations.forEach(function (row) { pattern[row[0]] = row[ci]; status[row[0]] = row[cs]; });
      var isOpen = function (id) { return openAt(file, pattern[id], status[id], now); };
      if (Array.isArray(body.ids) && typeof body.open === 'string') {
        var flags = body.open.split('');
        body.ids.forEach(function (id, i) { if (id in pattern) { flags[i] = isOpen(id) ? '1' : '0'; } });
        body.open = flags.join('');
        body.at = shanghaiISO(now);
      } else if (Array.isArray(body.features)) {
        body.features.forEach(function (f) { if (f.id in pattern) { f.properties.open_now = isOpen(f.id); } });
      }
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
function mapList(o) {
  var f = o.url.searchParams.get('fields');
  return o.url.origin === self.location.origin && o.url.pathname === '/api/stations' && (f === 'columns' || f === 'compact');
}
route(mapList, dataFirst);
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
      return Promise.resolve(o.url).then(makeAnswer).then(function (answer) {
        tell(clientOf(o.event), { type: 'yz-cached', kind: kind, url: o.url.href, fetchedAt: answer._fetchedAt });
        delete answer._fetchedAt;
        return json(answer);
      }, function () { throw err; });
    });
  };
}

// times as the server reads them (webmap.params, stations.hours.resolve_open_at): Asia/Shanghai is UTC+8 all year;
// a time without a zone is Shanghai time; everything to the minute; epoch milliseconds here
var SH = 8 * 3600000, DAY = 86400000;
function minuteOf(ms) { return Math.floor(ms / 60000) * 60000; }
function shanghaiISO(ms) { return new Date(ms + SH).toISOString().slice(0, 16); }
function isoMs(raw, dateAlone) {
  var m = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.exec(String(raw).trim());
  if (!m || (m[4] === undefined && !dateAlone)) { throw new Error('unreadable time: ' + raw); }
  var ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
  if (!m[7]) { return ms - SH; }
  if (m[7] === 'Z') { return ms; }
  var off = m[7].replace(':', ''), sign = off.charAt(0) === '-' ? -1 : 1;
  return ms - sign * (Number(off.slice(1, 3)) * 3600000 + Number(off.slice(3, 5)) * 60000);
}
// {at, openAt}: `at` (default now) and `open_at` (HH:MM: the next such time from `at`; else an ISO date and time)
function timesOf(url) {
  var rawAt = url.searchParams.get('at'), rawOpen = url.searchParams.get('open_at');
  var at = minuteOf(rawAt === null ? Date.now() : isoMs(rawAt, true)), openAtMs = null;
  if (rawOpen !== null) {
    var hm = /^\s*(\d{1,2})[:：](\d{2})\s*$/.exec(rawOpen);
    if (hm) {
      if (+hm[1] > 23 || +hm[2] > 59) { throw new Error('bad open_at'); }
      openAtMs = Math.floor((at + SH) / DAY) * DAY - SH + (+hm[1] * 60 + +hm[2]) * 60000;
      if (openAtMs < at) { openAtMs += DAY; }
    } else {
      openAtMs = minuteOf(isoMs(rawOpen, false));
    }
  }
  return { at: at, openAt: openAtMs };
}
function flagOn(v) { return ['1', 'true', 'yes', 'on'].indexOf(String(v || '').toLowerCase()) >= 0; }
// the open state at `ms`, from the 15-minute slots of the stations file (unknown hours are never open; outside its
// 8 days the state is unknown: not open)
function openAt(file, pattern, status, ms) {
  if (status !== 'open') { return false; }
  var slot = Math.floor((ms - file.slot_start_ms) / (file.slot_minutes * 60000));
  var bits = file.patterns[pattern] || '';
  return slot >= 0 && slot < bits.length && bits.charAt(slot) === '1';
}
function walkMinutes(m) { return m > WALK_MAX_M ? null : Math.ceil(m / 1000 / WALK_KMH * 60); }  // webmap.features.walk_minutes
function props(file, row, at) {
  var c = {};
  file.columns.forEach(function (name, i) { c[name] = row[i]; });
  var services = [];
  file.service_keys.forEach(function (key, j) { if (c.sv & (1 << j)) { services.push(key); } });
  return { id: c.id, name: c.name, address: c.address, hours_text: c.hours_text, host_label: c.host_label,
           phone: c.phone, status: c.status, status_label: c.status_label, services: services,
           service_labels: c.service_labels, demo: c.demo, open_now: openAt(file, c.pattern, c.status, at),
           hours_unknown: !!c.hours_unknown, offline: true,
           _lon: c.lon, _lat: c.lat, _sv: c.sv, _pattern: c.pattern, _h24: !!c.h24 };
}
var R = 6371008.8;
// geodesic metres on the WGS-84 ellipsoid (Vincenty's inverse formula: within a millimetre of the server's
// pyproj/Karney distances at these ranges, so the phone orders stations as the server does); the great circle
// if it does not converge (nearly antipodal points, never in Yunnan)
var WGS84 = { a: 6378137, f: 1 / 298.257223563 };
function geodesic(lon1, lat1, lon2, lat2) {
  var a = WGS84.a, f = WGS84.f, b = a * (1 - f), p = Math.PI / 180;
  var L = (lon2 - lon1) * p, U1 = Math.atan((1 - f) * Math.tan(lat1 * p)), U2 = Math.atan((1 - f) * Math.tan(lat2 * p));
  var sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
  var lambda = L, prev, sinS, cosS, sigma, cos2A, cos2Sm, n = 0;
  do {
    var sinL = Math.sin(lambda), cosL = Math.cos(lambda);
    sinS = Math.sqrt((cosU2 * sinL) * (cosU2 * sinL) + (cosU1 * sinU2 - sinU1 * cosU2 * cosL) * (cosU1 * sinU2 - sinU1 * cosU2 * cosL));
    if (sinS === 0) { return 0; }
    cosS = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
    sigma = Math.atan2(sinS, cosS);
    var sinA = cosU1 * cosU2 * sinL / sinS;
    cos2A = 1 - sinA * sinA;
    cos2Sm = cos2A !== 0 ? cosS - 2 * sinU1 * sinU2 / cos2A : 0;
    var C = f / 16 * cos2A * (4 + f * (4 - 3 * cos2A));
    prev = lambda;
    lambda = L + (1 - C) * f * sinA * (sigma + C * sinS * (cos2Sm + C * cosS * (-1 + 2 * cos2Sm * cos2Sm)));
  } while (Math.abs(lambda - prev) > 1e-12 && ++n < 200);
  if (n >= 200) { return haversine(lon1, lat1, lon2, lat2); }
  var u2 = cos2A * (a * a - b * b) / (b * b);
  var A = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
  var B = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
  var dS = B * sinS * (cos2Sm + B / 4 * (cosS * (-1 + 2 * cos2Sm * cos2Sm) - B / 6 * cos2Sm * (-3 + 4 * sinS * sinS) * (-3 + 4 * cos2Sm * cos2Sm)));
  return b * A * (sigma - dS);
}
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
  delete p._lon; delete p._lat; delete p._sv; delete p._pattern; delete p._h24;
  return f;
}
function serviceBits(file, url) {
  var bits = 0;
  url.searchParams.getAll('service').join(',').split(',').filter(Boolean).forEach(function (s) {
    var j = file.service_keys.indexOf(s);
    if (j < 0) { throw new Error('unknown service ' + s); }
    bits |= (1 << j);
  });
  return bits;
}
// as webmap.api.nearest: the k nearest passing the filters (services, open_now, open_at, open_24h, max_km), the
// nearest station open at `at` first (looked up beyond the k when none of them is open: then it takes the
// farthest one's place), walk_min only within WALK_MAX_M
function nearestOffline(url) {
  var lang = langOf(url);
  return cachedJSON(STATIONS_FILE, lang).then(function (file) {
    var lat = Number(url.searchParams.get('lat')), lon = Number(url.searchParams.get('lon'));
    var k = Math.max(1, Math.min(50, Number(url.searchParams.get('k')) || 5));
    var bits = serviceBits(file, url), t = timesOf(url);
    var wantOpen = flagOn(url.searchParams.get('open_now')), want24 = flagOn(url.searchParams.get('open_24h'));
    var maxKm = url.searchParams.get('max_km'), maxM = maxKm ? Number(maxKm) * 1000 : Infinity;
    var all = [];
    file.stations.forEach(function (row) {
      var p = props(file, row, t.at);
      if ((p._sv & bits) !== bits || (want24 && !p._h24)) { return; }
      if (t.openAt !== null && !openAt(file, p._pattern, p.status, t.openAt)) { return; }
      p.distance_m = Math.round(geodesic(lon, lat, p._lon, p._lat) * 10) / 10;
      if (p.distance_m <= maxM) { all.push(p); }
    });
    all.sort(function (a, b) { return a.distance_m - b.distance_m; });
    var hits = (wantOpen ? all.filter(function (p) { return p.open_now; }) : all).slice(0, k);
    var first = null;
    for (var i = 0; i < hits.length && !first; i++) { if (hits[i].open_now) { first = hits[i]; } }
    if (!first && hits.length) {
      for (var j = 0; j < all.length && !first; j++) { if (all[j].open_now) { first = all[j]; } }
      if (first) { hits = [first].concat(hits.length < k ? hits : hits.slice(0, k - 1)); }
    } else if (first && first !== hits[0]) {
      hits = [first].concat(hits.filter(function (p) { return p !== first; }));
    }
    hits.forEach(function (p) {
      var w = walkMinutes(p.distance_m);
      if (w !== null) { p.walk_min = w; }
      withNav(p, file, [lon, lat]);
    });
    return { type: 'FeatureCollection', offline: true,
             query: { lat: lat, lon: lon, k: k, service: file.service_keys.filter(function (s, j) { return bits & (1 << j); }),
                      open_now: wantOpen, max_km: maxKm ? Number(maxKm) : null, at: shanghaiISO(t.at),
                      open_at: t.openAt === null ? null : shanghaiISO(t.openAt), open_24h: want24 },
             distance: 'geodesic metres on the WGS-84 ellipsoid worked out on the phone (straight line, not a route)',
             walk_kmh: WALK_KMH, walk_max_m: WALK_MAX_M, nearest_open_id: first ? first.id : null,
             numberReturned: hits.length, distance_kind: 'straight',
             features: hits.map(feature), _fetchedAt: file._fetchedAt };
  });
}
// the map's "open at 22:00" (fields=ids) as webmap.api.stations answers it: the ids passing the filters, in the
// list's order; places the file does not know (bbox, prefecture, county) are left to the network
function idsOffline(url) {
  ['bbox', 'prefecture', 'county'].forEach(function (n) { if (url.searchParams.get(n)) { throw new Error('not offline: ' + n); } });
  return cachedJSON(STATIONS_FILE, langOf(url)).then(function (file) {
    var bits = serviceBits(file, url), t = timesOf(url);
    var wantOpen = flagOn(url.searchParams.get('open_now')), want24 = flagOn(url.searchParams.get('open_24h'));
    var statuses = url.searchParams.getAll('status').join(',').split(',').filter(Boolean);
    var limit = Number(url.searchParams.get('limit')) || 10000, offset = Number(url.searchParams.get('offset')) || 0;
    var c = {};
    file.columns.forEach(function (name, i) { c[name] = i; });
    var ids = file.stations.filter(function (row) {
      var status = row[c.status];
      return (row[c.sv] & bits) === bits && (!statuses.length || statuses.indexOf(status) >= 0) &&
        (!wantOpen || openAt(file, row[c.pattern], status, t.at)) && (!want24 || row[c.h24]) &&
        (t.openAt === null || openAt(file, row[c.pattern], status, t.openAt));
    }).map(function (row) { return row[c.id]; });
    return { numberMatched: ids.length, ids: ids.slice(offset, offset + limit), at: shanghaiISO(t.at),
             open_at: t.openAt === null ? null : shanghaiISO(t.openAt), offline: true, _fetchedAt: file._fetchedAt };
  });
}
function stationOffline(url) {
  var id = decodeURIComponent(url.pathname.replace(/^\/api\/stations\//, ''));
  return cachedJSON(STATIONS_FILE, langOf(url)).then(function (file) {
    for (var i = 0; i < file.stations.length; i++) {
      if (file.stations[i][0] === id) {
        var p = props(file, file.stations[i], timesOf(url).at);
        var lat = url.searchParams.get('lat'), lon = url.searchParams.get('lon');
        var origin = null;
        if (lat !== null && lon !== null) {
          origin = [Number(lon), Number(lat)];
          p.distance_m = Math.round(geodesic(origin[0], origin[1], p._lon, p._lat) * 10) / 10;
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
route(function (o) { return sameOrigin(o) && o.url.pathname === '/api/stations' && o.url.searchParams.get('fields') === 'ids'; },
      networkElse(idsOffline, 'open_at'));
route(function (o) { return sameOrigin(o) && /^\/api\/stations\/[^/]+$/.test(o.url.pathname); }, networkElse(stationOffline, 'station'));
