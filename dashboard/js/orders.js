"use strict";
// The Orders view: open and recent orders under the filters (read in pages, kept current by the `orders`
// events), drawn through a window so that thousands stay fast; one order's details with its events and fills
// (and what caused each fill); cancel and amend (a trade token only); the recent fills.

const ORDERS_PAGE = 500, MAX_ORDERS = 20000, KEEP_FILLS = 50;

const ordersView = {
  filters: {wallet_set_id: "", exchange: "", pair: "", status: "recent", tag: ""},
  generation: 0,       // a new reading of the orders under new filters makes the old one's pages stale
  table: null,
  chosen: null,        // the id of the order whose details are shown

  setUp() {
    this.table = new WindowedTable("orders-window", "orders", order => this.orderRow(order));
    const form = document.getElementById("order-filters");
    let typing = null;
    form.addEventListener("change", () => this.filter());
    form.addEventListener("input", event => {
      if (event.target.tagName !== "INPUT") return;
      clearTimeout(typing);
      typing = setTimeout(() => this.filter(), 300);
    });
    form.addEventListener("submit", event => event.preventDefault());
    document.querySelector("#orders tbody").addEventListener("click", event => this.clicked(event).catch(showError));
    document.getElementById("amend-form").addEventListener("submit", event => {
      event.preventDefault();
      this.amend().catch(showError);
    });
  },

  filter() {
    const form = document.getElementById("order-filters");
    for (const name of Object.keys(this.filters)) this.filters[name] = form.elements[name].value.trim();
    this.load().catch(showError);
  },

  // Every order under the filters, newest first, a page at a time (each page drawn as it comes).
  async load() {
    const generation = ++this.generation, f = this.filters;
    const params = {wallet_set_id: f.wallet_set_id, exchange: f.exchange, pair: f.pair, tag: f.tag,
      status: f.status === "open" ? "open" : "recent", limit: ORDERS_PAGE};
    state.orders.clear();
    this.changed();
    let before = null;
    do {
      const page = await api(`/xwrap/v1/orders?${query({...params, before})}`);
      if (generation !== this.generation) return;
      for (const o of page.orders) if (!state.orders.has(o.id)) state.orders.set(o.id, o);
      this.changed();
      before = page.next_before;
    } while (before !== null && state.orders.size < MAX_ORDERS);
  },

  matches(o) {
    const f = this.filters;
    return (!f.wallet_set_id || String(o.wallet_set_id) === f.wallet_set_id) && (!f.exchange || o.exchange === f.exchange)
      && (!f.pair || o.pair === f.pair.toUpperCase()) && (!f.tag || o.tag === f.tag)
      && (f.status === "recent" || (f.status === "open" ? OPEN.has(o.status) : o.status === f.status));
  },

  // An `orders` event: the order as it is now.
  update(order) {
    if (!this.matches(order) && !state.orders.has(order.id)) return;  // one shown and no longer matching goes
    state.orders.set(order.id, order);
    this.changed();
    if (order.id === this.chosen) this.details(order.id).catch(showError);
  },

  changed: throttled(() => ordersView.draw()),

  draw() {
    const shown = [...state.orders.values()].filter(o => this.matches(o)).sort((a, b) => Number(b.id) - Number(a.id));
    this.table.show(shown);
    document.getElementById("orders-count").textContent = `${shown.length} orders`;
  },

  orderRow(o) {
    const tr = row([cell(o.id), cell(o.wallet_set_id), cell(o.exchange), cell(o.pair), cell(o.side, o.side),
      cell(o.type), cell(o.price, "num"), cell(o.size, "num"), cell(o.filled_size, "num"), cell(o.status, o.status),
      cell(o.tag), ...(canTrade ? [this.cancelCell(o)] : [])], {orderId: o.id, status: o.status});
    if (o.id === this.chosen) tr.className = "chosen";
    return tr;
  },

  // A trade token's cancel button on an open order (the click is handled once, on the table).
  cancelCell(order) {
    const td = document.createElement("td");
    if (OPEN.has(order.status)) td.append(button("cancel", {cancel: order.id}));
    return td;
  },

  async clicked(event) {
    const cancel = event.target.dataset?.cancel;
    if (cancel) {
      event.target.disabled = true;
      const answer = await send("POST", `/xwrap/v1/orders/${encodeURIComponent(cancel)}/cancel`);
      if (answer.error) { event.target.disabled = false; showError(new Error(answer.error)); }
      return;
    }
    const id = event.target.closest("tr")?.dataset.orderId;
    if (id) await this.details(id);
  },

  // One order as get_order has it: its terms, its events, its fills with their causes.
  async details(id) {
    this.chosen = id;
    this.draw();
    const o = await api(`/xwrap/v1/orders/${encodeURIComponent(id)}`);
    if (this.chosen !== id) return;
    document.getElementById("order-details").hidden = false;
    document.getElementById("order-title").textContent =
      `Order ${o.id}: ${o.side} ${o.size ?? o.funds + " (funds)"} ${o.pair} on ${o.exchange}, ${o.status}`;
    const terms = [["client order id", o.client_order_id], ["exchange order id", o.exchange_order_id],
      ["wallet set", o.wallet_set_id], ["type", o.type], ["price", o.price], ["stop price", o.stop_price],
      ["time in force", o.time_in_force], ["post only", o.post_only], ["filled", o.filled_size],
      ["average price", o.average_price], ["executed value", o.executed_value], ["fees", o.fees],
      ["created", dateTime(o.created_at)], ["updated", dateTime(o.updated_at)], ["reason", o.reason], ["tag", o.tag]];
    document.getElementById("order-summary").textContent = terms.filter(([, v]) => v !== null && v !== "")
      .map(([name, value]) => `${name}: ${value}`).join(" · ");
    fill("order-events", o.events.map(e => row([cell(clock(e.time)), cell(e.from), cell(e.to, e.to), cell(e.reason)])));
    fill("order-fills", o.fills.map(f => row([cell(clock(f.time)), cell(f.trade_id), cell(f.price, "num"),
      cell(f.size, "num"), cell(`${f.fee} ${f.fee_currency}`, "num"), cell(f.liquidity), cell(causeText(f.cause), "cause")],
      {tradeId: f.trade_id})));
    const amend = document.getElementById("amend-form");
    amend.hidden = !canTrade || !OPEN.has(o.status) || o.type !== "limit";
    if (amend.dataset.orderId !== o.id) {  // a new order: its terms in the form; the same one: the user's typing stays
      amend.dataset.orderId = o.id;
      amend.price.value = o.price ?? "";
      amend.size.value = o.size ?? "";
      document.getElementById("amend-result").textContent = "";
    }
  },

  // Sent strict, as the order form's: a price or size off the grid is refused rather than rounded.
  async amend() {
    const form = document.getElementById("amend-form"), id = form.dataset.orderId;
    sending("amend-result");
    const answer = await send("POST", `/xwrap/v1/orders/${encodeURIComponent(id)}/amend`,
      {price: form.price.value.trim(), size: form.size.value.trim(), strict: true});
    showResult("amend-result", answer, `amended: ${answer.size} at ${answer.price}, ${answer.status}`);
  },
};

