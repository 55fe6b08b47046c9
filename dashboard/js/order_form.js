"use strict";
// The order form of the Markets view (a trade token only): the market's precision rules as the user types,
// the hold the order will take, the service's answer or refusal.

const orderForm = {
  market: null,  // get_markets' rules of the chosen pair

  setUp() {
    const form = document.getElementById("order-form");
    form.addEventListener("input", () => this.check());
    form.addEventListener("submit", event => { event.preventDefault(); this.place().catch(showError); });
    document.getElementById("cancel-all").addEventListener("click", () => this.cancelAll().catch(showError));
  },

  async chosen(exchange, pair) {
    this.market = null;
    this.check();
    const [market] = await api(`/xwrap/v1/markets?exchange=${exchange}&pair=${pair}`);
    if (markets.chosen.exchange !== exchange || markets.chosen.pair !== pair) return;
    this.market = market;
    markets.candleSeries.applyOptions({priceFormat: {type: "price", precision: decimal(market.tick_size).scale,
      minMove: Number(market.tick_size)}});  // the chart's prices to the tick, not to 2 decimals
    const digits = decimal(market.tick_size).scale;
    markets.depthChart.applyOptions({localization: {precision: digits}});  // the depth's price axis
    document.getElementById("order-rules").textContent = `${pair.replace("_", "/")}: tick ${market.tick_size}`
      + ` · step ${market.size_step} · min size ${market.min_size} · min notional ${market.min_notional ?? "none"}`
      + ` · taker fee ${market.taker_fee}`;
    this.check();
  },

  listWalletSets() {
    const select = document.getElementById("order-wallet-set"), chosen = select.value;
    const sets = [...state.walletSets.values()].filter(s => s.closed_at === null).sort((a, b) => a.id - b.id);
    if ([...select.options].map(o => o.value).join() === sets.map(s => String(s.id)).join()) return;
    select.replaceChildren(...sets.map(s => new Option(`${s.id} ${s.name} (${s.mode})`, s.id)));
    if (sets.some(s => String(s.id) === chosen)) select.value = chosen;
  },

  fields() {
    const form = document.getElementById("order-form");
    return {side: form.side.value, type: form.type.value, price: form.price.value.trim(), size: form.size.value.trim()};
  },

  // Flags a price off the tick, a size off the step or under the minimum, and shows the hold the order takes.
  check() {
    const {side, type, price, size} = this.fields(), market = this.market, flags = [];
    const form = document.getElementById("order-form");
    form.price.disabled = type === "market";
    const p = type === "limit" && price ? decimal(price) : null, s = size ? decimal(size) : null;
    let hold = "";
    if (market) {
      if (type === "limit" && price && !p) flags.push("price: not a decimal number");
      if (p && !onGrid(p, decimal(market.tick_size))) flags.push(`price ${price} is off the tick ${market.tick_size}`);
      if (size && !s) flags.push("size: not a decimal number");
      if (s && !onGrid(s, decimal(market.size_step))) flags.push(`size ${size} is off the step ${market.size_step}`);
      if (s && compare(s, decimal(market.min_size)) < 0) flags.push(`size ${size} is below the min size ${market.min_size}`);
      if (p && s && market.min_notional && compare(multiply(p, s), decimal(market.min_notional)) < 0) {
        flags.push(`notional ${decimalText(multiply(p, s))} is below the min notional ${market.min_notional}`);
      }
      const [base, quote] = markets.chosen.pair.split("_");
      if (s && side === "sell") hold = `hold: ${decimalText(s)} ${base}`;
      if (s && p && side === "buy") {
        hold = `hold: ${decimalText(multiply(multiply(p, s), add(decimal("1"), decimal(market.taker_fee))))} ${quote}`;
      }
      if (s && side === "buy" && type === "market") hold = `hold: at the book's prices, with the taker fee (${quote})`;
    }
    document.getElementById("order-hold").textContent = hold;
    document.getElementById("order-flags").textContent = flags.join(" · ");
  },

  // Sent strict: a price or size off the grid is refused by the service rather than rounded.
  async place() {
    const {side, type, price, size} = this.fields(), result = document.getElementById("order-result");
    const order = {wallet_set_id: Number(document.getElementById("order-wallet-set").value),
      exchange: markets.chosen.exchange, pair: markets.chosen.pair, side, type, size, strict: true};
    if (type === "limit") order.price = price;
    result.textContent = "sending…";
    result.className = "";
    const answer = await send("POST", "/xwrap/v1/orders", order);
    result.textContent = answer.error ? answer.error : `order ${answer.id}: ${answer.status}`;
    result.className = answer.error ? "rejected" : answer.status;
    result.dataset.orderId = answer.id || "";
  },

  async cancelAll() {
    const id = Number(document.getElementById("order-wallet-set").value);
    const answer = await send("POST", "/xwrap/v1/orders/cancel_all", {wallet_set_id: id});
    const result = document.getElementById("order-result");
    result.textContent = answer.error ? answer.error : `wallet set ${id}: cancelled all its open orders`;
    result.className = answer.error ? "rejected" : "cancelled";
  },
};
