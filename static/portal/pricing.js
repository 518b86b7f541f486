/* The pricing page's SaaS calculator, recomputed as one types (the form also works without this script:
   it is submitted by GET and the server computes the same figures). Amounts are handled in cents. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-calculator]");
  if (!form) { return; }

  function cents(text) {
    var parts = String(text).trim().split(".");
    var whole = parseInt(parts[0] || "0", 10);
    var frac = ((parts[1] || "") + "000000").slice(0, 6);
    var micro = whole * 1000000 + parseInt(frac, 10);
    return micro; /* millionths of the currency unit, as stored in the price list */
  }

  function format(micro) {
    var centsValue = Math.round(micro / 10000);
    var whole = Math.floor(centsValue / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var rest = ("0" + (centsValue % 100)).slice(-2);
    return whole + "." + rest;
  }

  function set(name, micro) {
    var target = document.querySelector("[data-estimate-" + name + "]");
    if (target) {
      target.textContent = (name === "total" ? form.getAttribute("data-currency-symbol") : "") + format(micro);
    }
  }

  function recompute() {
    var devices = parseInt(form.elements.devices.value, 10);
    var months = parseInt(form.elements.months.value, 10);
    if (!(devices > 0) || !(months > 0)) { return; }
    var devicesTotal = cents(form.getAttribute("data-device-price")) * devices * months;
    var modulesTotal = 0;
    form.querySelectorAll("input[name=modules]:checked").forEach(function (box) {
      var fee = form.querySelector("[data-module-fee='" + box.value + "']");
      if (fee) { modulesTotal += cents(fee.value) * months; }
    });
    set("devices", devicesTotal);
    set("modules", modulesTotal);
    set("total", devicesTotal + modulesTotal);
    set("monthly", (devicesTotal + modulesTotal) / months);
  }

  form.addEventListener("input", recompute);
  form.addEventListener("change", recompute);
})();
