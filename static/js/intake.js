// Intake pages, progressive enhancement only: every question works without this script.
// - Follow-up questions ("If yes or not sure: ...") stay hidden until their answer calls for them.
// - The error summary takes focus so that screen readers announce it first.
// - A form is sent once, however often its button is pressed.
(function () {
  var form = document.querySelector("form.intake-form");
  if (!form) return;

  function chosen(name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : "";
  }

  function parentHidden(name) {
    var input = form.querySelector('input[name="' + name + '"]');
    var block = input && input.closest("[data-follow-up-of]");
    return Boolean(block && block.hidden);
  }

  function update() {
    // Follow-ups come after their parent question, so one pass in order is enough.
    form.querySelectorAll("[data-follow-up-of]").forEach(function (block) {
      var parent = block.getAttribute("data-follow-up-of");
      var wanted = block.getAttribute("data-shown-when").split(" ");
      block.hidden = parentHidden(parent) || wanted.indexOf(chosen(parent)) === -1;
    });
  }

  form.addEventListener("change", update);
  update();

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) {
      event.preventDefault();
      return;
    }
    sent = true;
  });
})();
