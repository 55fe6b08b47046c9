"use strict";
// The Exchanges view: each exchange's mode and status (a long reason collapsed), a live exchange's account
// state, the followed books' tops.

let summary = null, loadedAt = 0;

function drawSummary() {
  if (!summary) return;
  const uptime = summary.uptime + (Date.now() - loadedAt) / 1000;
  document.getElementById("summary").textContent =
    `version ${summary.version} · up ${Math.round(uptime)} s · database ${summary.database.kind}`;
}

// A reason longer than this shows its start, the rest behind a click (a replay's status names every book).
const SHORT_REASON = 120;

function reasonCell(reason) {
  const td = document.createElement("td");
  td.className = "reason";
  if (!reason || reason.length <= SHORT_REASON) {
    td.textContent = reason || "";
    return td;
  }
  const details = document.createElement("details"), summaryLine = document.createElement("summary");
  summaryLine.textContent = reason.slice(0, SHORT_REASON - 20) + "…";
  details.append(summaryLine, reason);
  td.append(details);
  return td;
}

function drawExchanges() {
  fill("exchanges", Object.entries(state.exchanges).map(([name, e]) => row([
    cell(name), cell(e.mode), cell(e.status, e.status), reasonCell(e.reason),
    cell((e.pairs || []).length + " pairs"),
    e.account ? reasonCell(`${e.account.state}${e.account.reason ? ": " + e.account.reason : ""}`) : cell("")],
    {exchange: name})));
  const select = document.querySelector("#order-filters [name=exchange]");
  if (select.options.length - 1 !== Object.keys(state.exchanges).length) {
    const chosen = select.value;
    select.replaceChildren(new Option("any", ""), ...Object.keys(state.exchanges).sort().map(name => new Option(name)));
    select.value = chosen;
  }
}

const drawBooks = throttled(() => {
  const tops = [...state.books.values()].filter(t => t.bid !== null || t.ask !== null)
    .sort((a, b) => (a.exchange + a.pair).localeCompare(b.exchange + b.pair));
  fill("books", tops.map(t => row([cell(t.exchange), cell(t.pair), cell(t.bid, "num"), cell(t.ask, "num"),
    cell(t.last, "num"), cell(t.state, t.state)], {pair: `${t.exchange}:${t.pair}`})));
});
