// The cockpit's completeness heat map, drawn from the JSON payload the page embeds (json_script):
// one row per cloud (its name links to the review), one canvas per row with a cell per indicator,
// each cell three bars: the vendor's answer, its evidence, the assessors' ratings. A row's
// canvas carries its summary as its accessible name; pointing at a cell shows its details.
// Payload: {indicators: [{code, name}], states: {state: name}, review_url (with "{id}"),
// rows: [{id, cloud, state, expected, cells}]}, where
// `cells` holds three digits per indicator: answer (0 none, 1 started, 2 complete), evidence
// files and assessors who rated it (both capped at 9). Plain JS, no library.
(function () {
  "use strict";

  var CELL = 30; // a cell's width in CSS pixels
  var GAP = 3; // between cells
  var HEIGHT = 18; // a row's height
  var COLOURS = {
    none: "#eceff3",
    partial: "#f0c24b",
    complete: "#2f9e67",
    evidence: "#3f78c2",
    some: "#b79ce0",
    all: "#6a3fb0",
    border: "#d5dbe3",
  };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_match, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function cell(row, index) {
    var digits = row.cells.substr(3 * index, 3);
    return {
      answer: Number(digits.charAt(0)),
      evidence: Number(digits.charAt(1)),
      rated: Number(digits.charAt(2)),
    };
  }

  function summary(row, count) {
    var answered = 0;
    var evidence = 0;
    var rated = 0;
    for (var i = 0; i < count; i++) {
      var c = cell(row, i);
      if (c.answer === 2) answered++;
      if (c.evidence > 0) evidence++;
      if (row.expected > 0 && c.rated >= row.expected) rated++;
    }
    return { answered: answered, evidence: evidence, rated: rated };
  }

  function roundedRect(ctx, x, y, w, h, r) {
    ctx.beginPath();
    ctx.moveTo(x + r, y);
    ctx.arcTo(x + w, y, x + w, y + h, r);
    ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r);
    ctx.arcTo(x, y, x + w, y, r);
    ctx.closePath();
  }

  function drawRow(canvas, row, count) {
    var ratio = window.devicePixelRatio || 1;
    var width = count * (CELL + GAP) - GAP;
    canvas.width = Math.ceil(width * ratio);
    canvas.height = Math.ceil(HEIGHT * ratio);
    canvas.style.width = width + "px";
    canvas.style.height = HEIGHT + "px";
    var ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.scale(ratio, ratio);
    var bar = (CELL - 2 * 2 - 2 * 2) / 3; // three bars, 2px padding and 2px gaps
    for (var i = 0; i < count; i++) {
      var c = cell(row, i);
      var x = i * (CELL + GAP);
      ctx.fillStyle = "#fff";
      ctx.strokeStyle = COLOURS.border;
      roundedRect(ctx, x + 0.5, 0.5, CELL - 1, HEIGHT - 1, 3);
      ctx.fill();
      ctx.stroke();
      var colours = [
        c.answer === 2 ? COLOURS.complete : c.answer === 1 ? COLOURS.partial : COLOURS.none,
        c.evidence > 0 ? COLOURS.evidence : COLOURS.none,
        c.rated === 0 ? COLOURS.none : c.rated >= row.expected ? COLOURS.all : COLOURS.some,
      ];
      for (var b = 0; b < 3; b++) {
        ctx.fillStyle = colours[b];
        ctx.fillRect(x + 2 + b * (bar + 2), 2.5, bar, HEIGHT - 5);
      }
    }
  }

  function build(map) {
    var source = document.getElementById(map.getAttribute("data-heatmap"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var text = map.dataset;
    var indicators = data.indicators;
    var count = indicators.length;
    var width = count * (CELL + GAP) - GAP;

    var scroll = element("div", "hm-scroll");
    scroll.tabIndex = 0; // scrollable by keyboard
    scroll.setAttribute("aria-label", text.textCloud);
    var head = element("div", "hm-row hm-row--head");
    head.setAttribute("aria-hidden", "true");
    head.appendChild(element("span", "hm-row__cloud", text.textCloud));
    var codes = element("span", "hm-row__cells hm-codes");
    codes.style.width = width + "px";
    indicators.forEach(function (indicator) {
      var code = element("span", "hm-code", indicator.code);
      code.title = indicator.code + " " + indicator.name;
      codes.appendChild(code);
    });
    head.appendChild(codes);
    head.appendChild(element("span", "hm-row__count", text.textAnswered));
    head.appendChild(element("span", "hm-row__count", text.textRated));
    scroll.appendChild(head);

    var list = element("ul", "hm-rows");
    var fragment = document.createDocumentFragment();
    data.rows.forEach(function (row) {
      var totals = summary(row, count);
      var state = data.states[row.state] || row.state;
      var item = element("li", "hm-row");
      var link = element("a", "hm-row__cloud", row.cloud);
      link.href = data.review_url.replace("{id}", String(row.id));
      link.title = row.cloud + " · " + state;
      item.appendChild(link);
      var canvas = element("canvas", "hm-row__cells");
      canvas.setAttribute("role", "img");
      canvas.setAttribute(
        "aria-label",
        format(text.textRow, {
          cloud: row.cloud,
          state: state,
          answered: totals.answered,
          total: count,
          evidence: totals.evidence,
          rated: totals.rated,
        })
      );
      canvas.heatRow = row;
      drawRow(canvas, row, count);
      item.appendChild(canvas);
      item.appendChild(element("span", "hm-row__count", totals.answered + "/" + count));
      item.appendChild(element("span", "hm-row__count", totals.rated + "/" + count));
      fragment.appendChild(item);
    });
    list.appendChild(fragment);
    scroll.appendChild(list);
    map.appendChild(scroll);

    // One tooltip for the whole map, following the pointer over the cells.
    var tip = element("div", "hm-tip");
    tip.setAttribute("role", "tooltip");
    tip.hidden = true;
    map.appendChild(tip);
    var answers = [text.textNone, text.textPartial, text.textComplete];
    list.addEventListener("mousemove", function (event) {
      var canvas = event.target;
      if (!canvas.heatRow) {
        tip.hidden = true;
        return;
      }
      var box = canvas.getBoundingClientRect();
      var index = Math.floor((event.clientX - box.left) / (CELL + GAP));
      if (index < 0 || index >= count) {
        tip.hidden = true;
        return;
      }
      var row = canvas.heatRow;
      var c = cell(row, index);
      var indicator = indicators[index];
      tip.textContent = "";
      tip.appendChild(element("strong", "", row.cloud + " · " + indicator.code));
      tip.appendChild(element("span", "", indicator.name));
      tip.appendChild(element("span", "", text.textAnswer + ": " + answers[c.answer]));
      tip.appendChild(element("span", "", text.textEvidence + ": " + (c.evidence === 9 ? "9+" : c.evidence)));
      tip.appendChild(element("span", "", text.textRatedBy + ": " + c.rated + " / " + row.expected));
      var area = map.getBoundingClientRect();
      tip.style.left = event.clientX - area.left + 14 + "px";
      tip.style.top = event.clientY - area.top + 14 + "px";
      tip.hidden = false;
    });
    list.addEventListener("mouseleave", function () {
      tip.hidden = true;
    });
  }

  function start() {
    document.querySelectorAll("[data-heatmap]").forEach(build);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
