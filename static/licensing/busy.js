// Forms of the licence-list import (class "busy-form"): while the upload or the confirm runs,
// its buttons are disabled, so a second click cannot send it twice, and a progress indicator
// says what is happening (the form's data-busy-text). Without script the forms work as before.
(function () {
  "use strict";

  function setBusy(form, busy) {
    form.querySelectorAll("input[type=submit], button").forEach(function (button) {
      button.disabled = busy;
    });
    form.classList.toggle("is-busy", busy);
    var indicator = form.querySelector(".busy-indicator");
    if (busy && !indicator) {
      indicator = document.createElement("p");
      indicator.className = "busy-indicator";
      indicator.setAttribute("role", "status");
      var bar = document.createElement("progress");  // no value: an indeterminate bar
      indicator.appendChild(bar);
      var text = document.createElement("span");
      text.textContent = form.dataset.busyText || "";
      indicator.appendChild(text);
      form.appendChild(indicator);
    } else if (!busy && indicator) {
      indicator.remove();
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("busy-form")) {
      return;
    }
    if (form.classList.contains("is-busy")) {
      event.preventDefault();  // already sent: wait for the answer
      return;
    }
    // After this event: a button disabled now would not be sent with the form.
    window.setTimeout(function () { setBusy(form, true); }, 0);
  });

  // Back from the next page (the browser's page cache): the form is usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.busy-form.is-busy").forEach(function (form) {
      setBusy(form, false);
    });
  });
})();
