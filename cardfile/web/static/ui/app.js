// Cardfile UI glue: small behaviours htmx does not cover. No framework, no build step.
(function () {
  "use strict";

  // A toast for messages sent with the HX-Trigger header: {"cf:toast": {"text", "level"}}.
  document.addEventListener("cf:toast", function (event) {
    var detail = event.detail || {};
    var box = document.getElementById("toasts");
    if (!box || !detail.text) return;
    var toast = document.createElement("div");
    toast.className = "toast align-items-center border-0 text-bg-" + (detail.level || "success");
    toast.setAttribute("role", "status");
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = detail.text;
    toast.appendChild(body);
    box.appendChild(toast);
    if (window.bootstrap) new window.bootstrap.Toast(toast, { delay: 4000 }).show();
    toast.addEventListener("hidden.bs.toast", function () { toast.remove(); });
  });

  // Errors from the server during an htmx request reach the user instead of vanishing.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 400 || xhr.status === 409) return; // forms render these in place
    document.dispatchEvent(new CustomEvent("cf:toast", {
      detail: { text: xhr.status + " " + (xhr.statusText || ""), level: "danger" },
    }));
  });
})();
