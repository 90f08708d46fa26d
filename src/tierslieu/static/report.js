// « Imprimer » on the Bilan page and the printable sheets: shown only when scripts run (same-origin file, no inline code).
(function () {
  var button = document.getElementById("imprimer");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
