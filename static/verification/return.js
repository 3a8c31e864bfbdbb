// Warn before leaving the return's page with answers typed but not saved: uploading a file or
// filing Attachment 2 reloads the page, and the browser would drop the unsaved answers.
(function () {
    "use strict";
    const form = document.getElementById("return-form");
    if (!form) {
        return;
    }
    let dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
        if (dirty) {
            event.preventDefault();
            event.returnValue = "";
        }
    });
}());
