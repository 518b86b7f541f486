// Suggest knowledge-base articles while a ticket is being written (progressive enhancement: the form
// works without it). Fetches an HTML fragment rendered by the server; no third-party code.
(function () {
  "use strict";
  var box = document.getElementById("suggestions");
  var form = document.getElementById("ticket-form");
  if (!box || !form) { return; }
  var fields = [form.elements.subject, form.elements.body].filter(Boolean);
  var timer = null;
  var last = "";
  function update() {
    var text = fields.map(function (f) { return f.value; }).join(" ").trim();
    if (text.length < 3 || text === last) { return; }
    last = text;
    fetch(box.dataset.url + "?q=" + encodeURIComponent(text.slice(0, 500)), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () {});
  }
  fields.forEach(function (f) {
    f.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 400); });
  });
})();
