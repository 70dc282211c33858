// The case page's map: the case's point (with its address) over its unit's boundary, or only the boundary when
// the case has no coordinates. Without a tile URL (or when tiles fail) it draws on a blank background, so the
// page works on a closed network. Data comes from the json_script element "case-geo".
(function () {
  "use strict";
  var el = document.getElementById("case-map");
  var dataEl = document.getElementById("case-geo");
  if (!el || !dataEl || typeof L === "undefined") { return; }
  var data = JSON.parse(dataEl.textContent);
  if (!data || (!data.point && !data.boundary)) { el.remove(); return; }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false });
  var tileUrl = el.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
  }
  // Leaflet needs a view before vector layers are added: set it first, then draw.
  var area = data.boundary
    ? L.geoJSON(data.boundary, { style: { color: "#206bc4", weight: 1.5, fillOpacity: 0.08 } })
    : null;
  var bounds = area ? area.getBounds() : null;
  if (data.point) {
    map.setView(data.point, bounds && bounds.isValid() ? Math.min(map.getBoundsZoom(bounds), 17) : 17);
  } else if (bounds && bounds.isValid()) {
    map.fitBounds(bounds, { padding: [12, 12] });
  } else {
    el.remove();
    return;
  }
  if (area) { area.addTo(map); }
  if (data.point) {
    var marker = L.circleMarker(data.point, {
      radius: 9, color: "#ffffff", weight: 2, fillColor: "#d63939", fillOpacity: 0.95
    }).addTo(map);
    if (data.label) { marker.bindTooltip(data.label); }
  }
  el.dataset.ready = "true";
})();
