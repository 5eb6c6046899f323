// Live progress of a dry run: polls /api/v1/runs/{id}/ until the run finishes; no page reload.
(function () {
  "use strict";
  const box = document.getElementById("dry-run-status");
  if (!box) return;
  const id = box.dataset.run;
  const state = document.getElementById("dry-run-state"), bar = document.getElementById("dry-run-bar");
  const message = document.getElementById("dry-run-message"), result = document.getElementById("dry-run-result");
  const done = (s) => s === "succeeded" || s === "failed";
  if (done(box.dataset.status)) return;
  async function poll() {
    let run;
    try {
      const response = await fetch(`/api/v1/runs/${encodeURIComponent(id)}/`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      run = await response.json();
    } catch (e) { setTimeout(poll, 5000); return; }
    state.textContent = run.status; state.className = "badge " + run.status;
    message.textContent = run.message || "";
    bar.style.width = Math.round(100 * (run.progress || 0)) + "%";
    if (run.statistic !== null && run.statistic !== undefined) {
      result.textContent = `statistic = ${Number(run.statistic).toFixed(4)} (CI ${Number(run.ci_low).toFixed(4)} – ${Number(run.ci_high).toFixed(4)})`;
    }
    if (!done(run.status)) setTimeout(poll, 2000);
  }
  poll();
})();
