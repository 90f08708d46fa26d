// After a form is sent with errors, move the focus (and the eye) to the error summary at the
// top of the form (id « probleme », tabindex=-1). Without scripts the summary is still
// announced (role=alert) and each of its links leads to the field's own message.
(function () {
  var summary = document.getElementById("probleme");
  if (summary && !window.location.hash) {
    summary.focus();
  }
})();
