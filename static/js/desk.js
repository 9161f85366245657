// Drag a visit to a new time on the desk's calendar. The drop posts the same form as the
// visit page's move buttons (day, wall-clock time, practitioner) to the same server action;
// a refusal (the time is taken, outside hours...) is said in the status line and nothing moves.
(function () {
  "use strict";
  var board = document.querySelector("[data-desk-board]");
  if (!board || !window.fetch || !window.FormData) return;
  var status = document.getElementById("desk-status");
  var dragged = null;

  function say(message, isError) {
    status.textContent = message;
    status.className = "desk-status" + (isError ? " desk-status-error" : "");
  }

  board.querySelectorAll("[data-move-url]").forEach(function (link) {
    var block = link.closest(".desk-block");
    link.setAttribute("draggable", "true");
    link.addEventListener("dragstart", function (event) {
      dragged = link;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", link.getAttribute("data-move-url"));
      block.classList.add("desk-dragging");
    });
    link.addEventListener("dragend", function () {
      block.classList.remove("desk-dragging");
      dragged = null;
    });
  });

  board.querySelectorAll(".desk-cell").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      cell.classList.add("desk-drop");
    });
    cell.addEventListener("dragleave", function () {
      cell.classList.remove("desk-drop");
    });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      cell.classList.remove("desk-drop");
      if (dragged) move(dragged, cell);
    });
  });

  function move(link, cell) {
    var lane = cell.closest("[data-day]");
    var form = new FormData();
    form.append("csrf_token", board.getAttribute("data-csrf"));
    form.append("day", lane.getAttribute("data-day"));
    form.append("time", cell.getAttribute("data-time"));
    form.append("practitioner", lane.getAttribute("data-practitioner"));
    say("Moving the visit…", false);
    fetch(link.getAttribute("data-move-url"), {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(
          function (result) { return { ok: response.ok, result: result }; },
          function () { return { ok: false, result: {} }; }
        );
      })
      .then(function (answer) {
        if (answer.ok) {
          window.location.reload(); // the page shows the visit in its new place, and the message
        } else {
          say(answer.result.message || "The visit could not be moved. Open it to move it.", true);
        }
      })
      .catch(function () {
        say("The visit could not be moved: no connection. Please try again.", true);
      });
  }
})();
