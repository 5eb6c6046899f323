// Numeric market page: sliders beside the component fields, a live plot of the proposed PDF and CDF over
// the market's current distribution, and the server's quote (a dry-run forecast through the API) with
// the payout per region. The form works without this script (number fields, "Quote" on submit).
(function () {
  "use strict";
  const form = document.getElementById("numeric-form");
  const configNode = document.getElementById("numeric-config");
  if (!form || !configNode) return;
  const cfg = JSON.parse(configNode.textContent);
  const FLOOR = 0.01; // as market.distributions.FLOOR
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const url = "/api/v1/markets/" + encodeURIComponent(cfg.market) + "/forecasts/";
  const quoteBox = document.getElementById("numeric-quote");
  const svg = document.getElementById("numeric-plot");
  const SVGNS = "http://www.w3.org/2000/svg";
  let timer = null;
  let sequence = 0;

  const inputs = Array.from(form.querySelectorAll("input[data-role]"));
  const span = cfg.hi - cfg.lo;

  // A slider beside every number field, kept in sync both ways.
  inputs.forEach(function (input) {
    const role = input.dataset.role;
    const slider = document.createElement("input");
    slider.type = "range";
    slider.id = input.id + "-slider";
    slider.setAttribute("aria-label", input.id.replace("id_", "").replace("_", " ") + " slider");
    if (role === "center") { slider.min = cfg.lo; slider.max = cfg.hi; }
    else if (role === "spread") { slider.min = span / 500; slider.max = span / 2; }
    else { slider.min = 0; slider.max = 1; }
    slider.step = role === "weight" ? 0.01 : span / 1000;
    slider.value = input.value;
    slider.addEventListener("input", function () { input.value = slider.value; changed(); });
    input.addEventListener("input", function () { slider.value = input.value; changed(); });
    input.insertAdjacentElement("afterend", slider);
  });

  function components() {
    const out = [];
    for (let i = 0; i < 3; i++) {
      const get = (role) => Number(form.querySelector("input[data-role=" + role + "][data-index='" + i + "']").value);
      const c = { center: get("center"), spread: get("spread"), weight: get("weight") };
      if (c.weight > 0) out.push(c);
    }
    const total = out.reduce((s, c) => s + c.weight, 0);
    out.forEach((c) => { c.weight = c.weight / total; });
    return out;
  }

  function valid(comps) {
    return comps.length > 0 && comps.every((c) => Number.isFinite(c.center) && Number.isFinite(c.spread) &&
      c.spread > 0 && Number.isFinite(c.weight));
  }

  const logistic = (x, m, s) => 0.5 * (1 + Math.tanh((x - m) / (2 * s)));

  // The same maths as market.distributions.pmf_from_components (then the 1% floor).
  function pmf(comps) {
    const edges = [];
    for (let i = 0; i <= cfg.n; i++) edges.push(cfg.lo + (span * i) / cfg.n);
    let cdf = edges.map((x) => comps.reduce((s, c) => s + c.weight * logistic(x, c.center, c.spread), 0));
    const below = cfg.open_lower ? 0 : cdf[0];
    const above = cfg.open_upper ? 1 : cdf[cdf.length - 1];
    if (above - below <= 1e-12) return null;
    cdf = cdf.map((v) => Math.min(Math.max((v - below) / (above - below), 0), 1));
    const p = [];
    if (cfg.open_lower) p.push(cdf[0]);
    for (let i = 0; i < cfg.n; i++) p.push(Math.max(cdf[i + 1] - cdf[i], 0));
    if (cfg.open_upper) p.push(1 - cdf[cdf.length - 1]);
    const total = p.reduce((a, b) => a + b, 0);
    return p.map((v) => (1 - FLOOR) * v / total + FLOOR / p.length);
  }

  function el(name, attrs) {
    const node = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach((k) => node.setAttribute(k, attrs[k]));
    return node;
  }

  function draw(proposed) {
    const W = 720, H = 260, L = 44, R = 40, T = 12, B = 30;
    const pw = W - L - R, ph = H - T - B;
    const s = cfg.support, lo = s[0], hi = s[s.length - 1];
    const width = (i) => s[i + 1] - s[i];
    const dens = (p) => p.map((v, i) => v / width(i));
    const cur = dens(cfg.current);
    const mine = proposed ? dens(proposed) : [];
    const peak = Math.max.apply(null, cur.concat(mine)) * 1.1 || 1;
    const x = (v) => L + (pw * (v - lo)) / (hi - lo);
    const y = (d) => T + ph * (1 - d / peak);
    const yc = (c) => T + ph * (1 - c);
    svg.replaceChildren();
    svg.appendChild(el("line", { x1: L, y1: T + ph, x2: L + pw, y2: T + ph, stroke: "#888" }));
    cur.forEach((d, i) => svg.appendChild(el("rect", {
      x: x(s[i]), y: y(d), width: Math.max(x(s[i + 1]) - x(s[i]) - 0.5, 0.5), height: T + ph - y(d), fill: "#7aa2d6",
    })));
    const cdfPoints = (p) => {
      let acc = 0;
      const pts = [x(s[0]) + "," + yc(0)];
      p.forEach((v, i) => { acc += v; pts.push(x(s[i + 1]) + "," + yc(acc)); });
      return pts.join(" ");
    };
    svg.appendChild(el("polyline", { points: cdfPoints(cfg.current), fill: "none", stroke: "#555",
      "stroke-dasharray": "5,4", "stroke-width": 1.5 }));
    if (proposed) {
      const pts = [];
      mine.forEach((d, i) => { pts.push(x(s[i]) + "," + y(d)); pts.push(x(s[i + 1]) + "," + y(d)); });
      svg.appendChild(el("polyline", { id: "proposed-pdf", points: pts.join(" "), fill: "none", stroke: "#d9822b",
        "stroke-width": 2 }));
      svg.appendChild(el("polyline", { points: cdfPoints(proposed), fill: "none", stroke: "#d9822b",
        "stroke-dasharray": "2,3", "stroke-width": 1.5 }));
    }
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      const t = el("text", { x: x(v), y: H - 10, "font-size": 11, "text-anchor": "middle" });
      t.textContent = Number(v.toPrecision(3)).toString();
      svg.appendChild(t);
    }
    const c1 = el("text", { x: W - 4, y: T + 10, "font-size": 11, "text-anchor": "end" });
    c1.textContent = "CDF 1";
    svg.appendChild(c1);
  }

  const fmt = (v) => Number(v).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function showError(text) {
    quoteBox.replaceChildren();
    const div = document.createElement("div");
    div.className = "error";
    div.id = "quote-error";
    div.textContent = text;
    quoteBox.appendChild(div);
  }

  function showQuote(body) {
    quoteBox.replaceChildren();
    const line = document.createElement("div");
    line.textContent = (body.cost >= 0 ? "Cost: " : "You receive: ");
    const cost = document.createElement("strong");
    cost.id = "quote-cost";
    cost.textContent = fmt(Math.abs(body.cost)) + " points";
    line.appendChild(cost);
    line.appendChild(document.createTextNode(" · balance after " + fmt(body.balance)));
    quoteBox.appendChild(line);
    const wrap = document.createElement("div");
    wrap.className = "payouts";
    const table = document.createElement("table");
    table.id = "quote-payouts";
    const head = table.createTHead().insertRow();
    ["If the statistic lands in", "Your payout"].forEach((h) => {
      const th = document.createElement("th");
      th.textContent = h;
      head.appendChild(th);
    });
    const tbody = table.createTBody();
    body.shares.forEach((v, i) => {
      const row = tbody.insertRow();
      row.insertCell().textContent = cfg.labels[i];
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = fmt(v);
    });
    wrap.appendChild(table);
    quoteBox.appendChild(wrap);
  }

  async function fetchQuote(comps) {
    const mine = ++sequence;
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ components: comps, dry_run: true }),
      });
      const body = await response.json();
      if (mine !== sequence) return;
      if (!response.ok) { showError(body.detail || "The quote failed."); return; }
      showQuote(body);
    } catch (err) {
      if (mine === sequence) showError("The quote failed: " + err);
    }
  }

  function changed() {
    const comps = components();
    if (!valid(comps)) { draw(null); showError("Give each used component a finite centre and a spread above 0."); return; }
    const p = pmf(comps);
    draw(p);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => fetchQuote(comps), 250);
  }

  document.getElementById("numeric-live").hidden = false;
  changed();
})();
