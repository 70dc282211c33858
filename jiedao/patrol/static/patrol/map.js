// The patrol map: grid boundaries, hazard points (colour by kind, size by risk, ring by the selected event's check
// status) and open hazard cases, from the scoped JSON endpoint. Without a tile URL (or when tiles fail) it draws
// on a blank background, so it works on a closed network. Positions arrive already shifted for GCJ-02 tiles.
(function () {
  "use strict";
  var el = document.getElementById("patrol-map");
  var form = document.getElementById("map-filters");
  if (!el || !form || typeof L === "undefined") { return; }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false, tap: true });
  if (el.dataset.tileUrl) { L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map); }
  map.setView([34.733, 113.68], 14);
  var layers = L.layerGroup().addTo(map);
  var radius = { high: 9, medium: 7, low: 5 };
  var ring = { ok: "#2fb344", hazard: "#d63939", pending: "#929dab" };
  var fitted = false;

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function load() {
    var params = new URLSearchParams(new FormData(form));
    fetch(el.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(draw);
  }

  function draw(data) {
    layers.clearLayers();
    var bounds = L.latLngBounds([]);
    var areas = L.geoJSON(data.boundaries, {
      style: function (f) {
        return f.properties.level === "grid"
          ? { color: "#206bc4", weight: 1, fillOpacity: 0.05 }
          : { color: "#1d273b", weight: 2.5, fillOpacity: 0 };
      },
      onEachFeature: function (f, lyr) { lyr.bindTooltip(f.properties.name, { sticky: true }); }
    }).addTo(layers);
    if (areas.getBounds().isValid()) { bounds.extend(areas.getBounds()); }
    data.points.forEach(function (p) {
      var status = p.check || "";
      var marker = L.circleMarker([p.lat, p.lng], {
        radius: radius[p.risk] || 6,
        color: status ? ring[status] : "#ffffff",
        weight: status ? 3 : 1.5,
        fillColor: p.color,
        fillOpacity: 0.9
      }).addTo(layers);
      var label = status === "ok" ? el.dataset.checkedLabel : status === "hazard" ? el.dataset.hazardLabel : status === "pending" ? el.dataset.pendingLabel : "";
      marker.bindPopup('<a href="' + esc(p.url) + '">' + esc(p.name) + "</a><br>" + esc(p.kind_name) + (label ? " · " + esc(label) : ""));
      bounds.extend([p.lat, p.lng]);
    });
    data.cases.forEach(function (c) {
      var icon = L.divIcon({ className: "", html: '<div style="width:12px;height:12px;background:#d63939;border:2px solid #fff;transform:rotate(45deg)"></div>', iconSize: [12, 12] });
      L.marker([c.lat, c.lng], { icon: icon }).addTo(layers)
        .bindPopup('<a href="' + esc(c.url) + '">' + esc(c.number) + "</a><br>" + esc(c.title));
    });
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 }); fitted = true; }
    var count = document.getElementById("map-count");
    if (count) { count.textContent = data.points.length + " / " + data.cases.length; }
    el.dataset.ready = "true";
    el.dataset.points = String(data.points.length);
  }

  form.addEventListener("change", load);
  load();
  void fitted;
})();
