"use strict";
// The attention viewer: plain DOM and canvas, data from the JSON script element (see VizPage.java / AttentionJson.java).
var errors = [];
window.onerror = function (message, source, line) { errors.push(String(message) + " at " + line); };
window.addEventListener("unhandledrejection", function (e) { errors.push("unhandled rejection: " + e.reason); });
(function () {
  var original = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
})();

var D = JSON.parse(document.getElementById("attention-data").textContent);
var S = D.tokens.length, L = D.layers, H = D.heads, R = D.rows.length;
var ROW_HEIGHT = 20, MIN_WEIGHT = 0.005;
var rowIndex = {};  // position -> index into D.rows
D.rows.forEach(function (p, i) { rowIndex[p] = i; });
var state = { layer: 0, head: 0, hover: null };  // head: a number or "all"; hover: {side: "left"|"right", position}
var linesDrawn = 0;
var VIRIDIS = [[68,1,84],[71,45,123],[59,82,139],[44,114,142],[33,145,140],[40,174,128],[94,201,98],[173,220,48],[253,231,37]];

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
// Tokens as text: control characters written as escapes; always through textContent, never innerHTML.
function visible(token) {
  return token.replace(/[\u0000-\u001f\u007f-\u009f]/g, function (c) {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return "\\u" + ("0000" + c.charCodeAt(0).toString(16).toUpperCase()).slice(-4);
  });
}
function viridis(t) {
  t = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  var i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [0, 1, 2].map(function (c) { return Math.round(a[c] + (b[c] - a[c]) * f); });
}
function headColor(h, alpha) {
  return "hsla(" + Math.round(h * 360 / Math.max(1, H)) + ",75%,42%," + alpha + ")";
}
function selectedHeads() {
  if (state.head === "all") { var all = []; for (var h = 0; h < H; h++) all.push(h); return all; }
  return [state.head];
}
function weight(l, h, i, k) { return D.weights[l][h][i][k]; }

function buildControls() {
  var layer = $("layer"), head = $("head");
  for (var l = 0; l < L; l++) layer.appendChild(new Option(String(l), String(l)));
  for (var h = 0; h < H; h++) head.appendChild(new Option(String(h), String(h)));
  head.appendChild(new Option("all heads", "all"));
  layer.addEventListener("change", function () { state.layer = Number(layer.value); state.hover = null; render(); });
  head.addEventListener("change", function () {
    state.head = head.value === "all" ? "all" : Number(head.value); state.hover = null; render();
  });
}
function openHead(l, h) {
  $("layer").value = String(l); $("head").value = String(h);
  state.layer = l; state.head = h; state.hover = null; render();
}

function buildTokens() {
  ["left", "right"].forEach(function (side) {
    var column = $(side);
    D.tokens.forEach(function (token, p) {
      var t = el("div", "tok", visible(token));
      t.dataset.position = String(p);
      t.title = p + ": id " + D.tokenIds[p];
      if (side === "left" && !(p in rowIndex)) { t.classList.add("uncaptured"); t.title += " (row not captured)"; }
      t.addEventListener("mouseover", function () { state.hover = { side: side, position: p }; drawHeadView(); });
      t.addEventListener("mouseout", function () { state.hover = null; drawHeadView(); });
      column.appendChild(t);
    });
  });
  var canvas = $("lines");
  canvas.height = S * ROW_HEIGHT;
}

function drawHeadView() {
  var canvas = $("lines"), g = canvas.getContext("2d"), w = canvas.width, hover = state.hover, heads = selectedHeads();
  g.clearRect(0, 0, w, canvas.height);
  var count = 0;
  g.lineWidth = 2;
  heads.forEach(function (h) {
    D.rows.forEach(function (p, i) {
      if (hover && hover.side === "left" && hover.position !== p) return;
      for (var k = 0; k < S; k++) {
        if (hover && hover.side === "right" && hover.position !== k) continue;
        var a = weight(state.layer, h, i, k);
        if (!(a >= MIN_WEIGHT)) continue;
        var alpha = Math.min(1, hover ? a : a * 0.8) * (heads.length > 1 ? 0.8 : 1);
        g.strokeStyle = heads.length > 1 ? headColor(h, alpha) : "rgba(31,119,180," + alpha + ")";
        g.beginPath();
        g.moveTo(0, p * ROW_HEIGHT + ROW_HEIGHT / 2);
        g.lineTo(w, k * ROW_HEIGHT + ROW_HEIGHT / 2);
        g.stroke();
        count++;
      }
    });
  });
  linesDrawn = count;
  ["left", "right"].forEach(function (side) {
    Array.prototype.forEach.call($(side).children, function (t) {
      t.classList.toggle("active", !!hover && hover.side === side && hover.position === Number(t.dataset.position));
    });
  });
}

