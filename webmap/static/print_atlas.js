/* /print page: the atlas is drawn by a background job on the server (issue 6); a prefecture's county atlas too
 * (issue 12 §4: the boxes with data-area-from name the <select> of the prefecture, sent as area=); on foot with
 * distance=network when the form's distance choice (#print-distance, only with a street network) says so.
 *
 * "Make the atlas" asks /print/atlas.pdf?paper=…; the server answers 202 (job started or running) with the
 * job's status, or the PDF itself when it is already kept. The page then polls /print/atlas/status?paper=…
 * (every Retry-After seconds) showing pages done of 17, and finally the download link. On load, each paper
 * size's status is asked once, so a finished or running atlas shows as such. Strings come from the
 * #atlas-strings block, in the page's language; the helpers from common.js (window.YZ).
 */
(function () {
  "use strict";
  var YZ = window.YZ;
  var S = YZ.readJSON("atlas-strings", {});
  var fmt = YZ.interpolate;

  function setup(box) {
    var start = box.querySelector(".atlas-start");
    var bar = box.querySelector(".atlas-progress");
    var state = box.querySelector(".atlas-state");
    var link = box.querySelector(".atlas-link");
    var areaSelect = box.dataset.areaFrom ? document.getElementById(box.dataset.areaFrom) : null;
    var timer = null;

    /* the job's address with the chosen prefecture (county atlas) and distance=network when on foot */
    function withArea(url) {
      var walk = document.querySelector('#print-distance input[name="distance"]:checked');
      if (walk && walk.value === "network") url += (url.indexOf("?") < 0 ? "?" : "&") + "distance=network";
      if (!areaSelect || !areaSelect.value) return url;
      return url + (url.indexOf("?") < 0 ? "?" : "&") + "area=" + encodeURIComponent(areaSelect.value);
    }

    function say(text, isError) {
      state.textContent = text || "";
      state.classList.toggle("error", !!isError);
    }

    function show(status, retryAfter) {
      clearTimeout(timer);
      var total = status.pages_total || 17;
      bar.max = total;
      if (status.state === "done") {
        bar.value = total;
        bar.hidden = true;
        if (status.download_url) link.href = status.download_url + (status.download_url.indexOf("?") < 0 ? "?" : "&") + "download=1";
        link.hidden = false;
        start.hidden = true;
        say(status.seconds ? fmt(S.ready, status) : S.ready_kept);
        box.dataset.state = "done";
      } else if (status.state === "running") {
        bar.hidden = false;
        bar.value = status.pages_done || 0;
        link.hidden = true;
        start.setAttribute("aria-disabled", "true");
        say(status.pages_done ? fmt(S.progress, {done: status.pages_done, total: total}) : S.starting);
        box.dataset.state = "running";
        timer = setTimeout(poll, Math.max(1, retryAfter || 2) * 1000);
      } else if (status.state === "error") {
        bar.hidden = true;
        start.removeAttribute("aria-disabled");
        start.hidden = false;
        say(fmt(S.error, status), true);
        box.dataset.state = "error";
      } else if (status.busy) {
        say(S.busy);
        box.dataset.state = "busy";
        timer = setTimeout(poll, Math.max(1, retryAfter || 2) * 1000);
      } else {
        box.dataset.state = status.state || "idle";
      }
    }

    function retryAfterOf(resp) {
      var value = parseFloat(resp.headers.get("Retry-After"));
      return isFinite(value) ? value : 2;
    }

    function poll() {
      fetch(withArea(box.dataset.status), {headers: {Accept: "application/json"}, cache: "no-store"})
        .then(function (resp) {
          return resp.json().then(function (body) { show(body, retryAfterOf(resp)); });
        })
        .catch(function () {
          say(S.offline, true);
          timer = setTimeout(poll, 5000);
        });
    }

    start.addEventListener("click", function (ev) {
      ev.preventDefault();
      if (box.dataset.state === "running") return;
      say(S.starting);
      fetch(withArea(box.dataset.start), {headers: {Accept: "application/json"}, cache: "no-store"})
        .then(function (resp) {
          var type = resp.headers.get("Content-Type") || "";
          if (resp.ok && type.indexOf("application/pdf") === 0) {
            // already drawn: the body is the PDF itself; show the link instead of keeping it in memory
            if (resp.body && resp.body.cancel) resp.body.cancel();
            poll();
            return null;
          }
          return resp.json().then(function (body) {
            if (resp.status === 202 || resp.status === 409) show(body, retryAfterOf(resp));
            else say(fmt(S.error, {error: body && body.error ? body.error.message : resp.status}), true);
          });
        })
        .catch(function () { say(S.offline, true); });
    });

    // the box starts over for another atlas: no progress, the start button for it, its status asked again
    function reset() {
      clearTimeout(timer);
      bar.hidden = true;
      link.hidden = true;
      start.hidden = false;
      start.removeAttribute("aria-disabled");
      start.href = withArea(box.dataset.start);
      say("");
      box.dataset.state = "idle";
      poll();
    }
    // issue 13: the atlas on foot is another atlas (its own job and file)
    Array.prototype.forEach.call(document.querySelectorAll('#print-distance input[name="distance"]'), function (input) {
      input.addEventListener("change", reset);
    });

    if (areaSelect) {
      areaSelect.addEventListener("change", reset);  // another prefecture is another atlas
      start.href = withArea(box.dataset.start);
    }
    poll();
  }

  function init() {
    var boxes = document.querySelectorAll(".atlas-job");
    for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
