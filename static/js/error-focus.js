// After a refused submit, move focus to the error summary (as the question pages do), so
// screen readers announce it and keyboard users start from the list of what to fix.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
