// Chassis Manager: live updates without reloading. Vanilla JS, no build step.
//
// Polling: every 2 s the page asks its JSON endpoint (data-poll on <body>) with If-None-Match;
// unchanged data answers 304 with no body. Redirects are not followed (redirect: "manual"): a
// redirect or a failure means this blade is no longer the active manager, and the page looks for
// the new one among the members it already knows (from /api/v1/session, refreshed every 10 s),
// by asking each member's /health/active (members allow each other's origins), every 250 ms
// until one answers. It then moves the whole page there (same path and query).
//
// The session cookie belongs to this blade's origin. So that the move needs no new login, the
// page holds a short-lived, single-use transfer ticket (POST /api/v1/session/ticket, renewed
// every 30 s, kept in memory only) and moves by posting it in a form (never in a URL) to the new
// blade's /session/transfer, which sets its own cookie and sends the page on.
(function () {
  "use strict";

  var POLL_MS = 2000;
  // Between polls, a cheap question (no store read): is this blade still the active manager?
  // It lets the page notice a dead or deposed blade within half a second, not two.
  var LIVENESS_MS = 500;
  var CLUSTER_MS = 10000;
  var TICKET_MS = 30000;
  var SEARCH_MS = 250;
  var SEARCH_FOR_MS = 15000;
  var PROBE_TIMEOUT_MS = 1500;
  var HISTORY_SECONDS = 3600;
  // WebLimits.bannerRowsMax and bannerGroupAlertsMax.
  var BANNER_ROWS_MAX = 5;
  var BANNER_GROUP_MAX = 10;

  var body = document.body;
  var pollURL = body.getAttribute("data-poll");
  var etag = null;
  var members = [];
  var failures = 0;
  var searching = false;
  var ticket = null;
  var searchUntil = 0;
  var searchTimer = null;
  var slotNames = {};
  var charts = [];

  // ---------- formatting, mirroring Sources/Web/Format.swift ----------

  function fixed(value, digits) {
    if (!isFinite(value)) return isNaN(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf");
    var text = Math.abs(value).toFixed(digits);
    var zero = Number(text) === 0;
    return (value < 0 && !zero ? "-" : "") + text;
  }

  function binary(value, suffix) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    var index = 0;
    while (Math.abs(value) >= 1024 && index < units.length - 1) { value /= 1024; index += 1; }
    return (index === 0 ? fixed(value, 0) : fixed(value, 1)) + " " + units[index] + suffix;
  }

  function duration(seconds) {
    if (Math.abs(seconds) < 60) return fixed(seconds, 1) + " s";
    var total = Math.round(seconds);
    var days = Math.floor(total / 86400), hours = Math.floor((total % 86400) / 3600), minutes = Math.floor((total % 3600) / 60);
    if (days > 0) return days + " d " + hours + " h";
    if (hours > 0) return hours + " h " + minutes + " min";
    return minutes + " min " + (total % 60) + " s";
  }

  function trimmed(value) {
    return value === Math.round(value) ? String(value) : fixed(value, 3);
  }

  function formatValue(value, text, fault, unit) {
    if (fault && value == null && text == null) return "fault: " + fault;
    if (text != null && value == null) return text;
    if (value == null) return "\u2014";
    if (typeof value === "string") return value;
    switch (unit) {
      case "celsius": return fixed(value, 1) + " \u00b0C";
      case "rpm": return fixed(value, 0) + " RPM";
      case "volts": return fixed(value, 3) + " V";
      case "watts": return fixed(value, 1) + " W";
      case "amperes": return fixed(value, 2) + " A";
      case "percent": return fixed(value, 1) + " %";
      case "bytes": return binary(value, "");
      case "bytes_per_second": return binary(value, "/s");
      case "seconds": return duration(value);
      case "ratio": return fixed(value, 3);
      case "state": return value >= 0.5 ? "OK" : "FAILED";
      case "hertz": return fixed(value / 1e6, 0) + " MHz";
      case "per_second": return fixed(value, 2) + " /s";
      case "count": return fixed(value, 0);
      default: return trimmed(value) + (unit && unit !== "text" ? " " + unit : "");
    }
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function formatTime(seconds) {
    if (seconds == null || !isFinite(seconds)) return "\u2014";
    var d = new Date(Math.floor(seconds) * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }

  function statusText(status) {
    return { ok: "OK", unknown: "Unknown", warning: "Warning", critical: "Critical", down: "Down", off: "Off", empty: "Empty" }[status] || status;
  }

  // ---------- DOM helpers: text only, never HTML built from data ----------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function setText(node, text) {
    if (node && node.textContent !== text) {
      node.textContent = text;
      return true;
    }
    return false;
  }

  var STATUSES = ["ok", "unknown", "warning", "critical", "down", "off", "empty"];

  // Replaces prefix+status (status-ok, badge-warning ...) and keeps every other class.
  function setStatusClass(node, prefix, status) {
    if (!node) return;
    STATUSES.forEach(function (s) { if (s !== status) node.classList.remove(prefix + s); });
    node.classList.add(prefix + status);
  }

  function showNotice(id, text) {
    var node = document.getElementById(id);
    if (!node) return;
    if (text) { node.textContent = text; node.hidden = false; } else { node.hidden = true; }
  }

  // ---------- rendering updates ----------

  function updateStale(stale, staleSince) {
    var notice = document.getElementById("stale-notice");
    if (!notice) return;
    if (stale) {
      notice.textContent = "";
      notice.appendChild(document.createTextNode("Engine stale since "));
      notice.appendChild(el("span", null, formatTime(staleSince)));
      notice.appendChild(document.createTextNode(" \u2014 values are the last known"));
    }
    notice.hidden = !stale;
  }

  function updateRow(row, metric) {
    var unit = metric.descriptor.unit;
    var changed = setText(row.querySelector('[data-field="value"]'), formatValue(metric.value, metric.text, metric.fault, unit));
    var badge = row.querySelector('[data-field="status"] .badge');
    if (badge) { setStatusClass(badge, "badge-", metric.status); setText(badge, statusText(metric.status)); }
    var limits = metric.thresholds || {};
    ["lowCritical", "lowWarning", "highWarning", "highCritical"].forEach(function (name) {
      var v = limits[name];
      setText(row.querySelector('[data-field="' + name + '"]'), v == null ? "\u2014" : formatValue(v, null, null, unit));
    });
    var time = row.querySelector('[data-field="sampledAt"] time');
    setText(time, formatTime(metric.sampledAt));
    if (changed) {
      row.classList.remove("flash");
      void row.offsetWidth;
      row.classList.add("flash");
    }
  }

  function rowsByKey(scope) {
    var map = {};
    var rows = (scope || document).querySelectorAll("tr[data-key]");
    for (var i = 0; i < rows.length; i++) map[rows[i].getAttribute("data-key")] = rows[i];
    return map;
  }

  function newAlerts(alerts) {
    return alerts.filter(function (a) { return a.acknowledgedAt == null; }).sort(function (a, b) {
      if ((a.clearedAt == null) !== (b.clearedAt == null)) return a.clearedAt == null ? -1 : 1;
      if (a.severity !== b.severity) return a.severity === "critical" ? -1 : 1;
      if (a.raisedAt !== b.raisedAt) return b.raisedAt - a.raisedAt;
      return b.id - a.id;
    });
  }

  // The banner mirrors ViewBuilder.banner (Sources/Web/Views.swift): counts per severity, the
  // newest alert, then one row a place (a slot, or the chassis): a single alert as it is, several
  // as a group (<details>) that a poll leaves open or closed as the reader left it.
  function severityText(severity) { return severity === "critical" ? "Critical" : "Warning"; }

  function alertCounts(alerts) {
    var raised = alerts.filter(function (a) { return a.clearedAt == null; });
    var critical = raised.filter(function (a) { return a.severity === "critical"; }).length;
    var warning = raised.length - critical;
    var cleared = alerts.length - raised.length;
    var parts = [];
    if (critical > 0) parts.push(critical + " critical");
    if (warning > 0) parts.push(warning === 1 ? "1 warning" : warning + " warnings");
    if (cleared > 0) parts.push(cleared + " cleared");
    return parts.join(" \u00b7 ");
  }

  function placeGroups(alerts) {
    var groups = [], index = {};
    alerts.forEach(function (alert) {
      var key = alert.slotID == null ? "chassis" : "slot-" + alert.slotID;
      if (index[key] == null) { index[key] = groups.length; groups.push({ key: key, slotID: alert.slotID, alerts: [] }); }
      groups[index[key]].alerts.push(alert);
    });
    return groups;
  }

  // "Slot 2 · name" when the slot's name is known from a poll, null otherwise (the server's text stays).
  function placeText(slotID) {
    if (slotID == null) return "Chassis";
    if (!Object.prototype.hasOwnProperty.call(slotNames, slotID)) return null;
    return "Slot " + slotID + (slotNames[slotID] ? " \u00b7 " + slotNames[slotID] : "");
  }

  function placeNode(alert, chassisID, className) {
    var text = placeText(alert.slotID) || "Slot " + alert.slotID;
    if (alert.slotID == null) return el("span", className, text);
    var link = el("a", className, text);
    link.href = "/chassis/" + encodeURIComponent(chassisID) + "/slots/" + alert.slotID;
    return link;
  }

  function bannerItem(alert, chassisID, existing, returnPath) {
    // Items the server rendered (or an earlier poll built) are kept as they are: their text is
    // already formatted with the slot's name and the metric's unit.
    var kept = existing[String(alert.id)];
    if (kept && kept.classList.contains("is-cleared") === (alert.clearedAt != null)) return kept;
    var item = el("li", "banner-item severity-" + alert.severity + (alert.clearedAt != null ? " is-cleared" : ""));
    item.setAttribute("data-alert-id", String(alert.id));
    item.appendChild(el("span", "badge badge-" + alert.severity, severityText(alert.severity)));
    item.appendChild(placeNode(alert, chassisID, "banner-place"));
    item.appendChild(el("span", "banner-label", alert.metricLabel));
    item.appendChild(el("span", "banner-message", alert.message));
    if (alert.value != null) item.appendChild(el("span", "mono", formatValue(alert.value, null, null, unitOf(alert))));
    item.appendChild(el("time", "muted", formatTime(alert.raisedAt)));
    if (alert.clearedAt != null) item.appendChild(el("span", "muted", "cleared " + formatTime(alert.clearedAt)));
    // Only roles that may acknowledge (admins, operators) get the button.
    if (body.hasAttribute("data-can-acknowledge")) {
      var form = el("form", "ack-form");
      form.method = "post";
      form.action = "/api/v1/alerts/" + alert.id + "/acknowledge";
      var hidden = el("input");
      hidden.type = "hidden"; hidden.name = "return"; hidden.value = returnPath;
      form.appendChild(hidden);
      var button = el("button", "button button-small", "Acknowledge");
      button.type = "submit";
      form.appendChild(button);
      item.appendChild(form);
    }
    return item;
  }

  function bannerGroup(place, chassisID, kept, existing, returnPath) {
    var first = place.alerts[0];
    var raised = place.alerts.filter(function (a) { return a.clearedAt == null; })[0];
    var severity = (raised || first).severity;
    var group = kept, summary, items, more;
    if (!group) {
      group = el("li", "banner-group");
      group.setAttribute("data-banner-group", place.key);
      var details = el("details");
      summary = el("summary");
      summary.appendChild(el("span", "badge"));
      summary.appendChild(document.createTextNode(" "));
      var text = el("span", "banner-group-text");
      var placeSpan = el("span", null, placeText(place.slotID) || "Slot " + place.slotID);
      placeSpan.setAttribute("data-banner-place", "");
      text.appendChild(placeSpan);
      text.appendChild(document.createTextNode(": "));
      var counts = el("span");
      counts.setAttribute("data-banner-group-counts", "");
      text.appendChild(counts);
      summary.appendChild(text);
      details.appendChild(summary);
      details.appendChild(el("ul", "banner-group-list"));
      var footer = el("p", "banner-group-more");
      more = el("span");
      more.setAttribute("data-banner-group-more", "");
      footer.appendChild(more);
      footer.appendChild(document.createTextNode(" "));
      var log = el("a", null, "All of them in the alert log");
      log.href = "/alerts" + (place.slotID == null ? "" : "?slot=" + place.slotID);
      footer.appendChild(log);
      details.appendChild(footer);
      group.appendChild(details);
    }
    group.className = "banner-group severity-" + severity;
    var badge = group.querySelector("summary .badge");
    badge.className = "badge badge-" + severity;
    setText(badge, severityText(severity));
    var name = placeText(place.slotID);
    if (name) setText(group.querySelector("[data-banner-place]"), name);
    setText(group.querySelector("[data-banner-group-counts]"), alertCounts(place.alerts));
    items = group.querySelector(".banner-group-list");
    items.textContent = "";
    place.alerts.slice(0, BANNER_GROUP_MAX).forEach(function (alert) {
      items.appendChild(bannerItem(alert, chassisID, existing, returnPath));
    });
    var left = place.alerts.length - Math.min(place.alerts.length, BANNER_GROUP_MAX);
    setText(group.querySelector("[data-banner-group-more]"), left > 0 ? "and " + left + " more" : "");
    return group;
  }

  function renderNewest(banner, alerts, chassisID) {
    var line = banner.querySelector("[data-banner-newest]");
    if (!line) return;
    var newest = null;
    if (alerts.length > 1) {
      alerts.forEach(function (a) {
        if (!newest || a.raisedAt > newest.raisedAt || (a.raisedAt === newest.raisedAt && a.id > newest.id)) newest = a;
      });
    }
    line.hidden = !newest;
    if (!newest) { line.removeAttribute("data-alert-id"); line.textContent = ""; return; }
    if (line.getAttribute("data-alert-id") === String(newest.id)) return;
    line.textContent = "";
    line.setAttribute("data-alert-id", String(newest.id));
    line.appendChild(el("span", "muted", "Newest:"));
    line.appendChild(document.createTextNode(" "));
    line.appendChild(el("span", "badge badge-" + newest.severity, severityText(newest.severity)));
    line.appendChild(document.createTextNode(" "));
    line.appendChild(placeNode(newest, chassisID, null));
    line.appendChild(document.createTextNode(" "));
    line.appendChild(el("span", "banner-label", newest.metricLabel));
    if (newest.value != null) {
      line.appendChild(document.createTextNode(" "));
      line.appendChild(el("span", "mono", formatValue(newest.value, null, null, unitOf(newest))));
    }
    line.appendChild(document.createTextNode(" "));
    line.appendChild(el("time", "muted", formatTime(newest.raisedAt)));
  }

  function renderBanner(alerts, chassisID) {
    var banner = document.getElementById("alert-banner");
    if (!banner) return;
    // Polls bring new values every second or two, the banner's alerts seldom: rebuilt only when
    // they (or the names of their slots) change, the live region is not read out again for nothing.
    var state = JSON.stringify(alerts.map(function (a) {
      return [a.id, a.severity, a.clearedAt != null, a.slotID == null ? null : slotNames[a.slotID]];
    }));
    if (banner.getAttribute("data-banner-state") === state) return;
    banner.setAttribute("data-banner-state", state);
    var list = banner.querySelector("[data-banner-list]");
    var returnPath = location.pathname + location.search;
    var existing = {}, groups = {};
    Array.prototype.forEach.call(list.querySelectorAll("li[data-alert-id]"), function (li) {
      existing[li.getAttribute("data-alert-id")] = li;
    });
    Array.prototype.forEach.call(list.querySelectorAll("li[data-banner-group]"), function (li) {
      groups[li.getAttribute("data-banner-group")] = li;
    });
    list.textContent = "";
    var places = placeGroups(alerts);
    var shown = places.slice(0, BANNER_ROWS_MAX);
    shown.forEach(function (place) {
      if (place.alerts.length === 1) list.appendChild(bannerItem(place.alerts[0], chassisID, existing, returnPath));
      else list.appendChild(bannerGroup(place, chassisID, groups[place.key], existing, returnPath));
    });
    setText(banner.querySelector("[data-banner-heading]"), alerts.length === 1 ? "1 new alert" : alerts.length + " new alerts");
    setText(banner.querySelector("[data-banner-counts]"), alertCounts(alerts));
    renderNewest(banner, alerts, chassisID);
    var left = places.slice(shown.length).reduce(function (sum, place) { return sum + place.alerts.length; }, 0);
    var more = banner.querySelector("[data-banner-more]");
    if (left > 0) {
      var link = more.querySelector("a") || more.appendChild(el("a"));
      link.href = "/alerts";
      setText(link, "and " + left + " more");
      more.hidden = false;
    } else {
      more.hidden = true;
    }
    banner.classList.toggle("banner-critical", alerts.some(function (a) { return a.severity === "critical" && a.clearedAt == null; }));
    banner.hidden = alerts.length === 0;
  }

  // A page that does not poll (the logs, the settings …) reads the chassis once to bring its
  // banner up to date, after an acknowledgement from it.
  function refreshBanner() {
    fetch("/api/v1/chassis", { cache: "no-store", redirect: "manual", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (doc) {
        if (!doc || !doc.chassis) return;
        doc.slots.forEach(function (slot) { slotNames[slot.slotID] = slot.name; rememberUnits(slot.slotID, slot.metrics); });
        renderBanner(newAlerts(doc.alerts), doc.chassis.chassisID);
      })
      .catch(function () { /* the banner stays as it was; the next page shows it current */ });
  }

  var unitsByKey = {};
  function unitOf(alert) { return unitsByKey[(alert.slotID == null ? 0 : alert.slotID) + "\u0000" + alert.metricKey] || ""; }

  function rememberUnits(slotID, metrics) {
    metrics.forEach(function (m) { unitsByKey[slotID + "\u0000" + m.descriptor.key] = m.descriptor.unit; });
  }

  // The overview's alert log, rebuilt in place from the document (text only, never markup).
  function renderAlertLog(alerts, chassisID) {
    var heading = document.getElementById("alerts-heading");
    var section = heading && heading.closest("section");
    if (!section) return;
    var old = section.querySelector(".table-wrap, .empty-note");
    var replacement;
    if (!alerts.length) {
      replacement = el("p", "muted empty-note", "No alerts.");
    } else {
      replacement = el("div", "table-wrap");
      var table = el("table", "table");
      var head = el("thead");
      var headRow = el("tr");
      ["Severity", "Where", "Metric", "Message", "Value", "Raised", "State"].forEach(function (title) {
        var th = el("th", title === "Value" ? "num" : null, title);
        th.scope = "col";
        headRow.appendChild(th);
      });
      head.appendChild(headRow);
      table.appendChild(head);
      var body = el("tbody");
      alerts.forEach(function (alert) {
        var row = el("tr", "severity-" + alert.severity);
        var severity = el("td");
        severity.appendChild(el("span", "badge badge-" + alert.severity, alert.severity === "critical" ? "Critical" : "Warning"));
        row.appendChild(severity);
        var where = el("td");
        if (alert.slotID != null) {
          var link = el("a", null, "Slot " + alert.slotID + (slotNames[alert.slotID] ? " \u00b7 " + slotNames[alert.slotID] : ""));
          link.href = "/chassis/" + encodeURIComponent(chassisID) + "/slots/" + alert.slotID;
          where.appendChild(link);
        } else {
          where.textContent = "Chassis";
        }
        row.appendChild(where);
        row.appendChild(el("td", null, alert.metricLabel));
        row.appendChild(el("td", null, alert.message));
        row.appendChild(el("td", "num", alert.value != null ? formatValue(alert.value, null, null, unitOf(alert)) : ""));
        var raised = el("td", "nowrap");
        raised.appendChild(el("time", null, formatTime(alert.raisedAt)));
        row.appendChild(raised);
        var state = (alert.clearedAt != null ? "Cleared " + formatTime(alert.clearedAt) : "Raised")
          + (alert.acknowledgedAt != null ? "; acknowledged by " + (alert.acknowledgedBy || "?") : "; new");
        row.appendChild(el("td", null, state));
        body.appendChild(row);
      });
      table.appendChild(body);
      replacement.appendChild(table);
    }
    if (old) old.replaceWith(replacement); else section.appendChild(replacement);
  }

  function applyChassis(doc) {
    var chassis = doc.chassis;
    document.querySelectorAll("[data-chassis-status]").forEach(function (dot) { setStatusClass(dot, "status-", chassis.status); });
    setText(document.querySelector("[data-chassis-status-text]"), "Chassis status: " + statusText(chassis.status));
    var badge = document.querySelector("[data-chassis-badge]");
    if (badge) { setStatusClass(badge, "badge-", chassis.status); setText(badge, statusText(chassis.status)); }
    var counts = {}, empty = 0;
    doc.slots.forEach(function (slot) {
      slotNames[slot.slotID] = slot.name;
      rememberUnits(slot.slotID, slot.metrics);
      var status = slot.module ? slot.status : "empty";
      if (slot.module) counts[status] = (counts[status] || 0) + 1; else empty += 1;
      var cell = document.querySelector('[data-slot="' + slot.slotID + '"]');
      if (cell) {
        setStatusClass(cell, "status-", status);
        cell.classList.toggle("is-identify", !!(slot.power && slot.power.identify));
        setText(cell.querySelector("[data-slot-status-text]"), statusText(status));
      }
      var dot = document.querySelector('[data-slot-dot="' + slot.slotID + '"]');
      if (dot) setStatusClass(dot, "status-", status);
      setText(document.querySelector('[data-slot-dot-text="' + slot.slotID + '"]'), statusText(status));
    });
    var slotCount = Math.max(chassis.slotCount, 1);
    var known = doc.slots.length;
    empty += Math.max(0, slotCount - known);
    var summary = ["ok", "off", "unknown", "warning", "critical", "down"].filter(function (s) { return counts[s]; })
      .map(function (s) { return counts[s] + " " + statusText(s).toLowerCase(); });
    if (empty) summary.push(empty + " empty");
    setText(document.querySelector("[data-slot-summary]"), summary.join(" \u00b7 "));
    rememberUnits(0, doc.chassisMetrics);
    var devices = document.getElementById("chassis-devices");
    if (devices) {
      var rows = rowsByKey(devices);
      doc.chassisMetrics.forEach(function (m) { if (rows[m.descriptor.key]) updateRow(rows[m.descriptor.key], m); });
    }
    renderBanner(newAlerts(doc.alerts), chassis.chassisID);
    renderAlertLog(doc.alerts, chassis.chassisID);
    updateStale(doc.stale, doc.staleSince);
    setText(document.querySelector("[data-version]"), doc.dataVersion);
    setText(document.querySelector("[data-generated]"), formatTime(doc.generatedAt));
  }

  function applySlot(doc) {
    var slot = doc.slot;
    slotNames[slot.slotID] = slot.name;
    rememberUnits(slot.slotID, slot.metrics);
    var status = slot.module ? slot.status : "empty";
    var badge = document.querySelector("[data-slot-badge]");
    if (badge) { setStatusClass(badge, "badge-", status); setText(badge, statusText(status)); }
    setText(document.querySelector("[data-last-report]"), formatTime(slot.lastReportAt));
    applyPower(slot.power);
    var rows = rowsByKey(document.getElementById("main"));
    slot.metrics.forEach(function (m) { if (rows[m.descriptor.key]) updateRow(rows[m.descriptor.key], m); });
    renderBanner(doc.newAlerts, doc.chassisID);
    updateStale(doc.stale, doc.staleSince);
    setText(document.querySelector("[data-version]"), doc.dataVersion);
    appendChartPoints(slot.metrics);
  }

  // The words the server uses for each action (WebApp+Power.swift).
  var POWER_ACTIONS = { on: "Power on", shutdown: "Shut down", off: "Power off", cycle: "Power cycle", reset: "Reset",
    "identify-on": "Identify on", "identify-off": "Identify off" };

  // The power panel as the log has it: the state, the identify LED, what is under way, and the
  // buttons that fit the state.
  function applyPower(power) {
    var state = document.querySelector("[data-power-state]");
    if (!state) return;
    power = power || { powered: true, identify: false, pending: [] };
    var text = "On";
    if (!power.powered) {
      text = "Off" + (power.changedBy ? " (by " + power.changedBy + (power.changedAt ? " at " + formatTime(power.changedAt) : "") + ")" : "");
    }
    setText(state, text);
    document.querySelectorAll("[data-power-when]").forEach(function (form) {
      var when = form.getAttribute("data-power-when");
      var shown = when === "on" ? power.powered : when === "off" ? !power.powered
        : when === "identify-on" ? power.identify : !power.identify;
      form.hidden = !shown;
    });
    var pending = document.querySelector("[data-power-pending]");
    if (pending) {
      var lines = (power.pending || []).map(function (record) {
        return (POWER_ACTIONS[record.action] || record.action) + " asked by " + record.requestedBy + " at " +
          formatTime(record.requestedAt) + ": " +
          (record.state === "started" ? "running" + (record.startedBy ? " on " + record.startedBy : "") : "waiting");
      });
      if (lines.join("\n") !== Array.prototype.map.call(pending.children, function (li) { return li.textContent; }).join("\n")) {
        pending.textContent = "";
        lines.forEach(function (line) { pending.appendChild(el("li", null, line)); });
      }
      pending.hidden = lines.length === 0;
    }
    var identify = document.querySelector("[data-identify-state]");
    if (identify && power.identify !== (identify.querySelector(".badge-identify") !== null)) {
      identify.textContent = "";
      if (power.identify) identify.appendChild(el("span", "badge badge-identify", "lit")); else identify.textContent = "off";
    }
  }

  // ---------- charts (Chart.js from Debian's libjs-chart.js) ----------

  var PALETTE = ["#2f7ed8", "#e4572e", "#29a36a", "#a05cd6", "#f0a202", "#17becf", "#d6336c", "#7f8c8d"];

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  // HH:MM, or HH:MM:SS when the axis spans less than ten minutes.
  function timeLabel(seconds, spanSeconds) {
    var d = new Date(seconds * 1000);
    var text = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    return spanSeconds < 600 ? text + ":" + pad(d.getUTCSeconds()) : text;
  }

  // The range of the history charts: the last hour from the raw samples (and live), or 6 h or
  // 24 h from the minute aggregates (mean per minute).
  var historySeconds = HISTORY_SECONDS;
  var LIMIT_STYLE = {
    highCritical: { label: "high critical", color: "--critical" }, lowCritical: { label: "low critical", color: "--critical" },
    highWarning: { label: "high warning", color: "--warning" }, lowWarning: { label: "low warning", color: "--warning" }
  };

  function setUpCharts() {
    var figures = document.querySelectorAll("figure.chart");
    if (!figures.length) return;
    if (typeof window.Chart !== "function") {
      figures.forEach(function (figure) {
        figure.querySelector(".chart-canvas").textContent = "Charts need Chart.js (/javascript/chart.js/chart.min.js).";
      });
      return;
    }
    document.querySelectorAll("[data-range]").forEach(function (button) {
      button.addEventListener("click", function () {
        historySeconds = Number(button.getAttribute("data-range"));
        document.querySelectorAll("[data-range]").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        var note = document.querySelector("[data-range-note]");
        if (note) {
          setText(note, historySeconds <= HISTORY_SECONDS ? "last hour, every sample, updated live"
            : "last " + historySeconds / 3600 + " h, mean per minute");
        }
        loadCharts(figures);
      });
    });
    loadCharts(figures);
  }

  function loadCharts(figures) {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var parts = location.pathname.split("/");
    var base = "/api/v1/chassis/" + parts[2] + "/slots/" + parts[4] + "/history";
    var seconds = historySeconds;
    figures.forEach(function (figure) {
      var keys = Array.prototype.map.call(figure.querySelectorAll("li[data-key]"), function (li) {
        return { key: li.getAttribute("data-key"), label: li.textContent };
      });
      var limits = Array.prototype.map.call(figure.querySelectorAll("li[data-limit]"), function (li) {
        return { name: li.getAttribute("data-limit"), value: Number(li.getAttribute("data-value")) };
      }).filter(function (limit) { return isFinite(limit.value) && LIMIT_STYLE[limit.name]; });
      var unit = figure.getAttribute("data-unit");
      var query = keys.map(function (k) { return "key=" + encodeURIComponent(k.key); }).join("&") + "&seconds=" + seconds;
      fetch(base + "?" + query, { cache: "no-store", redirect: "manual", credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (doc) {
          if (!doc || seconds !== historySeconds) return;
          var textColor = cssVar("--muted"), gridColor = cssVar("--line");
          var datasets = doc.series.map(function (series, index) {
            return {
              label: series.label, key: series.key,
              data: series.points.map(function (p) { return { x: p.time, y: p.mean }; }),
              borderColor: PALETTE[index % PALETTE.length], backgroundColor: PALETTE[index % PALETTE.length],
              borderWidth: 1.5, pointRadius: 0, tension: 0.2
            };
          });
          // Each limit the series share is a dashed line across the range.
          var now = Date.now() / 1000;
          limits.forEach(function (limit) {
            var style = LIMIT_STYLE[limit.name];
            datasets.push({
              label: style.label, limit: true,
              data: [{ x: now - seconds, y: limit.value }, { x: now, y: limit.value }],
              borderColor: cssVar(style.color), backgroundColor: cssVar(style.color),
              borderWidth: 1, borderDash: [6, 4], pointRadius: 0
            });
          });
          var chart = new window.Chart(figure.querySelector("canvas"), {
            type: "line",
            data: { datasets: datasets },
            options: {
              animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
              interaction: { mode: "nearest", axis: "x", intersect: false },
              scales: {
                x: { type: "linear", min: now - seconds, ticks: { color: textColor, maxTicksLimit: 7, callback: function (v) { return timeLabel(v, this.max - this.min); } }, grid: { color: gridColor } },
                y: { ticks: { color: textColor, maxTicksLimit: 6, callback: function (v) { return formatValue(v, null, null, unit); } }, grid: { color: gridColor } }
              },
              plugins: {
                legend: { position: "bottom", labels: { color: textColor, boxWidth: 10, boxHeight: 10 } },
                tooltip: {
                  filter: function (item) { return !item.dataset.limit; },
                  callbacks: {
                    title: function (items) { return items.length ? formatTime(items[0].parsed.x) : ""; },
                    label: function (item) { return item.dataset.label + ": " + formatValue(item.parsed.y, null, null, unit); }
                  }
                }
              }
            }
          });
          figure.setAttribute("data-range-loaded", String(seconds));
          charts.push(chart);
        })
        .catch(function () { /* the table still shows current values */ });
    });
  }

  function appendChartPoints(metrics) {
    if (!charts.length) return;
    var byKey = {};
    metrics.forEach(function (m) { byKey[m.descriptor.key] = m; });
    if (historySeconds > HISTORY_SECONDS) return; // the longer ranges are minute means, not live
    var now = Date.now() / 1000;
    var horizon = now - HISTORY_SECONDS;
    charts.forEach(function (chart) {
      var changed = false;
      chart.options.scales.x.min = horizon;
      chart.data.datasets.forEach(function (dataset) {
        if (dataset.limit) {
          dataset.data[0].x = horizon;
          dataset.data[dataset.data.length - 1].x = now;
          return;
        }
        var metric = byKey[dataset.key];
        if (!metric || typeof metric.value !== "number") return;
        var last = dataset.data.length ? dataset.data[dataset.data.length - 1].x : -Infinity;
        if (metric.sampledAt > last) { dataset.data.push({ x: metric.sampledAt, y: metric.value }); changed = true; }
        while (dataset.data.length && dataset.data[0].x < horizon) { dataset.data.shift(); changed = true; }
      });
      if (changed) chart.update("none");
    });
  }

  // ---------- the site ----------

  // The site page's rows, one per chassis (the rows themselves come with the page: the
  // configuration lists the chassis). Text only: nothing from another chassis becomes markup.
  function applySite(doc) {
    doc.chassis.forEach(function (row) {
      var tr = null;
      document.querySelectorAll("[data-site-chassis]").forEach(function (candidate) {
        if (candidate.getAttribute("data-site-chassis") === row.name) tr = candidate;
      });
      if (!tr) return;
      var s = row.summary;
      var status = row.reachable ? (s ? s.status : "unknown") : "unreachable";
      var badge = tr.querySelector("[data-field=status]");
      if (badge) {
        badge.className = "badge badge-" + status;
        badge.textContent = status === "unreachable" ? "Unreachable" : statusText(status);
      }
      function set(field, text) { var cell = tr.querySelector("[data-field=" + field + "]"); if (cell) cell.textContent = text; }
      set("location", s ? s.location : "");
      set("blades", s ? s.bladesUp + " up, " + s.bladesDown + " down, " + s.slots + " slots" : "\u2014");
      set("alerts", s ? s.alertsCritical + " critical, " + s.alertsWarning + " warning, " + s.alertsNew + " new" : "\u2014");
      set("active", s ? (s.activeManager ? s.activeManager + " (" + (s.activeAddress || "?") + ")" : "none") : "\u2014");
      var state;
      if (row.own) state = "this chassis";
      else if (row.reachable) state = "answered " + formatTime(row.lastAnswerAt);
      else if (row.unreachableSince) state = "unreachable since " + formatTime(row.unreachableSince) + (row.problem ? ": " + row.problem : "");
      else state = "not asked yet";
      set("state", state);
      var open = tr.querySelector("[data-field=open]");
      if (open) open.hidden = !(row.reachable && s && s.activeURL);
    });
  }

  // The page that carries a login to another chassis of the site posts its form at once.
  function followSiteOpen() {
    var form = document.querySelector("form[data-site-open]");
    if (!form) return false;
    form.submit();
    return true;
  }

  // ---------- polling and failover ----------

  function poll() {
    if (!pollURL || searching) return;
    var headers = {};
    if (etag) headers["If-None-Match"] = etag;
    fetch(pollURL, { cache: "no-store", redirect: "manual", headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (response.type === "opaqueredirect") { lostContact("this blade is no longer the active manager"); return; }
        if (response.status === 304) { contactRestored(); return; }
        if (response.status === 401) { toLogin(); return; }
        if (response.status === 503) {
          return response.json().then(function (doc) { lostContact(doc && doc.error ? doc.error : "no active manager"); },
                                      function () { lostContact("no active manager"); });
        }
        if (!response.ok) { lostContact("the server answered " + response.status); return; }
        var tag = response.headers.get("ETag");
        return response.json().then(function (doc) {
          etag = tag;
          contactRestored();
          if (doc.slot) applySlot(doc); else if (doc.site && Array.isArray(doc.chassis)) applySite(doc); else if (doc.chassis) applyChassis(doc);
        });
      })
      .catch(function () { lostContact("no answer from " + location.host); });
  }

  function checkLiveness() {
    if (!pollURL || searching) return;
    withTimeout("/health/active", { cache: "no-store", redirect: "manual", credentials: "omit" })
      .then(function (response) {
        if (response.status === 503) lostContact("this blade is no longer the active manager");
      })
      .catch(function () { lostContact("no answer from " + location.host); });
  }

  function contactRestored() {
    if (failures > 0) showNotice("connection-notice", null);
    failures = 0;
  }

  function lostContact(why) {
    failures += 1;
    showNotice("connection-notice", "Lost contact with the active manager (" + why + "); looking for it among " +
      Math.max(members.length, 1) + " members\u2026");
    searchUntil = Date.now() + SEARCH_FOR_MS;
    findActive();
  }

  // The session ended (logged out elsewhere, expired, the user changed): log in again, then back here.
  function toLogin() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function refreshMembers() {
    fetch("/api/v1/session", { cache: "no-store", redirect: "manual", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (session) {
        if (session && Array.isArray(session.members)) {
          members = session.members.filter(function (url) { return /^https?:\/\//.test(url); })
            .map(function (url) { return { url: url }; });
        }
      })
      .catch(function () { /* keep the list we have */ });
  }

  function refreshTicket() {
    fetch("/api/v1/session/ticket", { method: "POST", cache: "no-store", redirect: "manual", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (doc) { if (doc && typeof doc.ticket === "string") ticket = doc; })
      .catch(function () { /* keep the ticket we have until it expires */ });
  }

  function withTimeout(url, options) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    if (controller) { options.signal = controller.signal; setTimeout(function () { controller.abort(); }, PROBE_TIMEOUT_MS); }
    return fetch(url, options);
  }

  function origin(url) {
    try { return new URL(url).origin; } catch (e) { return null; }
  }

  function moveTo(base) {
    var target = origin(base);
    if (!target || target === location.origin) return false;
    var next = location.pathname + location.search + "#moved-from=" + encodeURIComponent(location.host);
    if (ticket && ticket.expiresAt * 1000 > Date.now()) {
      // A top-level form post: the new blade's cookie is stored, and the ticket is in no URL.
      // The pages' Referrer-Policy (same-origin) would make the browser send "Origin: null" on
      // a post to another origin, which the new blade refuses: the page is leaving, so it may
      // name its origin (and only that) from now on.
      var policy = document.createElement("meta");
      policy.name = "referrer";
      policy.content = "origin";
      document.head.appendChild(policy);
      var form = document.createElement("form");
      form.method = "POST";
      form.action = target + "/session/transfer";
      form.hidden = true;
      [["ticket", ticket.ticket], ["next", next]].forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      ticket = null;
      document.body.appendChild(form);
      form.submit();
      return true;
    }
    location.assign(target + next);
    return true;
  }

  function searchAgain() {
    if (searchTimer || Date.now() > searchUntil) return;
    searchTimer = setTimeout(function () { searchTimer = null; findActive(); }, SEARCH_MS);
  }

  // Asks every other member whether it is the active manager (/health/active: 200 only there,
  // readable across the members' origins); goes to the one that is. Until one is, asks again
  // every 250 ms for a while.
  function findActive() {
    if (searching || !members.length) return;
    var others = members.filter(function (m) { return origin(m.url) !== location.origin; });
    if (!others.length) return;
    searching = true;
    var probes = others.map(function (member) {
      return withTimeout(member.url.replace(/\/+$/, "") + "/health/active", { cache: "no-store", mode: "cors" })
        .then(function (response) { return response.ok ? member : null; }, function () { return null; });
    });
    Promise.all(probes).then(function (results) {
      var active = results.filter(Boolean)[0];
      if (active && moveTo(active.url)) return;
      searching = false;
      searchAgain();
    }).catch(function () { searching = false; searchAgain(); });
  }

  // The page a ticket was redeemed on goes on to where the moved page was.
  function followTransfer() {
    var holder = document.querySelector("[data-transfer-next]");
    if (!holder) return false;
    var next = holder.getAttribute("data-transfer-next") || "/";
    if (next.charAt(0) !== "/" || next.charAt(1) === "/" || next.charAt(1) === "\\") next = "/";
    location.replace(next);
    return true;
  }

  function showMovedNotice() {
    var match = /^#moved-from=([^&]*)$/.exec(location.hash);
    if (!match) return;
    var from;
    try { from = decodeURIComponent(match[1]); } catch (e) { return; }
    showNotice("moved-notice", "The active manager moved from " + from + " to " + location.host + ".");
    if (history.replaceState) history.replaceState(null, "", location.pathname + location.search);
  }

  // ---------- acknowledge without reloading ----------

  function onSubmit(event) {
    var form = event.target;
    // A form that changes something hard to undo asks first (no inline handlers: the page's CSP forbids them).
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    if (!form.classList || !form.classList.contains("ack-form")) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    var body = {};
    var comment = form.querySelector("[name=comment]");
    if (comment && comment.value) body.comment = comment.value;
    var duration = form.querySelector("[name=for]");
    if (duration && duration.value) body.forSeconds = Number(duration.value);
    fetch(form.action, {
      method: "POST", redirect: "manual", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (response) {
      if (response.ok) {
        var item = form.closest("li");
        // In the alert log's table, the row shows the acknowledgement once the page is read again.
        if (!item) { location.reload(); return; }
        item.remove();
        etag = null;
        if (pollURL) poll(); else refreshBanner();
        return;
      }
      if (button) button.disabled = false;
      if (response.type === "opaqueredirect") { lostContact("this blade is no longer the active manager"); return; }
      return response.json().then(function (doc) {
        showNotice("connection-notice", "Could not acknowledge: " + (doc && doc.error ? doc.error : response.status));
      });
    }).catch(function () {
      if (button) button.disabled = false;
      lostContact("no answer from " + location.host);
    });
  }

  // ---------- the top bar's menu ----------

  // The menu of a narrow screen's top bar (a <details>, which needs no script) also closes on a
  // click elsewhere and on Escape.
  function setUpMenu() {
    var menu = document.querySelector("[data-topbar-menu]");
    if (!menu) return;
    var summary = menu.querySelector("summary");
    document.addEventListener("click", function (event) { if (menu.open && !menu.contains(event.target)) menu.open = false; });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) { menu.open = false; if (summary) summary.focus(); }
    });
  }

  // ---------- start ----------

  if (followTransfer() || followSiteOpen()) return;
  showMovedNotice();
  document.addEventListener("submit", onSubmit);
  setUpMenu();
  if (!document.querySelector("[data-user]")) return;
  refreshMembers();
  setInterval(refreshMembers, CLUSTER_MS);
  refreshTicket();
  setInterval(refreshTicket, TICKET_MS);
  setUpCharts();
  if (pollURL) {
    setInterval(poll, POLL_MS);
    setInterval(checkLiveness, LIVENESS_MS);
  }
})();
