// Ask before leaving a return's page with entries typed but not sent: answers, Attachment 2,
// a reviewer's comments. Forms marked data-warn-unsaved are watched; a field belongs to its
// form by the form attribute too (Attachment 2 and the upload post with the answers' form),
// so the events are caught on the document and matched by the field's form owner.
(function () {
    "use strict";
    let dirty = false;

    function watched(target) {
        const form = target && target.form;
        return Boolean(form && form.hasAttribute("data-warn-unsaved"));
    }

    function markDirty(event) {
        if (watched(event.target)) {
            dirty = true;
        }
    }

    document.addEventListener("input", markDirty);
    document.addEventListener("change", markDirty);
    // Sending a form (saving, filing, uploading, deciding) takes the entries along.
    document.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
        if (dirty) {
            event.preventDefault();
            event.returnValue = "";
        }
    });

    // A refused action names its field: bring it into view and give it the focus, opening
    // the collapsed box it may sit in.
    document.addEventListener("DOMContentLoaded", function () {
        const link = document.getElementById("refusal-link");
        if (!link) {
            return;
        }
        const field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) {
            return;
        }
        const box = field.closest("details");
        if (box) {
            box.open = true;
        }
        field.focus();
    });
}());
