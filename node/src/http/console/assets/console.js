// The Jaring console's one script (besides htmx): shows every
// <time datetime="..."> in the viewer's time zone, with its UTC offset.
// Without scripts, times stay in UTC with "+00:00" shown.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function local(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return null; }
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    var a = Math.abs(off);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + " " +
      sign + pad(Math.floor(a / 60)) + ":" + pad(a % 60);
  }
  function localize(root) {
    if (!root || !root.querySelectorAll) { return; }
    var all = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < all.length; i++) {
      var t = all[i];
      var shown = local(t.getAttribute("datetime"));
      if (shown) { t.textContent = shown; t.setAttribute("title", t.getAttribute("datetime")); }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { localize(document); });
  document.addEventListener("htmx:load", function (e) { localize(e.target); });
})();
