// Proposal form: draw the task, architecture and parameter inputs of the chosen concept from the registry
// catalog, and show the server's cost estimate of the spec as it is edited. The form works without it.
(function () {
  "use strict";
  const form = document.getElementById("proposal-form");
  const source = document.getElementById("registry-catalog");
  if (!form || !source) return;
  const catalog = JSON.parse(source.textContent);
  const $ = (id) => document.getElementById(id);
  const concept = $("concept"), task = $("task"), arch = $("arch"), preset = $("preset");
  const body = $("params-body"), cost = $("cost"), refresh = $("refresh");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  if (refresh) refresh.style.display = "none";  // the button is only needed without JavaScript

  function setOptions(select, names, keep) {
    const current = keep ? select.value : null;
    select.replaceChildren(...names.map((name) => new Option(name, name)));
    if (current && names.includes(current)) select.value = current;
  }

  function taskInfo() { return catalog[concept.value].tasks[task.value]; }

  function drawParams() {
    const info = taskInfo();
    const presetParams = info.presets[preset.value].params;
    const typed = {};
    body.querySelectorAll("[name^=param_]").forEach((el) => { if (el.value !== "") typed[el.name] = el.value; });
    const rows = Object.entries(info.params).map(([name, p]) => {
      const tr = document.createElement("tr");
      tr.dataset.param = name;
      const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
      const label = document.createElement("td");
      const lab = document.createElement("label"); lab.htmlFor = "param_" + name;
      const code = document.createElement("code"); code.textContent = name; lab.append(code); label.append(lab);
      const valueCell = document.createElement("td");
      let input;
      if (p.type === "enum") {
        input = document.createElement("select");
        input.append(new Option("(preset)", ""), ...p.choices.map((c) => new Option(c, c)));
      } else {
        input = document.createElement("input");
        input.type = "number"; input.min = p.min; input.max = p.max; input.step = p.type === "int" ? "1" : "any";
        input.placeholder = String(presetParams[name]);
      }
      input.name = input.id = "param_" + name;
      if (typed[input.name] !== undefined) input.value = typed[input.name];
      valueCell.append(input);
      const bounds = p.type === "enum" ? p.choices.join(", ") : `${p.type} in [${p.min}, ${p.max}]`;
      tr.append(label, valueCell, cell(bounds, "bounds small"), cell(String(presetParams[name]), "small"), cell(p.doc || "", "small muted"));
      return tr;
    });
    body.replaceChildren(...rows);
    $("preset-seeds").textContent = info.presets[preset.value].seeds;
  }

  function onConcept() {
    setOptions(task, Object.keys(catalog[concept.value].tasks), true);
    $("statistic").textContent = catalog[concept.value].statistic;
    onTask();
  }
  function onTask() { setOptions(arch, taskInfo().archs, true); drawParams(); schedule(); }

  function spec() {
    const params = {};
    body.querySelectorAll("[name^=param_]").forEach((el) => { if (el.value !== "") params[el.name.slice(6)] = el.value; });
    const out = { concept: concept.value, task: task.value, arch: arch.value, preset: preset.value, params };
    for (const key of ["seeds", "seed_budget"]) { const v = $(key).value; if (v !== "") out[key] = Number(v); }
    return out;
  }

  let timer = null, sequence = 0;
  function schedule() { clearTimeout(timer); timer = setTimeout(estimate, 350); }
  async function estimate() {
    const mine = ++sequence;
    let text, error = false;
    try {
      const response = await fetch("/api/v1/proposals/estimate/", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ spec: spec() }),
      });
      const data = await response.json();
      if (response.ok) {
        const c = data.cost;
        text = `Estimated compute: ${c.flops.toPrecision(3)} FLOPs for the seeds, ${c.flops_budget.toPrecision(3)} for ` +
          `the whole seed budget (cap ${c.flops_cap.toPrecision(3)}), about ${c.cpu_seconds_estimate.toFixed(1)} CPU seconds.`;
      } else { text = data.detail || "The spec is not valid."; error = true; }
    } catch (e) { text = "Could not reach the server to estimate the cost."; error = true; }
    if (mine !== sequence) return;  // a newer request has been sent
    const span = document.createElement(error ? "span" : "span");
    span.id = error ? "cost-error" : "cost-text"; if (error) span.className = "error";
    span.textContent = text;
    cost.replaceChildren(span);
  }

  concept.addEventListener("change", onConcept);
  task.addEventListener("change", onTask);
  preset.addEventListener("change", () => { drawParams(); schedule(); });
  arch.addEventListener("change", schedule);
  form.addEventListener("input", (e) => { if (e.target.name && (e.target.name.startsWith("param_") || e.target.name.startsWith("seed"))) schedule(); });
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT" && e.target.name.startsWith("param_")) schedule(); });
})();
