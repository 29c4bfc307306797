/* yizhan: the helpers every page script shares, on the one namespace window.YZ.
 *
 * Loaded by base.html before the page scripts (finder.js, planner.js, whatif.js, print_atlas.js); no build
 * step, ES5 syntax. Text goes into the page through textContent, never innerHTML.
 *
 * The planner announces its Leaflet map: planner.js keeps it as YZ.plannerMap and dispatches
 * YZ.PLANNER_MAP_EVENT ("yz:planner-map", detail {map}) on document; YZ.onPlannerMap(fn) calls fn with it
 * whether the map exists already or comes later.
 */
(function () {
  'use strict';

  var YZ = window.YZ = window.YZ || {};

  /* the element with this id */
  YZ.$ = function (id) { return document.getElementById(id); };

  /* the parsed JSON of a <script type="application/json" id=...> block; `fallback` when it is absent or unreadable
     (without a fallback, a missing block throws) */
  YZ.readJSON = function (id, fallback) {
    if (arguments.length < 2) { return JSON.parse(document.getElementById(id).textContent); }
    try { return JSON.parse(document.getElementById(id).textContent) || fallback; } catch (e) { return fallback; }
  };

  /* a new element. attrs: "text" sets textContent, "class" the class, any other key an attribute (null skips it).
     content: an array of children (nodes or strings; null and undefined are skipped), or one value shown as text. */
  YZ.el = function (tag, attrs, content) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') { node.textContent = attrs[k]; }
        else if (k === 'class') { node.className = attrs[k]; }
        else { node.setAttribute(k, attrs[k]); }
      });
    }
    if (Array.isArray(content)) {
      content.forEach(function (c) {
        if (c !== null && c !== undefined) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); }
      });
    } else if (content !== null && content !== undefined) {
      node.textContent = content;
    }
    return node;
  };

  /* a number formatter for the page's language: fmt(v, nd) gives v with exactly nd decimals (default 0) and
     grouping as the locale writes it ("12,345.6"); "–" for null or undefined */
  YZ.numberFormat = function (lang) {
    var locale = lang === 'en' ? 'en' : 'zh-CN';
    return function (v, nd) {
      if (v === null || v === undefined) { return '–'; }
      return Number(v).toLocaleString(locale, { maximumFractionDigits: nd || 0, minimumFractionDigits: nd || 0 });
    };
  };

  /* a translated message with its placeholders filled: "%(name)s" (gettext style) or "{name}"; a placeholder
     without a value is left as written */
  YZ.interpolate = function (template, values) {
    return String(template || '').replace(/%\((\w+)\)s|\{(\w+)\}/g, function (m, a, b) {
      var v = values ? values[a || b] : undefined;
      return v !== undefined && v !== null ? String(v) : m;
    });
  };

  /* a query string from an object: empty values ('', null, undefined) are left out, arrays repeat the key */
  YZ.query = function (params) {
    var usp = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (Array.isArray(v)) { v.forEach(function (x) { usp.append(k, x); }); }
      else if (v !== undefined && v !== null && v !== '') { usp.append(k, v); }
    });
    return usp.toString();
  };

  /* fetch JSON (opts as for fetch; by default a GET asking for JSON). Resolves with the body; an HTTP error
     rejects with the API's message ({"error": {"message", "parameter"}}), err.parameter and err.status set. */
  YZ.getJSON = function (url, opts) {
    return fetch(url, opts || { headers: { Accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) {
          var err = new Error((body && body.error && body.error.message) || r.statusText);
          err.parameter = body && body.error && body.error.parameter;
          err.status = r.status;
          throw err;
        }
        return body;
      });
    });
  };

  /* ------------------------------------------------------------------ the planner's map */
  YZ.PLANNER_MAP_EVENT = 'yz:planner-map';

  /* planner.js: keep the map and tell the listeners */
  YZ.announcePlannerMap = function (map) {
    YZ.plannerMap = map;
    document.dispatchEvent(new CustomEvent(YZ.PLANNER_MAP_EVENT, { detail: { map: map } }));
  };

  /* fn(map) once the planner's map exists (at once when it already does) */
  YZ.onPlannerMap = function (fn) {
    if (YZ.plannerMap) { fn(YZ.plannerMap); return; }
    document.addEventListener(YZ.PLANNER_MAP_EVENT, function handler(e) {
      document.removeEventListener(YZ.PLANNER_MAP_EVENT, handler);
      fn(e.detail.map);
    });
  };
}());
