// The header search box: close the suggestion list on Escape or a click elsewhere.
(function () {
  "use strict";
  function clear(box) {
    var results = box.querySelector(".app-search-results");
    if (results) results.innerHTML = "";
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".app-search").forEach(clear);
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll(".app-search").forEach(function (box) {
      if (!box.contains(event.target)) clear(box);
    });
  });
})();
