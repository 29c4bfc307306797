/* /print page: draw a sheet with progress instead of a blank new tab (issue 12 §4).
 *
 * Without this script the form opens /print/sheet.pdf (or .png) in a new tab. With it, "Make PDF" / "Make PNG"
 * fetch the sheet here: a progress bar and the seconds spent show while the server draws; then "Open the sheet"
 * and "Save the file" links (an object URL of the file) appear, with a preview for a PNG. A refused request
 * (HTTP 400 {"error": {"parameter", "message"}}) shows its message and marks the field it names. "Cancel"
 * aborts the request. Strings come from the #sheet-strings block in the page's language; helpers from common.js.
 * With a street network the form has a distance choice (straight / on foot), sent as distance=; choosing it
 * switches the radius between its two defaults (1000 m straight, 1125 m on foot).
 * No inline script or handler: the page runs under a Content-Security-Policy without 'unsafe-inline'.
 */
(function () {
  "use strict";
  var YZ = window.YZ;
  var S = YZ.readJSON("sheet-strings", {});
  var fmt = YZ.interpolate;

  function init() {
    var form = YZ.$("print-form");
    var box = YZ.$("sheet-job");
    if (!form || !box || !window.fetch || !window.URLSearchParams) return;
    var bar = YZ.$("sheet-progress");
    var state = YZ.$("sheet-state");
    var cancel = YZ.$("sheet-cancel");
    var open = YZ.$("sheet-open");
    var save = YZ.$("sheet-download");
    var preview = YZ.$("sheet-preview");
    var buttons = form.querySelectorAll("button[type=submit]");
    var lastButton = null;
    var controller = null;
    var timer = null;
    var objectUrl = null;

    function say(text, isError) {
      state.textContent = text || "";
      state.classList.toggle("error", !!isError);
    }

    function busy(on) {
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = on;
      bar.hidden = !on;
      cancel.hidden = !on;
      box.dataset.state = on ? "drawing" : box.dataset.state;
    }

    function clearResult() {
      open.hidden = save.hidden = preview.hidden = true;
      if (objectUrl) { URL.revokeObjectURL(objectUrl); objectUrl = null; }
      var marked = form.querySelectorAll(".field-error");
      for (var i = 0; i < marked.length; i++) marked[i].classList.remove("field-error");
    }

    function markField(name) {
      if (!name) return;
      var field = form.querySelector('[name="' + name + '"]');
      if (field) {
        var target = field.closest("fieldset") || field;
        target.classList.add("field-error");
      }
    }

    function fileName(resp, fallback) {
      var cd = resp.headers.get("Content-Disposition") || "";
      var m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
      return m ? decodeURIComponent(m[1]) : fallback;
    }

    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (ev) { lastButton = ev.currentTarget; });
    }

    // issue 13: on foot the radius is walking metres; switch its default with the distance (a radius the user
    // typed is kept)
    var distance = YZ.$("print-distance");
    if (distance) {
      var radius = form.querySelector('[name="radius"]');
      Array.prototype.forEach.call(distance.querySelectorAll('input[name="distance"]'), function (input) {
        input.addEventListener("change", function () {
          var walk = input.value === "network" && input.checked;
          var from = walk ? distance.dataset.straightRadius : distance.dataset.walkRadius;
          if (radius && radius.value === from) radius.value = walk ? distance.dataset.walkRadius : distance.dataset.straightRadius;
        });
      });
    }

    cancel.addEventListener("click", function () {
      if (controller) controller.abort();
    });

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (box.dataset.state === "drawing") return;
      var button = ev.submitter || lastButton || buttons[0];
      var action = (button && button.getAttribute("formaction")) || form.getAttribute("action");
      var isPng = /\.png(\?|$)/.test(action);
      var params = new URLSearchParams(new FormData(form));
      if (!isPng) params.delete("dpi");
      var url = action + "?" + params.toString();
      clearResult();
      box.hidden = false;
      busy(true);
      var started = Date.now();
      var tick = function () { say(fmt(S.drawing, {seconds: Math.round((Date.now() - started) / 1000)})); };
      tick();
      timer = setInterval(tick, 1000);
      controller = window.AbortController ? new AbortController() : null;
      fetch(url, {cache: "no-store", signal: controller ? controller.signal : undefined})
        .then(function (resp) {
          var type = resp.headers.get("Content-Type") || "";
          if (resp.ok && type.indexOf("application/json") < 0) {
            var name = fileName(resp, isPng ? "sheet.png" : "sheet.pdf");
            return resp.blob().then(function (blob) {
              objectUrl = URL.createObjectURL(blob);
              open.href = objectUrl;
              save.href = objectUrl;
              save.setAttribute("download", name);
              open.hidden = save.hidden = false;
              if (isPng) { preview.src = objectUrl; preview.hidden = false; }
              box.dataset.state = "done";
              say(fmt(S.ready, {seconds: ((Date.now() - started) / 1000).toFixed(1)}));
            });
          }
          return resp.json().then(function (body) {
            var err = (body && body.error) || {};
            markField(err.parameter);
            box.dataset.state = "error";
            say(fmt(S.error, {error: err.message || resp.status}), true);
          }, function () {
            box.dataset.state = "error";
            say(fmt(S.error, {error: resp.status + " " + resp.statusText}), true);
          });
        })
        .catch(function (e) {
          box.dataset.state = "error";
          if (e && e.name === "AbortError") say(S.cancelled);
          else say(S.offline, true);
        })
        .then(function () {
          clearInterval(timer);
          controller = null;
          var final = box.dataset.state;
          busy(false);
          box.dataset.state = final;
        });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
