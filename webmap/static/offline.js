/* yizhan finder offline: registers the service worker (/sw.js, webmap/offline.py) and says how old the data is.
 *
 * - After the worker controls the page, the files the phone needs without a network are fetched once through it
 *   (the map's station list, /offline/stations.json, /offline/places.json, /offline/lakes.json, the page itself),
 *   so the first visit is enough; later visits fetch them again when the saved copy is over 6 hours old.
 * - The worker posts {type: 'yz-cached', kind, fetchedAt} when a cached copy answered; the line #data-age then
 *   says "数据更新于 2026-12-02 14:00" (the oldest data on screen, in the phone's time) and, when the nearest
 *   stations or places were worked out on the phone, says so.
 * - Online again (the 'online' event, or a minute's check while the line shows), the same files are fetched again
 *   quietly through the network (not the worker's saved copy) and the line goes away.
 * The body carries data-sw="ready" once the worker controls the page and data-offline-warm="1" once the files
 * are saved (the browser tests wait for them).
 */
(function () {
  'use strict';

  var YZ = window.YZ || {};
  var cfg = YZ.readJSON ? YZ.readJSON('yz-offline', null) : null;
  if (!cfg || !('serviceWorker' in navigator)) { return; }
  var S = cfg.strings;
  var page = YZ.readJSON('yz-config', {});
  var fmt = YZ.interpolate;
  var oldest = null, notes = {};

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ''; }
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function show() {
    var box = document.getElementById('data-age');
    if (!box) { return; }
    box.textContent = '';
    if (!oldest) { box.hidden = true; document.body.removeAttribute('data-offline'); return; }
    // "离线" only when the phone says so: a slow network also gets the saved copy (after 5 s)
    var line = (navigator.onLine === false ? S.offline + ' · ' : '') + fmt(S.data_age, { time: when(oldest) });
    box.appendChild(document.createTextNode(line));
    box.setAttribute('data-fetched-at', oldest);
    ['nearest', 'places'].forEach(function (k) {
      if (notes[k]) { box.appendChild(document.createElement('br')); box.appendChild(document.createTextNode(S['offline_' + k])); }
    });
    box.hidden = false;
    document.body.setAttribute('data-offline', '1');
  }
  var pageWaiters = [];
  navigator.serviceWorker.addEventListener('message', function (e) {
    var m = e.data || {};
    if (m.type === 'yz-page-saved') { pageWaiters.splice(0).forEach(function (f) { f(!!m.ok); }); return; }
    if (m.type !== 'yz-cached' || m.kind === 'page') { return; }
    if (m.fetchedAt && (!oldest || m.fetchedAt < oldest)) { oldest = m.fetchedAt; }
    if (m.kind === 'nearest' || m.kind === 'places') { notes[m.kind] = true; }
    show();
  });

  function urls() {
    var list = [cfg.stations, cfg.places, cfg.lakes];
    if (page.api && page.api.stations_map) { list.unshift(page.api.stations_map); }
    if (page.api && page.api.station) {  // the report strings of the station cards
      list.push(page.api.station.replace(/stations\/__ID__$/, 'reports/strings') + '?lang=' + (page.lang || 'zh'));
    }
    return list;
  }
  // a saved copy younger than `hours` (the big stations file is not fetched again on every visit)
  function fresh(u, hours) {
    if (!window.caches) { return Promise.resolve(false); }
    return caches.match(u, { ignoreVary: true }).then(function (r) {
      var at = r && r.headers.get('X-Yizhan-Fetched-At');
      return !!at && (Date.now() - new Date(at).getTime()) < hours * 3600000;
    }, function () { return false; });
  }
  // through the worker: its network-first routes keep what arrives
  function warm(force) {
    var sw = navigator.serviceWorker.controller;
    var pageSaved = new Promise(function (resolve) {
      if (!sw) { resolve(false); return; }
      var timer = setTimeout(function () { resolve(false); }, 15000);
      pageWaiters.push(function (ok) { clearTimeout(timer); resolve(ok); });
      sw.postMessage({ type: 'yz-warm-page', url: location.href });
    });
    return Promise.all([pageSaved].concat(urls().map(function (u) {
      return (force ? Promise.resolve(false) : fresh(u, 6)).then(function (ok) {
        if (ok) { return true; }
        // ok only when the network answered (not the worker's saved copy)
        return fetch(u, { credentials: 'same-origin', headers: { 'X-Yizhan-Warm': '1' } }).then(function (r) {
          return r.ok && !r.headers.get('X-Yizhan-From-Cache');
        }, function () { return false; });
      });
    }))).then(function (oks) {
      if (oks.every(Boolean)) { document.body.setAttribute('data-offline-warm', '1'); }
      return oks;
    });
  }
  // after the map has its stations: the saved copies never compete with the first screen for a slow network
  function afterMapData(fn) {
    var done = false, obs = null;
    function go() { if (!done) { done = true; if (obs) { obs.disconnect(); } setTimeout(fn, 300); } }
    if (document.body.hasAttribute('data-stations-loaded')) { go(); return; }
    obs = new MutationObserver(function () { if (document.body.hasAttribute('data-stations-loaded')) { go(); } });
    obs.observe(document.body, { attributes: true });
    setTimeout(go, 20000);
  }
  function controlled() {
    document.body.setAttribute('data-sw', 'ready');
    afterMapData(function () { warm(); });
  }

  // online again: fetch the saved files again (a few tries: the network may take a moment to really be there)
  function refresh(tries) {
    warm(true).then(function (oks) {
      if (oks.every(Boolean)) { oldest = null; notes = {}; show(); }
      else if (tries > 1 && navigator.onLine !== false) { setTimeout(function () { refresh(tries - 1); }, 2000); }
    });
  }
  window.addEventListener('online', function () { refresh(4); });
  // and, while the line says the data is saved, once a minute when the phone thinks it is online (a network that
  // came back without an 'online' event, a slow one that answers again)
  setInterval(function () { if (oldest && navigator.onLine !== false) { refresh(1); } }, 60000);
  // the worker's install fetches the whole shell (precache): on a slow line it must not compete with the map's
  // own requests, so it registers once the page has loaded, the stations are on the map and the phone is idle
  function register() {
    navigator.serviceWorker.register(cfg.sw, { scope: '/' }).then(function () {
      if (navigator.serviceWorker.controller) { controlled(); return; }
      navigator.serviceWorker.addEventListener('controllerchange', function once() {
        navigator.serviceWorker.removeEventListener('controllerchange', once);
        controlled();
      });
    }).catch(function () { /* no worker (private mode, old browser): the page works online as before */ });
  }
  function whenIdle(fn) {
    if (window.requestIdleCallback) { window.requestIdleCallback(fn, { timeout: 2000 }); } else { setTimeout(fn, 200); }
  }
  function onLoad(fn) {
    if (document.readyState === 'complete') { fn(); } else { window.addEventListener('load', fn); }
  }
  onLoad(function () {
    // a page already controlled (a repeat visit) has its worker: registering again only checks for an update
    if (navigator.serviceWorker.controller) { whenIdle(register); return; }
    afterMapData(function () { whenIdle(register); });
  });
}());
