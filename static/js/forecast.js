// Market page: the percent field and the slider stay in sync, and the server's quote (a dry-run
// forecast through the API, which takes probabilities in [0, 1]) shows at load and while the user
// moves them. A refusal for lack of points offers a one-click move to the furthest affordable price.
// The form itself works without this script.
(function () {
  "use strict";
  const form = document.getElementById("forecast-form");
  if (!form) return;
  const number = document.getElementById("percent");
  const slider = document.getElementById("percent-slider");
  const quote = document.getElementById("quote");
  const affordable = document.getElementById("affordable-button");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const url = "/api/v1/markets/" + encodeURIComponent(form.dataset.market) + "/forecasts/";
  const price = Number(form.dataset.price);
  const heldYes = Number(form.dataset.heldYes || 0);
  const heldNo = Number(form.dataset.heldNo || 0);
  let timer = null;
  let sequence = 0;

  const fmt = (x) => Number(x).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const pct = (x, digits) => (100 * Number(x)).toFixed(digits === undefined ? 1 : digits) + "%";

  function show(text, isError) {
    quote.textContent = text;
    quote.className = isError ? "small error" : "small";
  }

  function line(label, value, id) {
    const div = document.createElement("div");
    div.textContent = label + ": ";
    const strong = document.createElement("strong");
    strong.textContent = value;
    if (id) strong.id = id;
    div.appendChild(strong);
    quote.appendChild(div);
    return div;
  }

  function offerAffordable(probability) {
    if (probability === null || probability === undefined) {
      affordable.hidden = true;
      return;
    }
    affordable.hidden = false;
    affordable.textContent = "Move to " + pct(probability, 2) + ", the furthest I can afford";
    affordable.dataset.percent = (100 * probability).toFixed(2);
  }

  function showCurrent() {
    quote.replaceChildren();
    line("The price is", pct(price), "quote-price");
    line("You hold", fmt(heldYes) + " YES and " + fmt(heldNo) + " NO shares", "quote-held");
    const hint = document.createElement("div");
    hint.textContent = "Move the slider or type a percentage to see what a forecast would cost.";
    quote.appendChild(hint);
    quote.className = "small";
  }

  async function fetchQuote() {
    const percent = Number(number.value);
    offerAffordable(null);
    if (number.value.trim() === "" || !Number.isFinite(percent) || percent < 1 || percent > 99) {
      const hint = Number.isFinite(percent) && percent > 0 && percent < 1 ? " (70 means 70%)" : "";
      show("Enter a percentage between 1 and 99" + hint + ".", true);
      return;
    }
    const probability = percent / 100;
    if (Math.abs(probability - price) < 1e-4) {
      showCurrent();
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
        if (body.code === "insufficient_balance") {
          show("Moving the price to " + pct(probability) + " costs " + fmt(body.cost) + " points; your balance is " +
               fmt(body.balance) + ".", true);
          offerAffordable(body.furthest_probability);
        } else {
          show(body.detail || "The quote failed.", true);
        }
        return;
      }
      quote.replaceChildren();
      line("Price", pct(body.probability_before) + " → " + pct(body.probability_after), "quote-price");
      if (body.cost >= 0) {
        line("Cost", fmt(body.cost) + " points", "quote-cost");
      } else {
        line("You receive", fmt(-body.cost) + " points", "quote-cost");
        const sold = [];
        if (body.delta_yes < 0) sold.push(fmt(-body.delta_yes) + " YES");
        if (body.delta_no < 0) sold.push(fmt(-body.delta_no) + " NO");
        const why = document.createElement("div");
        why.id = "quote-why";
        why.textContent = "This move sells back " + sold.join(" and ") +
          " shares you hold; a sale pays you what the shares are worth to the market now.";
        quote.appendChild(why);
      }
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
    number.value = Number(slider.value).toFixed(1);
    schedule();
  });
  number.addEventListener("input", function () {
    const value = Number(number.value);
    if (Number.isFinite(value)) slider.value = String(Math.min(99, Math.max(1, value)));
    schedule();
  });
  affordable.addEventListener("click", function () {
    number.value = affordable.dataset.percent;
    slider.value = affordable.dataset.percent;
    form.requestSubmit(); // one click: the button names the price it moves to

  });
  slider.value = String(Math.min(99, Math.max(1, Number(number.value) || 50)));
  fetchQuote(); // the quote for the value in the field, at load
})();
