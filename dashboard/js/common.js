"use strict";
// What every view uses: the token, the API's reads and writes, table cells, the shared state.
// The scripts are plain (not modules) and share this scope; they load in the order index.html lists them.

// The token: from the page's URL (?token=...) or typed into the token form, kept in this tab's session
// storage. Sent as the Bearer header on REST and as the Socket.IO auth token.
const TOKEN_KEY = "xwrap-token";
const token = (() => {
  const given = new URLSearchParams(location.search).get("token");
  if (given) sessionStorage.setItem(TOKEN_KEY, given);
  return sessionStorage.getItem(TOKEN_KEY);
})();
const headers = token ? {Authorization: "Bearer " + token} : {};

// Raised by api()/send() when the service wants a token (or another one): main.js asks for it.
class Unauthorised extends Error {}

function errorText(answer, response) {
  return answer && answer.error ? `${answer.error.kind}: ${answer.error.message}` : response.statusText;
}

async function api(path) {
  const response = await fetch(path, {headers});
  const body = await response.json();
  if (response.status === 401) throw new Unauthorised(errorText(body, response));
  if (!response.ok) throw new Error(errorText(body, response));
  return body;
}

// A write: the service's answer, or {error: its message} when it refuses.
async function send(method, path, body) {
  const response = await fetch(path, {method, headers: {...headers, "Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body)});
  const answer = await response.json();
  return response.ok ? answer : {error: errorText(answer, response)};
}

function query(params) {
  const present = Object.entries(params).filter(([, value]) => value !== null && value !== undefined && value !== "");
  return new URLSearchParams(present).toString();
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function row(cells, data) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  for (const [key, value] of Object.entries(data || {})) tr.dataset[key] = value;
  return tr;
}

function fill(tableId, rows) {
  document.querySelector(`#${tableId} tbody`).replaceChildren(...rows);
}

function clock(seconds) {
  return new Date(seconds * 1000).toISOString().slice(11, 23);
}

function dateTime(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

function button(text, data) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  Object.assign(b.dataset, data);
  return b;
}

function showError(error) {
  if (error instanceof Unauthorised) { askForToken(error.message); return; }
  document.getElementById("error").textContent = error ? "xWrap: " + error.message : "";
}

// A result line while the request is out.
function sending(elementId) {
  const element = document.getElementById(elementId);
  element.textContent = "sending…";
  element.className = "";
}

// Sets a result line to the service's answer: its error, or ``text`` when it did what was asked.
function showResult(elementId, answer, text) {
  const element = document.getElementById(elementId);
  element.textContent = answer.error ? answer.error : text;
  element.className = answer.error ? "rejected" : "done";
}

// Calls fn once per animation frame at most, however often asked (a burst of events draws once).
function throttled(fn) {
  let asked = false;
  return () => {
    if (asked) return;
    asked = true;
    requestAnimationFrame(() => { asked = false; fn(); });
  };
}

const OPEN = new Set(["pending", "open", "partially_filled"]);

// What the service told: exchanges' status, book tops, wallet sets with their wallets, orders, recent fills.
const state = {exchanges: {}, books: new Map(), walletSets: new Map(), orders: new Map(), fills: []};
let canTrade = false;
