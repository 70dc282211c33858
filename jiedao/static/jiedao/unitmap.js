// Draws a unit's boundary and its children's on a Leaflet map. With no tile URL configured (or tiles that
// fail to load) the polygons are drawn on a blank background, so the page works on a closed network.
(function () {
  "use strict";
  var el = document.getElementById("unit-map");
  var dataEl = document.getElementById("unit-geojson");
  if (!el || !dataEl || typeof L === "undefined") { return; }
  var data = JSON.parse(dataEl.textContent);
  if (!data.features.length) {
    el.classList.add("d-flex", "align-items-center", "justify-content-center", "text-secondary");
    el.textContent = el.dataset.emptyText || "";
    return;
  }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false });
  var tileUrl = el.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
  }
  var styles = {
    self: { color: "#c0392b", weight: 3, fillOpacity: 0.04 },
    child: { color: "#206bc4", weight: 1.5, fillOpacity: 0.12 }
  };
  var layer = L.geoJSON(data, {
    style: function (f) { return styles[f.properties.level] || styles.child; },
    onEachFeature: function (f, lyr) {
      lyr.bindTooltip(f.properties.name, { sticky: true });
      if (f.properties.url) {
        lyr.on("click", function () { window.location.href = f.properties.url; });
      }
    }
  }).addTo(map);
  map.fitBounds(layer.getBounds(), { padding: [12, 12] });
  el.dataset.ready = "true";
})();
