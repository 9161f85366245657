// Counts down the hold on the details page. Without JavaScript the page says the end time.
(function () {
  var el = document.querySelector("[data-seconds-left]");
  if (!el) return;
  var endsAt = Date.now() + parseInt(el.getAttribute("data-seconds-left"), 10) * 1000;
  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    el.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " minutes";
    if (left > 0) setTimeout(tick, 1000);
  }
  tick();
})();
