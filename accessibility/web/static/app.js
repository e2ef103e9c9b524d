/* The what-if page of `access serve`.
 *
 * The scenario of this tab (sites added at communes or points, sites removed) lives here and in
 * the address (#s=...), never on the server: each change sends the whole scenario to
 * POST /api/scenario and draws the answer. Text from the data is always set with textContent.
 */
"use strict";

(function () {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  };

  // ---------------------------------------------------------------- French numbers
  const fmtCache = {};
  function fr(x, decimals) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    const d = decimals || 0;
    if (!fmtCache[d]) fmtCache[d] = new Intl.NumberFormat("fr-FR", { minimumFractionDigits: d, maximumFractionDigits: d });
    return fmtCache[d].format(x);
  }
  const frSigned = (x, d) => (x > 0 ? "+" : x < 0 ? "−" : "") + fr(Math.abs(x), d);

  // ---------------------------------------------------------------- state
  let base = null;                 // GET /api/base
  let byCode = {};                 // code -> base commune
  let after = {};                  // code -> scenario commune
  let lastResult = null;
  let scenario = { add_points: [], add_communes: [], remove: [] };
  let seq = 0;                     // answers older than the last request are dropped
  let suggestion = null;
  let colourBy = "sites";          // "sites": time to the nearest site; "gamme": the gamme's mean time (--tier)
  let legendBox = null;
  const layers = {};               // code -> Leaflet layer
  let siteLayer, suggestionLayer, map;

  const TOTAL_ROWS = [
    ["communes_beyond", (t) => `Communes au-delà de ${t} min`, 0, ""],
    ["population_beyond", (t) => `Habitants au-delà de ${t} min`, 0, ""],
    ["share_population_beyond", () => "Part des habitants au-delà", 1, " %"],
    ["mean_minutes", () => "Temps moyen des communes", 1, " min"],
    ["weighted_mean_minutes", () => "Temps moyen pondéré par la population", 1, " min"],
  ];

  // ---------------------------------------------------------------- messages
  function say(text, kind) {
    const m = $("#message");
    if (!text) { m.hidden = true; m.textContent = ""; return; }
    m.hidden = false;
    m.className = kind || "";
    m.textContent = text;
  }

  async function api(path, body) {
    const t0 = performance.now();
    const opts = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const r = await fetch(path, opts);
    const timing = r.headers.get("Server-Timing") || "";
    const app = /app;dur=([0-9.]+)/.exec(timing);
    const serverMs = app ? parseFloat(app[1]) : null;
    const type = r.headers.get("Content-Type") || "";
    if (!r.ok) {
      let msg = `erreur ${r.status}`;
      if (type.startsWith("application/json")) {
        try { msg = (await r.json()).error.message; } catch (e) { /* keep the status */ }
      }
      const err = new Error(msg);
      err.status = r.status;
      throw err;
    }
    const data = type.startsWith("application/json") || type.startsWith("application/geo+json") ? await r.json() : await r.blob();
    return { data, serverMs, ms: performance.now() - t0, response: r };
  }

  // ---------------------------------------------------------------- colours
  // The colouring shown: its class edges and threshold, and a commune's [minutes, beyond].
  const shownEdges = () => (colourBy === "gamme" ? base.gamme.classes.edges : base.classes.edges);
  const shownThreshold = () => (colourBy === "gamme" ? base.gamme.threshold_min : base.threshold_min);
  function shownOf(code) {
    const c = byCode[code];
    if (colourBy === "gamme") return [c.gamme_minutes, c.gamme_beyond];
    const a = after[code];
    return a ? [a.minutes_after, a.beyond_after] : [c.minutes, c.beyond];
  }
  function classOf(minutes) {
    if (minutes === null || minutes === undefined) return -1;
    const e = shownEdges();
    let k = 0;
    for (let i = 0; i < e.length; i++) if (minutes >= e[i]) k = i;
    return k;
  }
  function colourOf(minutes) {
    const k = classOf(minutes);
    return k < 0 ? base.classes.unmeasured_color : base.classes.colors[k];
  }
  // Every commune in the colouring shown; those beyond its threshold on top (their outline shows).
  function restyle() {
    for (const code in layers) {
      const l = layers[code];
      l.setStyle(styleOf(code));
      if (shownOf(code)[1] && l.bringToFront) l.bringToFront();
    }
  }
  function styleOf(code) {
    const [m, beyond] = shownOf(code);
    return {
      fillColor: colourOf(m), fillOpacity: base.basemapOn ? 0.62 : 0.85,
      color: beyond ? "#111" : "#ffffff", weight: beyond ? 2.2 : 0.6, opacity: 1,
    };
  }

  // ---------------------------------------------------------------- scenario helpers
  const clone = (s) => JSON.parse(JSON.stringify(s));
  function saveHash() {
    const empty = !scenario.add_points.length && !scenario.add_communes.length && !scenario.remove.length;
    const h = empty ? "" : "#s=" + encodeURIComponent(JSON.stringify(scenario));
    history.replaceState(null, "", location.pathname + location.search + h);
  }
  // The scenario written in the address (#s=...), or null.
  function fromHash() {
    const m = /^#s=(.*)$/.exec(location.hash);
    if (!m) return null;
    try {
      const s = JSON.parse(decodeURIComponent(m[1]));
      return {
        add_points: Array.isArray(s.add_points) ? s.add_points : [],
        add_communes: Array.isArray(s.add_communes) ? s.add_communes : [],
        remove: Array.isArray(s.remove) ? s.remove : [],
      };
    } catch (e) {
      return null;
    }
  }

  // Show the scenario of the address; if the server refuses it, today's situation and why.
  async function openHash() {
    const s = fromHash();
    const ok = await change((n) => { if (s) Object.assign(n, s); }, performance.now());
    if (ok === true || !s || lastResult) return;  // refused later on: the tab keeps its scenario
    await change((n) => { n.add_points = []; n.add_communes = []; n.remove = []; }, performance.now());
    say(`Le scénario de l'adresse est refusé (${ok}) : voici la situation d'aujourd'hui.`);
  }

  // Send a changed scenario; keep it only if the server accepts it. Returns true, or the
  // server's message when it refused.
  async function change(mutate, t0) {
    const next = clone(scenario);
    mutate(next);
    const mine = ++seq;
    document.body.dataset.state = "busy";
    try {
      const r = await api("/api/scenario", next);
      if (mine !== seq) return true;
      scenario = next;
      render(r.data);
      saveHash();
      say(null);
      const total = performance.now() - (t0 || r.ms);
      document.body.dataset.lastClickMs = total.toFixed(1);
      document.body.dataset.lastServerMs = r.serverMs === null ? "" : r.serverMs.toFixed(1);
      $("#timing").textContent = `Clic → carte à jour : ${fr(total, 0)} ms (dont serveur : ${fr(r.serverMs, 1)} ms).`;
      return true;
    } catch (e) {
      if (mine === seq) say(e.message);
      return e.message;
    } finally {
      if (mine === seq) {
        document.body.dataset.state = "ready";
        document.body.dataset.updates = String(parseInt(document.body.dataset.updates || "0", 10) + 1);
      }
    }
  }

  // ---------------------------------------------------------------- drawing
  function render(res) {
    lastResult = res;
    after = {};
    for (const c of res.communes) after[c.code] = c;
    restyle();
    for (const code in layers) {
      const l = layers[code];
      if (l.isTooltipOpen && l.isTooltipOpen()) l.setTooltipContent(() => tooltipOf(code));  // not stale
    }
    renderTotals(res.totals);
    renderSites(res.sites);
    renderChanges(res.sites);
    renderCrossings(res.crossings);
  }

  function renderTotals(t) {
    const thr = fr(base.threshold_min, base.threshold_min % 1 ? 1 : 0);
    const body = $("#totals tbody");
    body.textContent = "";
    for (const [key, label, d, unit] of TOTAL_ROWS) {
      const b = t.before[key], a = t.after[key];
      const tr = el("tr");
      tr.appendChild(el("td", {}, label(thr)));
      tr.appendChild(el("td", { id: `tot-before-${key}`, "data-value": String(b) }, fr(b, d) + unit));
      tr.appendChild(el("td", { id: `tot-after-${key}`, "data-value": String(a) }, fr(a, d) + unit));
      const delta = (a === null || b === null) ? null : a - b;
      const cls = delta === null || Math.abs(delta) < 1e-9 ? "" : delta < 0 ? "better" : "worse";
      tr.appendChild(el("td", { id: `tot-delta-${key}`, class: cls }, delta === null ? "–" : (Math.abs(delta) < 1e-9 ? "=" : frSigned(delta, d) + unit)));
      body.appendChild(tr);
    }
  }

  function siteTooltip(s) {
    const st = { existing: "site existant", added: "site ajouté", removed: "site retiré" }[s.status];
    const served = s.status === "removed" ? "" : ` — ${fr(s.communes_after)} communes, ${fr(s.population_after)} hab. au plus près`;
    const act = s.status === "removed" ? "clic : le rétablir" : "clic : le retirer";
    return `${s.name} (${st})${served}. ${act}`;
  }

  function renderSites(sites) {
    siteLayer.clearLayers();
    for (const s of sites) {
      if (!s.placed || s.lon === null) continue;
      const opts = s.status === "added"
        ? { radius: 8, color: "#ffffff", weight: 2, fillColor: "#d7191c", fillOpacity: 1 }
        : s.status === "removed"
          ? { radius: 6, color: "#000000", weight: 2, dashArray: "2 2", fillColor: "#ffffff", fillOpacity: 0.9 }
          : { radius: 5.5, color: "#ffffff", weight: 1.5, fillColor: "#1f4e9e", fillOpacity: 1 };
      const m = L.circleMarker([s.lat, s.lon], { ...opts, pane: "sites", bubblingMouseEvents: false });
      m.bindTooltip(siteTooltip(s), { direction: "top", offset: [0, -6] });
      m.on("click", (e) => { L.DomEvent.stop(e); onSiteClick(s, performance.now()); });
      m.addTo(siteLayer);
    }
  }

  function addedEntry(s) {
    if (s.id.startsWith("commune-")) return { kind: "commune", code: s.id.slice(8) };
    const i = parseInt(s.id.slice(6), 10) - 1;  // point-N
    return { kind: "point", index: i };
  }

  function onSiteClick(s, t0) {
    if (s.status === "added") {
      const a = addedEntry(s);
      change((n) => {
        if (a.kind === "commune") n.add_communes = n.add_communes.filter((c) => c !== a.code);
        else n.add_points.splice(a.index, 1);
      }, t0);
    } else if (s.status === "removed") {
      change((n) => { n.remove = n.remove.filter((r) => r !== s.id); }, t0);
    } else {
      change((n) => { n.remove.push(s.id); }, t0);
    }
  }

  function renderChanges(sites) {
    const ul = $("#changes");
    ul.textContent = "";
    const changed = sites.filter((s) => s.status !== "existing");
    $("#no-change").hidden = changed.length > 0;
    $("#reset").hidden = changed.length === 0;
    for (const s of changed) {
      const li = el("li");
      const what = s.status === "added" ? "Ajouté : " : "Retiré : ";
      li.appendChild(el("span", { class: s.status === "added" ? "enters" : "leaves" }, what));
      li.appendChild(document.createTextNode(s.name + (s.status === "added" ? ` (${fr(s.population_after)} hab. au plus près)` : "")));
      const b = el("button", { type: "button", class: "small" }, s.status === "added" ? "annuler" : "rétablir");
      b.addEventListener("click", () => onSiteClick(s, performance.now()));
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  function renderCrossings(rows) {
    const box = $("#crossings");
    box.textContent = "";
    if (!rows.length) { box.appendChild(el("p", { class: "hint" }, "Aucune.")); return; }
    const thr = fr(base.threshold_min, base.threshold_min % 1 ? 1 : 0);
    for (const [kind, title] of [["enters", `Passent sous ${thr} min`], ["leaves", `Passent au-delà de ${thr} min`]]) {
      const sub = rows.filter((r) => r.crossing === kind);
      if (!sub.length) continue;
      const pop = sub.reduce((s, r) => s + (r.population || 0), 0);
      box.appendChild(el("p", { class: kind }, `${title} : ${fr(sub.length)} communes, ${fr(pop)} habitants`));
      const ul = el("ul", { class: "crossing-list", id: `crossings-${kind}` });
      for (const r of sub) {
        const li = el("li", { "data-code": r.code },
          `${r.nom} (${r.code}) — ${fr(r.population)} hab. : ${fr(r.minutes_before, 1)} → ${fr(r.minutes_after, 1)} min`);
        li.addEventListener("click", () => { const l = layers[r.code]; if (l && l.getBounds) map.fitBounds(l.getBounds(), { maxZoom: 11 }); });
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
  }

  function tooltipOf(code) {
    const c = byCode[code];
    const a = after[code];
    const m0 = c.minutes, m1 = a ? a.minutes_after : c.minutes;
    let t = `${c.nom} (${c.code}) — ${fr(c.population)} hab.`;
    if (!c.placed) return t + ` — non mesurée : ${c.reason}`;
    t += ` — ${fr(m0, 1)} min`;
    if (a && m1 !== m0) t += ` → ${fr(m1, 1)} min`;
    if (base.gamme) t += ` ; gamme ${base.gamme.label} : ${fr(c.gamme_minutes, 1)} min en moyenne`;
    return t;
  }

  // ---------------------------------------------------------------- clicks on the map
  const mode = () => document.querySelector('input[name="mode"]:checked').value;

  function addPoint(latlng, t0) {
    const n = scenario.add_points.length + 1;
    change((s) => {
      s.add_points.push({ lon: +latlng.lng.toFixed(6), lat: +latlng.lat.toFixed(6), label: `Nouveau site ${n}` });
    }, t0);
  }

  function onCommuneClick(code, e) {
    L.DomEvent.stop(e);
    const t0 = performance.now();
    if (mode() === "point") return addPoint(e.latlng, t0);
    const c = byCode[code];
    if (!c.placed) return say(`${c.nom} n'est pas placée sur le réseau routier (${c.reason}) : elle ne peut pas accueillir de site.`);
    if (scenario.add_communes.includes(code)) return say(`Un site est déjà ajouté à ${c.nom} : cliquez sur lui pour le retirer.`, "info");
    change((s) => { s.add_communes.push(code); }, t0);
  }

  // ---------------------------------------------------------------- best next sites
  async function best(k) {
    const box = $("#best");
    box.textContent = "";
    box.appendChild(el("p", { class: "hint" }, "Calcul…"));
    const buttons = document.querySelectorAll("#best-buttons button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const r = await api("/api/optimize", { ...clone(scenario), k, objective: $("#objective").value });
      showBest(r.data, r.ms);
    } catch (e) {
      box.textContent = "";
      say(e.message);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function gainText(objective, g) {
    return objective === "coverage" ? `+${fr(g)} hab. sous le seuil` : `${fr(g)} habitant·minutes gagnées`;
  }

  function showBest(o, ms) {
    const box = $("#best");
    box.textContent = "";
    suggestionLayer.clearLayers();
    const sol = o.exact || o.greedy;
    box.appendChild(el("p", {}, `Pour ${o.objective_fr} :`));
    const ol = el("ol");
    for (const s of sol.sites) {
      ol.appendChild(el("li", {}, `${s.name} (${s.code}) — ${gainText(o.objective, s.gain)}`));
      L.circleMarker([s.lat, s.lon], { pane: "sites", radius: 10, color: "#111", weight: 2, dashArray: "3 3",
        fillColor: "#ffd400", fillOpacity: 0.9 }).bindTooltip(`Suggestion : ${s.name}`).addTo(suggestionLayer);
    }
    box.appendChild(ol);
    const t = o.totals_after;
    box.appendChild(el("p", { class: "hint" },
      `Avec ces sites : ${fr(t.communes_beyond)} communes et ${fr(t.population_beyond)} habitants au-delà du seuil, ` +
      `temps moyen pondéré ${fr(t.weighted_mean_minutes, 1)} min.`));
    const same = o.exact && o.greedy && o.exact.sites.map((s) => s.code).join() === o.greedy.sites.map((s) => s.code).join();
    const proof = o.exact ? (o.exact.optimal ? "optimum prouvé (programme linéaire en nombres entiers)"
      : `optimum non prouvé dans le temps imparti (${o.exact.status})`) : "";
    const greedy = same ? "la méthode gloutonne trouve les mêmes sites"
      : `la méthode gloutonne propose ${o.greedy.sites.map((s) => s.name).join(", ")} (écart ${fr(100 * (o.gap || 0), 2)} %)`;
    box.appendChild(el("p", { class: "hint" }, `${proof} ; ${greedy}. Calculé en ${fr(ms, 0)} ms.`));
    const add = el("button", { type: "button" }, "Ajouter ces sites au scénario");
    add.addEventListener("click", () => {
      const t0 = performance.now();
      suggestionLayer.clearLayers();
      box.textContent = "";
      change((s) => { for (const x of sol.sites) if (!s.add_communes.includes(x.code)) s.add_communes.push(x.code); }, t0);
    });
    box.appendChild(add);
  }

  // ---------------------------------------------------------------- exports
  async function exportAs(fmt, button) {
    button.disabled = true;
    try {
      const r = await api(`/api/export/${fmt}`, clone(scenario));
      const cd = r.response.headers.get("Content-Disposition") || "";
      const m = /filename="([^"]+)"/.exec(cd);
      const a = el("a", { href: URL.createObjectURL(r.data), download: m ? m[1] : `scenario.${fmt}` });
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    } catch (e) {
      say(e.message);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- basemap, only when reachable
  function tryBasemap() {
    const bm = base.basemap;
    const status = $("#basemap-status");
    if (!bm) { status.textContent = "Fond de carte : aucun (désactivé)."; return; }
    status.textContent = "Fond de carte : recherche d'OpenStreetMap…";
    const img = new Image();
    const timer = setTimeout(() => { img.src = ""; status.textContent = "Fond de carte : aucun (OpenStreetMap injoignable)."; }, 5000);
    img.onload = () => {
      clearTimeout(timer);
      const layer = L.tileLayer(bm.url, { maxZoom: bm.max_zoom, attribution: bm.attribution });
      layer.addTo(map);
      base.basemapOn = true;
      restyle();
      status.textContent = "";
      const label = el("label");
      const box = el("input", { type: "checkbox", checked: "" });
      box.addEventListener("change", () => {
        if (box.checked) layer.addTo(map); else layer.remove();
        base.basemapOn = box.checked;
        restyle();
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" fond de carte OpenStreetMap"));
      status.appendChild(label);
    };
    img.onerror = () => { clearTimeout(timer); status.textContent = "Fond de carte : aucun (OpenStreetMap injoignable)."; };
    img.referrerPolicy = "no-referrer";
    img.src = bm.probe;
  }

  function legend() {
    const c = L.control({ position: "bottomleft" });
    c.onAdd = () => {
      legendBox = el("div", { class: "legend" });
      fillLegend();
      L.DomEvent.disableClickPropagation(legendBox);
      return legendBox;
    };
    c.addTo(map);
  }

  function fillLegend() {
    const div = legendBox;
    div.textContent = "";
    const gamme = colourBy === "gamme";
    div.appendChild(el("div", { class: "title" }, gamme
      ? `Temps moyen aux ${fr(base.gamme.equipments)} équipements de la gamme ${base.gamme.label}`
      : "Temps jusqu'au site le plus proche"));
    const e = shownEdges();
    for (let i = 0; i < e.length; i++) {
      const row = el("div");
      const sw = el("i");
      sw.style.background = base.classes.colors[i];
      row.appendChild(sw);
      const d = (x) => fr(x, x % 1 ? 1 : 0);
      row.appendChild(document.createTextNode(i + 1 < e.length ? `${d(e[i])} – ${d(e[i + 1])} min` : `plus de ${d(e[i])} min`));
      div.appendChild(row);
    }
    const thr = shownThreshold();
    const rows = [
      ["outline", null, `au-delà de ${fr(thr, thr % 1 ? 1 : 0)} min (contour${gamme ? ", zone grise" : ""})`],
      ["", base.classes.unmeasured_color, "non mesurée"],
      ["dot", "#1f4e9e", "site existant"],
      ["dot", "#d7191c", "site ajouté"],
      ["dot", "#ffffff", "site retiré"],
    ];
    for (const [cls, col, text] of rows) {
      const row = el("div");
      const sw = el("i", { class: cls });
      if (col) sw.style.background = col;
      row.appendChild(sw);
      row.appendChild(document.createTextNode(text));
      div.appendChild(row);
    }
  }

  // With --tier: the communes coloured by the gamme's mean time (fixed) or by the nearest site.
  function colourChoice() {
    const box = $("#colour-by");
    if (!base.gamme) return;
    box.hidden = false;
    $("#colour-gamme-label").textContent =
      `temps moyen aux équipements de la gamme ${base.gamme.label} (zones grises au-delà de ${fr(base.gamme.threshold_min)} min ; ne change pas avec les sites)`;
    colourBy = "gamme";
    document.body.dataset.colour = colourBy;
    box.querySelector('input[value="gamme"]').checked = true;
    box.querySelectorAll('input[name="colour"]').forEach((r) => r.addEventListener("change", () => {
      colourBy = r.value;
      document.body.dataset.colour = colourBy;
      restyle();
      fillLegend();
    }));
  }

  // ---------------------------------------------------------------- start
  async function start() {
    let b, g;
    try {
      [b, g] = await Promise.all([api("/api/base"), api("/api/communes.geojson")]);
    } catch (e) {
      say(`Impossible de charger les données : ${e.message}`);
      return;
    }
    base = b.data;
    for (const c of base.communes) byCode[c.code] = c;
    const deps = base.departements.length ? `, départements ${base.departements.join(", ")}` : "";
    $("#subtitle").textContent = `${base.title}${deps} — seuil ${fr(base.threshold_min, base.threshold_min % 1 ? 1 : 0)} min, ` +
      `${fr(base.communes.length)} communes, ${fr(base.sites.filter((s) => s.placed).length)} sites`;
    colourChoice();
    const sel = $("#objective");
    for (const [k, v] of Object.entries(base.objectives)) sel.appendChild(el("option", { value: k }, v));

    map = L.map("map", { zoomSnap: 0.25, preferCanvas: false, attributionControl: true });
    map.attributionControl.setPrefix(false);
    map.createPane("sites").style.zIndex = 650;
    const [w, s, e, n] = base.bbox;
    map.fitBounds([[s, w], [n, e]], { padding: [8, 8] });
    const withPolygon = new Set();
    L.geoJSON(g.data, {
      style: (f) => styleOf(f.properties.code),
      onEachFeature: (f, layer) => {
        const code = f.properties.code;
        if (!byCode[code]) return;
        withPolygon.add(code);
        layers[code] = layer;
        layer.on("click", (ev) => onCommuneClick(code, ev));
        layer.bindTooltip(() => tooltipOf(code), { sticky: true });
      },
    }).addTo(map);
    for (const c of base.communes) {   // communes without a polygon: a dot at their centre
      if (withPolygon.has(c.code) || c.lat === null) continue;
      const layer = L.circleMarker([c.lat, c.lon], { radius: 5, ...styleOf(c.code) }).addTo(map);
      layers[c.code] = layer;
      layer.on("click", (ev) => onCommuneClick(c.code, ev));
      layer.bindTooltip(() => tooltipOf(c.code));
    }
    siteLayer = L.layerGroup().addTo(map);
    suggestionLayer = L.layerGroup().addTo(map);
    map.on("click", (ev) => {
      if (mode() === "point") addPoint(ev.latlng, performance.now());
      else say("Cliquez dans une commune étudiée (ou choisissez « au point cliqué »).", "info");
    });
    legend();
    L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);

    document.querySelectorAll("#best-buttons button").forEach((bt) => bt.addEventListener("click", () => best(parseInt(bt.dataset.k, 10))));
    document.querySelectorAll("[data-export]").forEach((bt) => bt.addEventListener("click", () => exportAs(bt.dataset.export, bt)));
    $("#reset").addEventListener("click", () => change((s) => { s.add_points = []; s.add_communes = []; s.remove = []; }, performance.now()));
    window.addEventListener("hashchange", () => { openHash(); });

    window.accessPage = { map, layers, get scenario() { return clone(scenario); }, get result() { return lastResult; } };
    await openHash();
    tryBasemap();
  }

  start();
})();