// A fill's cause as one line: what reached the order (the book level it took, or the public trade).
function causeText(cause) {
  return Object.entries(cause || {}).map(([key, value]) =>
    `${key} ${value !== null && typeof value === "object" ? JSON.stringify(value) : value}`).join(", ");
}

function addFills(fills) {
  const seen = new Set(state.fills.map(f => f.order_id + "/" + f.trade_id));
  for (const f of fills) if (!seen.has(f.order_id + "/" + f.trade_id)) state.fills.push(f);
  state.fills.sort((a, b) => b.time - a.time);
  state.fills.length = Math.min(state.fills.length, KEEP_FILLS);
}

// The recent fills of every wallet set, with each fill's pair and side from its order.
async function loadFills() {
  const fills = [];
  for (const set of state.walletSets.values()) {
    const [setFills, recent] = await Promise.all([api(`/xwrap/v1/fills?wallet_set_id=${set.id}&limit=${KEEP_FILLS}`),
      api(`/xwrap/v1/orders?wallet_set_id=${set.id}&status=recent&limit=${KEEP_FILLS}`)]);
    const orders = new Map(recent.orders.map(o => [o.id, o]));
    fills.push(...setFills.map(f => ({...f, wallet_set_id: set.id, exchange: orders.get(f.order_id)?.exchange,
      pair: orders.get(f.order_id)?.pair, side: orders.get(f.order_id)?.side})));
  }
  addFills(fills);
}

function drawFills() {
  fill("fills", state.fills.map(f => row([cell(clock(f.time)), cell(f.order_id), cell(f.wallet_set_id),
    cell(f.pair), cell(f.side, f.side), cell(f.price, "num"), cell(f.size, "num"),
    cell(`${f.fee} ${f.fee_currency}`, "num"), cell(f.liquidity)], {orderId: f.order_id, tradeId: f.trade_id})));
}
