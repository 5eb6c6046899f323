// Market page: keep the number field and the slider in sync, and show the server's quote (a dry-run
// forecast through the API) while the user moves them. The form itself works without this script.
(function () {
  "use strict";
  const form = document.getElementById("forecast-form");
  if (!form) return;
  const number = document.getElementById("probability");
  const slider = document.getElementById("probability-slider");
  const quote = document.getElementById("quote");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const url = "/api/v1/markets/" + encodeURIComponent(form.dataset.market) + "/forecasts/";
  let timer = null;
  let sequence = 0;

  const fmt = (x) => Number(x).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const pct = (x) => (100 * Number(x)).toFixed(1) + "%";

  function show(text, isError) {
    quote.textContent = text;
    quote.className = isError ? "small error" : "small";
  }

  async function fetchQuote() {
    const probability = Number(number.value);
    if (!Number.isFinite(probability) || probability < 0.01 || probability > 0.99) {
      show("Enter a probability between 0.01 and 0.99.", true);
      return;
    }
    const mine = ++sequence;
    show("Quoting…", false);
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ probability: probability, dry_run: true }),
      });
      const body = await response.json();
      if (mine !== sequence) return; // a newer quote is on its way
      if (!response.ok) {
        show(body.detail || "The quote failed.", true);
        return;
      }
      const verb = body.cost >= 0 ? "Cost" : "You receive";
      quote.replaceChildren();
      const line = (label, value, id) => {
        const div = document.createElement("div");
        div.textContent = label + ": ";
        const strong = document.createElement("strong");
        strong.textContent = value;
        if (id) strong.id = id;
        div.appendChild(strong);
        quote.appendChild(div);
      };
      line("Price", pct(body.probability_before) + " → " + pct(body.probability_after), "quote-price");
      line(verb, fmt(Math.abs(body.cost)) + " points", "quote-cost");
      line("Payout if YES", fmt(body.payout_if_yes) + " points", "quote-yes");
      line("Payout if NO", fmt(body.payout_if_no) + " points", "quote-no");
      line("Balance after", fmt(body.balance) + " points", "quote-balance");
      quote.className = "small";
    } catch (err) {
      if (mine === sequence) show("Could not reach the server for a quote.", true);
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(fetchQuote, 150);
  }

  slider.addEventListener("input", function () {
    number.value = Number(slider.value).toFixed(2);
    schedule();
  });
  number.addEventListener("input", function () {
    const value = Number(number.value);
    if (Number.isFinite(value)) slider.value = String(Math.min(0.99, Math.max(0.01, value)));
    schedule();
  });
  slider.value = String(Math.min(0.99, Math.max(0.01, Number(number.value) || 0.5)));
})();
