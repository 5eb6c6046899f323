// Factor market report: while the survey campaign runs, poll GET /api/v1/markets/{id}/campaign/ and update
// the progress section in place; reload once when a new decision lands or the market's status changes, so the
// estimate, charts and rows are redrawn by the server. Settings come from a json_script block (no inline script).
(function () {
  const node = document.getElementById("campaign-poll");
  if (!node) return;
  const poll = JSON.parse(node.textContent);
  const text = (id, value) => {
    const el = document.getElementById(id);
    if (el) el.textContent = String(value);
  };
  function eta(progress) {
    if (progress.complete) return "stage complete";
    if (progress.eta_seconds === null || progress.eta_seconds === undefined) {
      return "estimated once the first cells finish";
    }
    return "about " + Math.round(progress.eta_seconds / 60) + " min";
  }
  async function tick() {
    try {
      const res = await fetch(`/api/v1/markets/${poll.market}/campaign/`, {headers: {Accept: "application/json"}});
      if (res.ok) {
        const data = await res.json();
        if ((data.decisions || []).length !== poll.decisions || data.market_status !== poll.status) {
          window.location.reload();
          return;
        }
        const p = data.progress;
        if (p) {
          const bar = document.getElementById("rows-progress");
          if (bar) {
            bar.max = p.rows_planned;
            bar.value = p.rows_done;
            bar.textContent = `${p.rows_done} of ${p.rows_planned}`;
          }
          text("rows-done", p.rows_done);
          text("rows-planned", p.rows_planned);
          for (const key of ["cells_done", "cells_failed", "cells_running", "cells_pending", "cells_total"]) {
            text(key.replace("_", "-"), p[key]);
          }
          text("eta", eta(p));
        }
      }
    } catch (e) { /* network hiccup: try again next tick */ }
    setTimeout(tick, 3000);
  }
  setTimeout(tick, 3000);
})();