function drawLegend() {
  var legend = $("legend");
  legend.textContent = "";
  if (state.head !== "all") return;
  for (var h = 0; h < H; h++) {
    var item = el("span");
    var swatch = el("span", "swatch");
    swatch.style.background = headColor(h, 1);
    item.appendChild(swatch);
    item.appendChild(document.createTextNode("head " + h));
    legend.appendChild(item);
  }
}

function drawBars() {
  var bars = $("bars"), p = D.rows[R - 1], i = R - 1, heads = selectedHeads();
  bars.textContent = "";
  $("lastTitle").textContent = "What position " + p + " (" + visible(D.tokens[p]) + ") looks at - layer " + state.layer
    + (state.head === "all" ? ", mean of all heads" : ", head " + state.head);
  var items = [];
  for (var k = 0; k < S; k++) {
    var sum = 0;
    heads.forEach(function (h) { sum += weight(state.layer, h, i, k); });
    items.push({ k: k, w: sum / heads.length });
  }
  items.sort(function (a, b) { return b.w - a.w; });
  items.slice(0, 20).forEach(function (item) {
    var row = el("div", "bar");
    row.appendChild(el("span", "label", item.k + " " + visible(D.tokens[item.k])));
    var fill = el("span", "fill");
    fill.style.width = Math.round(item.w * 400) + "px";
    row.appendChild(fill);
    row.appendChild(el("span", "value", item.w.toFixed(3)));
    bars.appendChild(row);
  });
}

function buildModelView() {
  var grid = $("modelview"), scale = Math.max(1, Math.floor(64 / Math.max(S, R)));
  grid.style.gridTemplateColumns = "auto repeat(" + H + ", auto)";
  grid.appendChild(el("span"));
  for (var h = 0; h < H; h++) grid.appendChild(el("span", null, "H" + h));
  for (var l = 0; l < L; l++) {
    grid.appendChild(el("span", null, "L" + l));
    for (h = 0; h < H; h++) {
      var c = document.createElement("canvas");
      c.width = S; c.height = R;
      c.style.width = (S * scale) + "px"; c.style.height = (R * scale) + "px";
      c.dataset.layer = String(l); c.dataset.head = String(h);
      c.title = "layer " + l + " head " + h;
      paintThumbnail(c, l, h);
      c.addEventListener("click", function (e) {
        openHead(Number(e.currentTarget.dataset.layer), Number(e.currentTarget.dataset.head));
        $("headview").scrollIntoView();
      });
      grid.appendChild(c);
    }
  }
}
// Each thumbnail on its own scale (0 to its largest weight), viridis.
function paintThumbnail(canvas, l, h) {
  var g = canvas.getContext("2d"), image = g.createImageData(S, R), max = 0, i, k;
  for (i = 0; i < R; i++) for (k = 0; k < S; k++) max = Math.max(max, weight(l, h, i, k));
  for (i = 0; i < R; i++) for (k = 0; k < S; k++) {
    var rgb = viridis(max > 0 ? weight(l, h, i, k) / max : 0), o = (i * S + k) * 4;
    image.data[o] = rgb[0]; image.data[o + 1] = rgb[1]; image.data[o + 2] = rgb[2]; image.data[o + 3] = 255;
  }
  g.putImageData(image, 0, 0);
}
function markSelectedThumbnail() {
  Array.prototype.forEach.call($("modelview").querySelectorAll("canvas"), function (c) {
    var h = Number(c.dataset.head);
    c.classList.toggle("selected", Number(c.dataset.layer) === state.layer && (state.head === "all" || state.head === h));
  });
}

