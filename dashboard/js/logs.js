"use strict";
// The Logs view: the service's log lines as they happen (the `logs` topic: INFO and above), newest first,
// filtered by level and text. Lines logged while the page was not connected are not sent again.

const KEEP_LOG_LINES = 5000, LEVELS = {DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50};

const logsView = {
  lines: [],
  table: null,

  setUp() {
    this.table = new WindowedTable("logs-window", "logs", line => row([cell(dateTime(line.time)),
      cell(line.level, line.level), cell(line.logger), this.messageCell(line)], {level: line.level}));
    const form = document.getElementById("log-filters");
    for (const kind of ["input", "change"]) form.addEventListener(kind, () => this.changed());
    form.addEventListener("submit", event => event.preventDefault());
  },

  // One line of the table, whatever its length (the rows have one height): the whole message in its title.
  messageCell(line) {
    const text = line.exception ? `${line.message} (${line.exception})` : line.message, td = cell(text, "message");
    td.title = text;
    return td;
  },

  add(line) {
    this.lines.push(line);
    if (this.lines.length > KEEP_LOG_LINES) this.lines.splice(0, this.lines.length - KEEP_LOG_LINES);
    this.changed();
  },

  changed: throttled(() => logsView.draw()),

  draw() {
    const form = document.getElementById("log-filters"), least = LEVELS[form.level.value];
    const text = form.text.value.trim().toLowerCase();
    const shown = this.lines.filter(line => (LEVELS[line.level] ?? 0) >= least && (!text
      || `${line.logger} ${line.message} ${line.exception || ""}`.toLowerCase().includes(text))).reverse();
    this.table.show(shown);
    document.getElementById("logs-count").textContent = `${shown.length} of ${this.lines.length} lines`;
  },
};
