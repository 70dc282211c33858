// Residents' portal: "use my location" fills the hidden longitude/latitude from the browser's geolocation.
// (The place lists load level by level through htmx: see the hx-get attributes of the selects.)
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  var state = document.getElementById("location-state");
  if (button && state) {
    if (!navigator.geolocation) {
      button.hidden = true;
    }
    button.addEventListener("click", function () {
      state.textContent = state.dataset.waiting;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          document.getElementById("id_longitude").value = position.coords.longitude.toFixed(6);
          document.getElementById("id_latitude").value = position.coords.latitude.toFixed(6);
          state.textContent = state.dataset.located;
        },
        function () {
          state.textContent = state.dataset.failed;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }
})();
