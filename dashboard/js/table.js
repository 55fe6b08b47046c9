"use strict";
// A long table seen through a window (a scrolling box of index.html's class "window"): only the rows in view,
// and a few around them, are in the page, between two spacer rows that keep the scroll bar true. Every row
// has the one height of ".window tbody tr", so the rows in view follow from the scroll position alone.

const ROW_HEIGHT = 26, ROWS_AROUND = 10;

class WindowedTable {
  // makeRow(item) -> a <tr>; the items are given by show(), in the order shown.
  constructor(windowId, tableId, makeRow) {
    this.box = document.getElementById(windowId);
    this.body = document.querySelector(`#${tableId} tbody`);
    this.makeRow = makeRow;
    this.items = [];
    this.draw = throttled(() => this.drawNow());
    this.box.addEventListener("scroll", this.draw, {passive: true});
  }

  show(items) {
    this.items = items;
    this.draw();
  }

  drawNow() {
    const height = this.box.clientHeight || 420;  // a hidden view has no height yet: draw what it will show
    const first = Math.max(0, Math.floor(this.box.scrollTop / ROW_HEIGHT) - ROWS_AROUND);
    const last = Math.min(this.items.length, first + Math.ceil(height / ROW_HEIGHT) + 2 * ROWS_AROUND);
    this.body.replaceChildren(this.spacer(first), ...this.items.slice(first, last).map(this.makeRow),
      this.spacer(this.items.length - last));
  }

  spacer(rows) {
    const tr = document.createElement("tr");
    tr.className = "spacer";
    tr.style.height = rows * ROW_HEIGHT + "px";
    return tr;
  }
}
