// The export page's "select all" box (django-import-export's onSelectToggleChange, from
// import_export/export_selectable_fields.js): bound here, not by an onchange attribute, which
// the Content-Security-Policy refuses.
(function () {
    "use strict";
    document.addEventListener("change", function (event) {
        if (event.target.matches(".select-toggle") && typeof onSelectToggleChange === "function") {
            onSelectToggleChange(event);
        }
    });
}());