function fmt(v) { return v === null || v === undefined ? "-" : Number(v).toFixed(3); }
function buildSummary() {
  var body = $("summary").querySelector("tbody");
  if (!D.summary.length) { $("summary").hidden = true; $("nosummary").textContent = "no per-head summary in this run"; return; }
  D.summary.forEach(function (s) {
    var tr = el("tr", s.previousTokenHead || s.inductionHead ? "flagged" : "");
    var flags = [];
    if (s.previousTokenHead) flags.push("previous-token");
    if (s.inductionHead) flags.push("induction");
    [String(s.layer), String(s.head), fmt(s.entropy), fmt(s.previousToken), fmt(s.firstToken), fmt(s.self),
     fmt(s.inductionScore), flags.join(", ")].forEach(function (v) { tr.appendChild(el("td", null, v)); });
    tr.addEventListener("click", function () { openHead(s.layer, s.head); $("headview").scrollIntoView(); });
    body.appendChild(tr);
  });
}
function buildNext() {
  if (!D.nextTokens) return;
  $("nextSection").hidden = false;
  var body = $("next").querySelector("tbody"), before = D.nextTokens.before, after = D.nextTokens.after;
  for (var i = 0; i < Math.max(before.length, after.length); i++) {
    var tr = el("tr");
    tr.appendChild(el("td", null, String(i + 1)));
    [before[i], after[i]].forEach(function (c) {
      tr.appendChild(el("td", "tokcell", c ? visible(c.token) : ""));
      tr.appendChild(el("td", null, c ? c.probability.toFixed(4) : ""));
    });
    body.appendChild(tr);
  }
}

function render() {
  drawHeadView();
  drawLegend();
  drawBars();
  markSelectedThumbnail();
}

function canvasHash(canvas) {
  var data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data, hash = 2166136261;
  for (var i = 0; i < data.length; i++) { hash ^= data[i]; hash = Math.imul(hash, 16777619) >>> 0; }
  return hash;
}
function fire(target, type) { target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window })); }

// ?selftest=1: perform the interactions and write what happened into <pre id="selftest"> as JSON.
function selftest() {
  var result = { tokens: S, layers: L, heads: H, rows: R };
  try {
    var canvas = $("lines"), head = $("head");
    result.initialHash = canvasHash(canvas);
    result.initialLines = linesDrawn;
    head.value = H > 1 ? "1" : "all";
    head.dispatchEvent(new Event("change"));
    result.otherHeadHash = canvasHash(canvas);
    result.headChangedPixels = result.otherHeadHash !== result.initialHash;
    var last = D.rows[R - 1];
    fire($("left").children[last], "mouseover");
    result.hoverLeftLines = linesDrawn;
    result.hoverLeftActive = $("left").children[last].classList.contains("active");
    fire($("left").children[last], "mouseout");
    fire($("right").children[0], "mouseover");
    result.hoverRightLines = linesDrawn;
    fire($("right").children[0], "mouseout");
    head.value = "all";
    head.dispatchEvent(new Event("change"));
    result.allHeadsLines = linesDrawn;
    result.legendItems = $("legend").children.length;
    var thumbs = $("modelview").querySelectorAll("canvas");
    result.thumbnails = thumbs.length;
    fire(thumbs[thumbs.length - 1], "click");
    result.afterClick = { layer: Number($("layer").value), head: $("head").value };
    result.bars = $("bars").children.length;
    result.summaryRows = $("summary").querySelectorAll("tbody tr").length;
    result.flaggedRows = $("summary").querySelectorAll("tbody tr.flagged").length;
    result.nextRows = $("next").querySelectorAll("tbody tr").length;
    result.tokenTexts = Array.prototype.map.call($("left").children, function (t) { return t.textContent; });
    result.tokensMatch = D.tokens.every(function (t, i) { return result.tokenTexts[i] === visible(t); });
  } catch (e) {
    errors.push("selftest: " + e + (e.stack ? " " + e.stack : ""));
  }
  result.errors = errors.slice();
  var pre = $("selftest");
  pre.textContent = JSON.stringify(result);
  pre.hidden = false;
  console.log("selftest done: " + errors.length + " errors");
}

try {
  $("title").textContent = "Attention - " + D.model;
  $("subtitle").textContent = S + " tokens, " + L + " layers x " + H + " heads, rows " +
    (R === S ? "all" : D.rows.join(",")) + (D.interventions ? "; interventions: " + D.interventions : "");
  buildControls();
  buildTokens();
  buildModelView();
  buildSummary();
  buildNext();
  render();
} catch (e) {
  errors.push("startup: " + e + (e.stack ? " " + e.stack : ""));
}
if (new URLSearchParams(location.search).get("selftest") === "1") selftest();
