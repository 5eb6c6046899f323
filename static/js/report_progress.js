// Resolution report: poll the runs API while a run is queued or running (no reload), then reload
// once to show the result. Run ids come from json_script blocks, so the page needs no inline script.
(function () {
  const idsNode = document.getElementById("poll-ids");
  if (!idsNode) return;
  const ids = JSON.parse(idsNode.textContent);
  const mainNode = document.getElementById("poll-main");
  const main = mainNode ? JSON.parse(mainNode.textContent) : null;
  async function poll() {
    let finished = false;
    for (const id of ids) {
      try {
        const res = await fetch(`/api/v1/runs/${id}/`, {headers: {Accept: "application/json"}});
        if (!res.ok) continue;
        const run = await res.json();
        if (id === main) {
          const pct = Math.round(run.progress * 100);
          document.getElementById("run-progress").style.width = pct + "%";
          document.getElementById("run-percent").textContent = pct + "%";
          document.getElementById("run-message").textContent = run.message;
          const badge = document.getElementById("run-status");
          badge.textContent = run.status;
          badge.className = "badge " + run.status;
        }
        if (run.status === "succeeded" || run.status === "failed") finished = true;
      } catch (e) { /* network hiccup: try again next tick */ }
    }
    if (finished) { window.location.reload(); } else { setTimeout(poll, 2000); }
  }
  setTimeout(poll, 2000);
})();
