// Intake and report forms: show the requester and petition fields that apply, and fill longitude/latitude
// from the phone's location ("定位"). Messages come from data-* attributes (translated in the template).
(function () {
  "use strict";

  function toggle(selector, show) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = !show; });
  }

  var anonymous = document.getElementById("id_anonymous");
  if (anonymous) {
    var syncRequester = function () { toggle("[data-requester]", !anonymous.checked); };
    anonymous.addEventListener("change", syncRequester);
    syncRequester();
  }

  var petition = document.getElementById("id_petition_type");
  if (petition) {
    var syncPetition = function () {
      toggle("[data-accused]", petition.value === "accusation");
      toggle("[data-petition]", petition.value !== "");
    };
    petition.addEventListener("change", syncPetition);
    syncPetition();
  }

  document.querySelectorAll("[data-locate]").forEach(function (button) {
    var form = button.closest("form");
    var status = form ? form.querySelector("[data-locate-status]") : null;
    var say = function (text, ok) {
      if (!status) { return; }
      status.textContent = text;
      status.classList.toggle("text-danger", !ok);
      status.classList.toggle("text-success", !!ok);
    };
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { say(button.dataset.msgUnsupported, false); return; }
      say(button.dataset.msgLocating, true);
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        button.disabled = false;
        form.querySelector("[name=longitude]").value = pos.coords.longitude.toFixed(6);
        form.querySelector("[name=latitude]").value = pos.coords.latitude.toFixed(6);
        say(button.dataset.msgOk.replace("__N__", String(Math.round(pos.coords.accuracy))), true);
      }, function () {
        button.disabled = false;
        say(button.dataset.msgFail, false);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
})();
