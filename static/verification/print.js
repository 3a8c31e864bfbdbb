// The print view's "Print" button opens the browser's print dialogue. A script file, not an
// onclick attribute: the Content-Security-Policy refuses inline script.
(function () {
    "use strict";
    const button = document.getElementById("print-button");
    if (button) {
        button.addEventListener("click", function () { window.print(); });
    }
})();
