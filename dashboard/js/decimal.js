"use strict";
// Decimals for the order form's checks and hold: exact (BigInt units at a scale), never floats.

function decimal(text) {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
  if (!match || (match[1] + (match[2] || "")) === "") return null;
  const fraction = match[2] || "";
  return {units: BigInt((match[1] || "0") + fraction), scale: fraction.length};
}

function atScale(d, scale) { return d.units * 10n ** BigInt(scale - d.scale); }

function multiply(a, b) { return {units: a.units * b.units, scale: a.scale + b.scale}; }

function add(a, b) {
  const scale = Math.max(a.scale, b.scale);
  return {units: atScale(a, scale) + atScale(b, scale), scale};
}

function compare(a, b) {
  const scale = Math.max(a.scale, b.scale), x = atScale(a, scale), y = atScale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

function onGrid(value, step) {
  const scale = Math.max(value.scale, step.scale), unit = atScale(step, scale);
  return unit === 0n || atScale(value, scale) % unit === 0n;
}

function decimalText(d) {
  const digits = d.units.toString().padStart(d.scale + 1, "0");
  const text = d.scale ? digits.slice(0, -d.scale) + "." + digits.slice(-d.scale) : digits;
  return d.scale ? text.replace(/\.?0+$/, "") : text;
}
