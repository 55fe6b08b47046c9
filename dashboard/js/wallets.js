"use strict";
// The Wallets view: every wallet set with its wallets (balance, hold, available, value); creating one (with
// allocations), funding, withdrawing, transferring, closing (a trade token only); the chosen set's P&L per
// pair, its equity curve and its statement (paged, and as CSV).

const STATEMENT_PAGE = 50, EQUITY_SAMPLES = 500;

const walletsView = {
  chosen: null,               // the id of the wallet set shown below the table
  again: null,                // the timer of a re-reading of the chosen set after its money moved
  statementPages: [null],     // the cursor of each statement page read so far (null: the newest); the last is shown
  statementNext: null,
  equityChart: null, equitySeries: null,

  setUp() {
    document.querySelector("#wallets tbody").addEventListener("click", event => {
      const id = event.target.closest("tr")?.dataset.walletSet;
      if (id) this.choose(Number(id)).catch(showError);
    });
    document.getElementById("add-allocation").addEventListener("click", () => this.addAllocation());
    document.getElementById("create-form").addEventListener("submit", event => {
      event.preventDefault();
      this.create().catch(showError);
    });
    const money = document.getElementById("money-form");
    money.addEventListener("change", () => {
      money.querySelector(".transfer-only").hidden = money.action.value !== "transfer";
    });
    money.addEventListener("submit", event => { event.preventDefault(); this.moveMoney().catch(showError); });
    document.getElementById("close-set").addEventListener("click", () => this.close().catch(showError));
    document.getElementById("statement-older").addEventListener("click", () => {
      this.statementPages.push(this.statementNext);
      this.loadStatement().catch(showError);
    });
    document.getElementById("statement-newer").addEventListener("click", () => {
      this.statementPages.pop();
      this.loadStatement().catch(showError);
    });
    document.getElementById("statement-csv").addEventListener("click", () => this.downloadCsv().catch(showError));
    this.equityChart = LightweightCharts.createChart(document.getElementById("equity"),
      {autoSize: true, layout: {attributionLogo: false}, timeScale: {timeVisible: true}});
    this.equitySeries = this.equityChart.addSeries(LightweightCharts.AreaSeries,
      {lineColor: "#225", topColor: "rgba(34,34,85,.3)", bottomColor: "rgba(34,34,85,.02)"});
  },

  label(set) {
    return `${set.id} ${set.name} (${set.mode}${set.closed_at === null ? "" : ", closed"})`;
  },

  draw: throttled(() => walletsView.drawNow()),

  drawNow() {
    const rows = [];
    for (const set of [...state.walletSets.values()].sort((a, b) => a.id - b.id)) {
      const wallets = set.wallets || [], label = this.label(set), cls = set.closed_at === null ? "" : "closed";
      if (!wallets.length) rows.push(row([cell(label, cls), cell("no funds", "empty")], {walletSet: set.id}));
      for (const w of wallets) {
        rows.push(row([cell(label, cls), cell(w.exchange), cell(w.currency), cell(w.balance, "num"),
          cell(w.hold, "num"), cell(w.available, "num"), cell(w.usd_value, "num")],
          {walletSet: set.id, wallet: `${set.id}:${w.exchange}:${w.currency}`}));
      }
    }
    for (const tr of rows) if (Number(tr.dataset.walletSet) === this.chosen) tr.classList.add("chosen");
    fill("wallets", rows);
    this.listWalletSets();
    orderForm.listWalletSets();
  },

  // The wallet sets in the selects that name one: the orders' filter, the transfer's destination.
  listWalletSets() {
    const sets = [...state.walletSets.values()].sort((a, b) => a.id - b.id);
    const filter = document.querySelector("#order-filters [name=wallet_set_id]");
    const target = document.querySelector("#money-form [name=to_wallet_set_id]");
    for (const [select, choices] of [[filter, [new Option("any", ""), ...sets.map(s => new Option(this.label(s), s.id))]],
      [target, sets.filter(s => s.closed_at === null && s.id !== this.chosen).map(s => new Option(this.label(s), s.id))]]) {
      if ([...select.options].map(o => o.text).join() === choices.map(o => o.text).join()) continue;
      const value = select.value;
      select.replaceChildren(...choices);
      if (choices.some(o => o.value === value)) select.value = value;
    }
    const exchanges = document.querySelector("#money-form [name=exchange]");
    const names = Object.keys(state.exchanges).sort();
    if (exchanges.options.length !== names.length) {
      exchanges.replaceChildren(...names.map(name => new Option(name)));
      exchanges.value = markets.chosen?.exchange ?? exchanges.value;
    }
  },

  addAllocation() {
    const line = document.createElement("div");
    line.className = "allocation";
    const exchange = document.createElement("select");
    exchange.name = "exchange";
    exchange.append(...Object.keys(state.exchanges).sort().map(name => new Option(name)));
    exchange.value = markets.chosen?.exchange ?? exchange.value;  // the market's being looked at, to start with
    const currency = Object.assign(document.createElement("input"), {name: "currency", size: 6, placeholder: "USD"});
    const amount = Object.assign(document.createElement("input"), {name: "amount", size: 10, inputMode: "decimal"});
    const remove = button("remove");
    remove.addEventListener("click", () => line.remove());
    line.append("allocation: ", exchange, " ", currency, " ", amount, " ", remove);
    document.getElementById("allocations").append(line);
  },

  async create() {
    sending("create-result");
    const form = document.getElementById("create-form");
    const allocations = [...form.querySelectorAll(".allocation")].map(line => ({
      exchange: line.querySelector("[name=exchange]").value, currency: line.querySelector("[name=currency]").value.trim(),
      amount: line.querySelector("[name=amount]").value.trim()}));
    const answer = await send("POST", "/xwrap/v1/wallet_sets", {name: form.name.value.trim(), mode: form.mode.value,
      allocations});
    showResult("create-result", answer, `wallet set ${answer.id} created`);
    if (answer.error) return;
    state.walletSets.set(answer.id, answer);
    this.draw();
    document.getElementById("allocations").replaceChildren();
    form.name.value = "";
    await this.choose(answer.id);
  },

  async moveMoney() {
    sending("money-result");
    const form = document.getElementById("money-form"), id = this.chosen;
    const move = {exchange: form.exchange.value, currency: form.currency.value.trim(), amount: form.amount.value.trim()};
    const answer = form.action.value === "transfer"
      ? await send("POST", "/xwrap/v1/transfers", {...move, from_wallet_set_id: id,
        to_wallet_set_id: Number(form.to_wallet_set_id.value)})
      : await send("POST", `/xwrap/v1/wallet_sets/${id}/${form.action.value}`, move);
    showResult("money-result", answer, `${form.action.value}: ${move.amount} ${move.currency} (entry ${answer.entry?.id})`);
  },

  async close() {
    const id = this.chosen;
    if (!confirm(`Close wallet set ${id} for good? Its open orders are cancelled and its balances returned.`)) return;
    sending("money-result");
    const answer = await send("POST", `/xwrap/v1/wallet_sets/${id}/close`);
    showResult("money-result", answer, `wallet set ${id} closed`);
    if (answer.error) return;
    state.walletSets.set(answer.id, answer);
    this.draw();
    await this.choose(id);
  },

  // The chosen set's P&L, equity and the newest page of its statement.
  async choose(id) {
    this.chosen = id;
    this.statementPages = [null];
    this.draw();
    const set = state.walletSets.get(id);
    document.getElementById("wallet-set").hidden = false;
    document.getElementById("wallet-set-title").textContent = `Wallet set ${this.label(set)}`;
    document.getElementById("money-form").hidden = !canTrade || set.closed_at !== null;
    await Promise.all([this.loadPnl(), this.loadEquity(), this.loadStatement()]);
  },

  // A wallet set's money moved: what is shown of it is read again (the page of the statement shown stays).
  moved(id) {
    if (id !== this.chosen) return;
    clearTimeout(this.again);
    this.again = setTimeout(() => Promise.all([this.loadPnl(), this.loadStatement()]).catch(showError), 300);
  },

  async loadPnl() {
    const id = this.chosen, pnl = await api(`/xwrap/v1/wallet_sets/${id}/pnl?currency=USD`);
    if (id !== this.chosen) return;
    const signed = value => value === null ? "" : value.startsWith("-") ? "negative" : "positive";
    const rows = pnl.pairs.map(p => row([cell(p.exchange), cell(p.pair), cell(p.fills, "num"), cell(p.position, "num"),
      cell(p.average_cost, "num"), cell(p.mark?.price, "num"), cell(p.realized_value, "num " + signed(p.realized_value)),
      cell(p.unrealized_value, "num " + signed(p.unrealized_value)), cell(p.fees_value, "num"),
      cell(p.net_value, "num " + signed(p.net_value))], {pair: `${p.exchange}:${p.pair}`}));
    const t = pnl.totals;
    rows.push(row([cell("total"), cell(""), cell(""), cell(""), cell(""), cell(""),
      cell(t.realized, "num " + signed(t.realized)), cell(t.unrealized, "num " + signed(t.unrealized)),
      cell(t.fees, "num"), cell(t.net, "num " + signed(t.net))], {pair: "total"}));
    fill("pnl", rows);
  },

  async loadEquity() {
    const id = this.chosen;
    const history = await api(`/xwrap/v1/wallet_sets/${id}/history?interval=1m&limit=${EQUITY_SAMPLES}`);
    if (id !== this.chosen) return;
    this.equitySeries.setData(history.samples.map(s => ({time: Math.floor(s.time), value: Number(s.value)})));
    this.equityChart.timeScale().fitContent();
    document.getElementById("equity-note").textContent = history.samples.length ? ""
      : "no samples yet: the service samples each set's value once a minute of its clock";
  },

  async loadStatement() {
    const id = this.chosen, cursor = this.statementPages[this.statementPages.length - 1];
    const page = await api(`/xwrap/v1/wallet_sets/${id}/statement?${query({limit: STATEMENT_PAGE, cursor})}`);
    if (id !== this.chosen) return;
    this.statementNext = page.next_cursor;
    fill("statement", page.entries.map(e => row([cell(dateTime(e.time)), cell(e.kind), cell(e.exchange),
      cell(e.currency), cell(e.amount, "num"), cell(e.hold_change, "num"), cell(e.balance, "num"), cell(e.hold, "num"),
      cell(e.available, "num"), cell(e.order_id), cell(e.memo)], {line: e.id})));
    document.getElementById("statement-older").disabled = page.next_cursor === null;
    document.getElementById("statement-newer").disabled = this.statementPages.length === 1;
  },

  // The whole statement as the service's CSV, its pages joined (the next page's cursor comes in a header),
  // saved through a link: the token goes in the requests' header, never in a URL.
  async downloadCsv() {
    const id = this.chosen, parts = [];
    let cursor = null;
    do {
      const response = await fetch(`/xwrap/v1/wallet_sets/${id}/statement.csv?${query({limit: 1000, cursor})}`,
        {headers});
      if (!response.ok) throw new Error(errorText(await response.json(), response));
      const text = await response.text();
      parts.push(parts.length ? text.slice(text.indexOf("\r\n") + 2) : text);  // one header line, the first page's
      cursor = response.headers.get("X-Xwrap-Next-Cursor");
    } while (cursor);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(parts, {type: "text/csv"}));
    link.download = `wallet-set-${id}-statement.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    return parts.join("");
  },
};

async function loadWalletSet(id) {
  const set = await api(`/xwrap/v1/wallet_sets/${id}`);
  state.walletSets.set(set.id, set);
  return set;
}

async function loadWalletSets() {
  const sets = await api("/xwrap/v1/wallet_sets");
  await Promise.all(sets.map(set => loadWalletSet(set.id)));
  walletsView.draw();
}
