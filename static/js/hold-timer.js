// Counts down the hold on the details page. Without JavaScript the page says the end time.
// At 0:00 the line says what happens next instead (the same words the server page uses).
(function () {
  var el = document.querySelector("[data-seconds-left]");
  if (!el) return;
  var line = el.closest("[data-ended-text]");
  var endsAt = Date.now() + parseInt(el.getAttribute("data-seconds-left"), 10) * 1000;
  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    if (left === 0 && line) {
      line.textContent = line.getAttribute("data-ended-text");
      return;
    }
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    el.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " minutes";
    setTimeout(tick, 1000);
  }
  tick();
})();
