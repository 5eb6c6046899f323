// A "copy" button for a block of text (the report's reproduce command). Hidden without JavaScript or
// without the Clipboard API; the text stays selectable either way.
(function () {
  "use strict";
  document.querySelectorAll("button[data-target]").forEach(function (button) {
    const target = document.getElementById(button.dataset.target);
    if (!target || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.innerText.trim()).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select the text to copy it"; }
      );
    });
  });
})();
