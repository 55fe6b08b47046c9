"use strict";
// The Markets view: one chosen book, its depth, its public trades, its candles with the user's fills.

// Charts draw with numbers: prices are turned into floats only to place them on a chart; every number shown
// as text stays the service's decimal string.
const BOOK_LEVELS = 10, TRADES_SHOWN = 20, CANDLES = 200, CANDLE_POLL_MS = 5000;
const INTERVAL_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400};

const markets = {
  chosen: null,         // {exchange, pair}
  latestTrade: null,    // time of the newest public trade shown: candles end there (a replay's market is past)
  loading: false, again: false,
  bookRows: [],
  depthChart: null, bidDepth: null, askDepth: null,
  candleChart: null, candleSeries: null, fillMarkers: null, candles: [],

  setUp() {
    const body = document.querySelector("#book tbody");
    for (let level = 0; level < BOOK_LEVELS; level++) {  // made once: an update rewrites the texts of these cells
      const cells = [cell("", "num"), cell("", "num bid"), cell("", "num ask"), cell("", "num")];
      this.bookRows.push(cells);
      body.append(row(cells, {level}));
    }
    const options = {autoSize: true, layout: {attributionLogo: false}};
    this.depthChart = LightweightCharts.createOptionsChart(document.getElementById("depth"), options);
    this.bidDepth = this.depthChart.addSeries(LightweightCharts.AreaSeries,
      {lineColor: "#070", topColor: "rgba(0,119,0,.4)", bottomColor: "rgba(0,119,0,.05)", lineType: 1});
    this.askDepth = this.depthChart.addSeries(LightweightCharts.AreaSeries,
      {lineColor: "#a00", topColor: "rgba(170,0,0,.4)", bottomColor: "rgba(170,0,0,.05)", lineType: 1});
    this.candleChart = LightweightCharts.createChart(document.getElementById("candles"),
      {...options, timeScale: {timeVisible: true}});
    this.candleSeries = this.candleChart.addSeries(LightweightCharts.CandlestickSeries);
    this.fillMarkers = LightweightCharts.createSeriesMarkers(this.candleSeries, []);
    document.getElementById("market").addEventListener("change", event => this.choose(event.target.value));
    document.getElementById("interval").addEventListener("change", () => this.loadCandles().catch(showError));
    setInterval(() => this.loadCandles().catch(showError), CANDLE_POLL_MS);
  },

  // The followed books to choose from; the first live one is chosen until the user chooses.
  listChoices() {
    const select = document.getElementById("market");
    const keys = [...state.books.keys()].sort();
    if (select.options.length === keys.length) return;
    select.replaceChildren(...keys.map(key => new Option(key.replace(":", " "), key)));
    const chosen = this.chosen ? `${this.chosen.exchange}:${this.chosen.pair}`
      : (keys.find(key => state.books.get(key).state === "live") || keys[0]);
    if (chosen === undefined) return;
    select.value = chosen;
    if (!this.chosen) this.choose(chosen);
  },

  choose(key) {
    const [exchange, pair] = key.split(":");
    this.chosen = {exchange, pair};
    this.latestTrade = null;
    this.candles = [];
    this.refresh();
    orderForm.chosen(exchange, pair).catch(showError);
  },

  query() {
    return `exchange=${this.chosen.exchange}&pair=${this.chosen.pair}`;
  },

  // A `books` event carries the top only: the chosen book's levels and trades are read again, one read at a time.
  bookChanged(top) {
    if (this.chosen && top.exchange === this.chosen.exchange && top.pair === this.chosen.pair) this.refresh();
  },

  async refresh() {
    if (this.loading) { this.again = true; return; }
    this.loading = true;
    try {
      do {
        this.again = false;
        const chosen = this.chosen;
        const [book, trades] = await Promise.all([api(`/xwrap/v1/book?${this.query()}&depth=${BOOK_LEVELS}`),
          api(`/xwrap/v1/trades?${this.query()}&limit=${TRADES_SHOWN}`)]);
        if (chosen !== this.chosen) { this.again = true; continue; }
        this.drawBook(book);
        this.drawTrades(trades);
        const newest = trades.length ? trades[0].time : null;
        const lastStart = this.candles.length ? this.candles[this.candles.length - 1].start : null;
        const interval = INTERVAL_SECONDS[document.getElementById("interval").value];
        const before = this.latestTrade;
        this.latestTrade = newest;
        if (before === null || (newest !== null && lastStart !== null && newest >= lastStart + interval)) {
          await this.loadCandles();  // a new pair, or trades past the last candle: a candle may have been stored
        }
      } while (this.again);
    } catch (error) { showError(error); }
    finally { this.loading = false; }
  },

  drawBook(book) {
    document.getElementById("book-state").textContent = book.state;
    document.getElementById("book-state").className = book.state;
    for (let level = 0; level < BOOK_LEVELS; level++) {
      const [bidSize, bid, ask, askSize] = this.bookRows[level];
      const b = book.bids[level] || ["", ""], a = book.asks[level] || ["", ""];
      bid.textContent = b[0]; bidSize.textContent = b[1]; ask.textContent = a[0]; askSize.textContent = a[1];
    }
    this.bidDepth.setData(this.cumulative(book.bids).reverse());
    this.askDepth.setData(this.cumulative(book.asks));
    this.depthChart.timeScale().fitContent();
  },

  // [price, size] levels best first -> chart points {time: price, value: size up to and including that level}
  cumulative(levels) {
    let total = 0;
    return levels.map(([price, size]) => ({time: Number(price), value: (total += Number(size))}));
  },

  drawTrades(trades) {
    fill("trades", trades.map(t => row([cell(clock(t.time)), cell(t.price, "num"), cell(t.size, "num"),
      cell(t.taker_side, t.taker_side)], {tradeId: t.trade_id})));
  },

  // The stored candles up to the newest trade (now on a live market), the last CANDLES of the interval.
  async loadCandles() {
    if (!this.chosen) return;
    const name = document.getElementById("interval").value, seconds = INTERVAL_SECONDS[name];
    const end = Math.floor((this.latestTrade ?? Date.now() / 1000) / seconds) * seconds + seconds;
    const chosen = this.chosen;
    const page = await api(`/xwrap/v1/ohlc?${this.query()}&interval=${name}&end=${end}&limit=${CANDLES}`);
    if (chosen !== this.chosen || name !== document.getElementById("interval").value) return;
    this.candles = page.candles;
    this.drawCandles();
  },

  // Candles and the fills of the chosen pair as markers; a fill in a minute with no candle gets an empty bar there.
  drawCandles() {
    if (!this.chosen) return;
    const seconds = INTERVAL_SECONDS[document.getElementById("interval").value];
    const bars = new Map(this.candles.map(c => [c.start, {time: c.start, open: Number(c.open),
      high: Number(c.high), low: Number(c.low), close: Number(c.close)}]));
    const fills = state.fills.filter(f => f.pair === this.chosen.pair
      && (state.orders.get(f.order_id)?.exchange ?? f.exchange ?? this.chosen.exchange) === this.chosen.exchange);
    const markers = fills.map(f => {
      const time = Math.floor(f.time / seconds) * seconds;
      if (!bars.has(time)) bars.set(time, {time});
      return f.side === "buy"
        ? {time, position: "belowBar", color: "#070", shape: "arrowUp", text: `buy ${f.size} @ ${f.price}`}
        : {time, position: "aboveBar", color: "#a00", shape: "arrowDown", text: `sell ${f.size} @ ${f.price}`};
    });
    this.candleSeries.setData([...bars.values()].sort((a, b) => a.time - b.time));
    this.fillMarkers.setMarkers(markers.sort((a, b) => a.time - b.time));
    this.candleChart.timeScale().fitContent();
  },
};
