"use strict";
// The page's start: the views and the navigation between them, the token, the snapshot read over REST and
// the Socket.IO events that keep it current; a lost connection shows, and on reconnecting the snapshot is
// read again (nothing missed stays missing).

const TOPICS = ["orders", "fills", "wallets", "books", "status", "logs"];

function showView() {
  const chosen = location.hash.slice(1) || "exchanges";
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== "view-" + chosen;
  for (const link of document.querySelectorAll("#views a")) link.classList.toggle("chosen", link.dataset.view === chosen);
  window.scrollTo(0, 0);  // a view opens at its top
}

// Without a token where the service asks for one: the token form; the token typed is kept for this tab.
function askForToken(message) {
  const form = document.getElementById("token-form");
  if (!form.hidden) return;
  form.hidden = false;
  document.querySelector("main").hidden = true;
  document.getElementById("error").textContent = token ? `xWrap: ${message}` : "";
  form.addEventListener("submit", event => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, form.token.value.trim());
    const url = new URL(location.href);
    url.searchParams.delete("token");  // the token typed, not the one the URL gave
    if (url.href === location.href) location.reload();
    else location.replace(url);
  });
}

// The token's scope, asked without changing anything: an order with none of its required fields is refused, as
// forbidden for a read token (the scope is checked first) and as a missing parameter for a trade token (or with no
// tokens set). (Not cancel_all with no filters: that one is valid, and cancels every open order of every set.)
async function mayTrade() {
  const response = await fetch("/xwrap/v1/orders", {method: "POST",
    headers: {...headers, "Content-Type": "application/json"}, body: "{}"});
  return response.status !== 403 && response.status !== 401;
}

async function showTradeActions() {
  canTrade = await mayTrade();
  for (const element of document.querySelectorAll(".trade-only")) element.hidden = !canTrade;
  document.body.dataset.scope = canTrade ? "trade" : "read";
  ordersView.changed();
}

// Everything the events keep current, read again: at the start and after a lost connection.
async function loadSnapshot() {
  summary = await api("/xwrap/v1/status");
  loadedAt = Date.now();
  state.exchanges = summary.exchanges;
  for (const top of await api("/xwrap/v1/pricing")) state.books.set(`${top.exchange}:${top.pair}`, top);
  await loadWalletSets();
  await loadFills();
  drawSummary(); drawExchanges(); drawBooks(); drawFills();
  markets.listChoices();
  markets.drawCandles();
  if (markets.chosen) markets.refresh();
  if (walletsView.chosen !== null) walletsView.choose(walletsView.chosen).catch(showError);
  await ordersView.load();
}

const handlers = {
  status(item) {
    const {exchange, ...status} = item;
    state.exchanges[exchange] = status;
    drawExchanges();
  },
  books(top) {
    const known = state.books.has(`${top.exchange}:${top.pair}`);
    state.books.set(`${top.exchange}:${top.pair}`, top);
    drawBooks();
    if (!known) markets.listChoices();
    markets.bookChanged(top);
  },
  orders(order) {
    ordersView.update(order);
  },
  fills(f) {
    addFills([f]);
    drawFills();
    markets.drawCandles();
  },
  // A wallet set's wallets on one exchange, as they are now (after a trade, funding, a transfer, closing...).
  async wallets(change) {
    const set = state.walletSets.get(change.wallet_set_id);
    if (!set || change.change === "close" || change.change === "create") {
      await loadWalletSet(change.wallet_set_id);
    } else {
      set.wallets = [...(set.wallets || []).filter(w => w.exchange !== change.exchange), ...change.wallets];
    }
    walletsView.draw();
    walletsView.moved(change.wallet_set_id);
  },
  logs(line) {
    logsView.add(line);
  },
};

function connect() {
  const socket = io({auth: token ? {token} : {}});
  const connection = document.getElementById("connection");
  const show = (text, cls) => { connection.textContent = text; connection.className = cls; };
  socket.on("connect", () => {
    socket.emit("subscribe", {topics: TOPICS}, async answer => {
      if (answer.error) { showError(new Error(answer.error.message)); return; }
      try {
        await loadSnapshot();  // after subscribing: nothing between the snapshot and the events is lost
        showError(null);
        show("live", "live");
      } catch (error) { showError(error); }
    });
  });
  socket.on("disconnect", reason => show(`offline (${reason}): reconnecting…`, "offline"));
  socket.io.on("reconnect_attempt", attempt => show(`offline: reconnecting (attempt ${attempt})…`, "reconnecting"));
  socket.on("connect_error", error => {
    if (error.data?.kind === "unauthorised") askForToken(`${error.data.kind}: ${error.data.message}`);
    else show(`offline: ${error.data ? error.data.message : error.message}`, "offline");
  });
  for (const [topic, handle] of Object.entries(handlers)) {
    socket.on(topic, payload => Promise.resolve(handle(payload)).catch(showError));
  }
  setInterval(drawSummary, 1000);
  return socket;
}

window.addEventListener("hashchange", showView);
showView();
markets.setUp();
orderForm.setUp();
ordersView.setUp();
walletsView.setUp();
logsView.setUp();
showTradeActions().catch(showError);
const socket = connect();
