// Residents' portal: the place lists narrow to the unit picked above them, and "use my location" fills the
// hidden longitude/latitude from the browser's geolocation.
(function () {
  "use strict";
  function narrow(parentSelect, childSelect) {
    if (!parentSelect || !childSelect) return;
    function apply() {
      var parent = parentSelect.value;
      childSelect.querySelectorAll("option[data-parent]").forEach(function (option) {
        var show = !parent || option.getAttribute("data-parent") === parent;
        option.hidden = !show;
        option.disabled = !show;
        if (!show && option.selected) childSelect.value = "";
      });
      childSelect.querySelectorAll("optgroup").forEach(function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
    }
    parentSelect.addEventListener("change", function () {
      apply();
      childSelect.dispatchEvent(new Event("change"));
    });
    apply();
  }
  var subdistrict = document.getElementById("id_subdistrict");
  var community = document.getElementById("id_community");
  var grid = document.getElementById("id_grid");
  narrow(subdistrict, community);
  narrow(community, grid);

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
