// Progressive enhancement for the subscribe lines: reveal a "Copy" button
// beside each feed address. Without JavaScript the address is still shown as
// selectable text and the buttons stay hidden.
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function report(button, copied) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = copied ? "Copied" : "Press Ctrl+C";
    if (status) status.textContent = copied ? "Copied " + button.getAttribute("data-copy") : "Address selected: press Ctrl+C to copy it";
    setTimeout(function () { button.textContent = label; }, 2000);
  }

  // Plain http on a public host is not a secure context, so there is no
  // clipboard API: select the address on the page and try the old command.
  function selectAndCopy(button) {
    var shown = document.getElementById(button.getAttribute("aria-controls"));
    var copied = false;
    if (shown) {
      var range = document.createRange();
      range.selectNodeContents(shown);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    }
    report(button, copied);
  }

  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    var button = buttons[i];
    button.hidden = false;
    button.addEventListener("click", function (event) {
      var target = event.currentTarget;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.getAttribute("data-copy")).then(
          function () { report(target, true); },
          function () { selectAndCopy(target); }
        );
      } else {
        selectAndCopy(target);
      }
    });
  }
})();
