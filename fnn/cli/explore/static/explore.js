// fnn explore: the page. Plain JavaScript, no build step, no network but this page's server.
// Every API call carries the token of the address fnn explore printed (Authorization header).
"use strict";

(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const state = { model: null, equations: {}, macros: {}, image: null, predicted: null, target: null, busy: 0 };
  const $ = (id) => document.getElementById(id);

  // ---- the API -------------------------------------------------------------------------
  async function api(path, options = {}) {
    const headers = Object.assign({ Authorization: "token " + token }, options.headers || {});
    const started = performance.now();
    let response;
    try {
      response = await fetch(path, Object.assign({}, options, { headers }));
    } catch (e) {
      throw new Error("the server does not answer: is fnn explore still running?");
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (e) {
      payload = { error: "the server answered " + response.status + " without a message" };
    }
    if (!response.ok) throw new Error((payload && payload.error) || "the server answered " + response.status);
    const timing = /dur=([\d.]+)/.exec(response.headers.get("Server-Timing") || "");
    $("timing").textContent = path.replace(/\?.*/, "") + " answered in " + Math.round(performance.now() - started) +
      " ms" + (timing ? " (computed in " + Math.round(parseFloat(timing[1])) + " ms)" : "");
    return payload;
  }

  const postJSON = (path, body) =>
    api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  // Runs one action of the page; `data-ready` is set again once a backward view is drawn.
  async function guarded(work) {
    state.busy += 1;
    document.body.dataset.busy = "1";
    delete document.body.dataset.ready;
    try {
      await work();
    } catch (e) {
      showError(e.message || String(e));
    } finally {
      state.busy -= 1;
      if (state.busy === 0) delete document.body.dataset.busy;
    }
  }

  function decode(encoded) {
    const text = atob(encoded.data);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return { shape: encoded.shape, data: new Float32Array(bytes.buffer) };
  }

  // ---- colours -------------------------------------------------------------------------
  function lut(stops) {
    const rgb = stops.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
    const table = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = (i / 255) * (rgb.length - 1);
      const k = Math.min(Math.floor(t), rgb.length - 2);
      const f = t - k;
      for (let c = 0; c < 3; c++) table[3 * i + c] = rgb[k][c] + f * (rgb[k + 1][c] - rgb[k][c]);
    }
    return table;
  }
  const VIRIDIS = lut(["#440154", "#472c7a", "#3b518b", "#2c718e", "#21908d", "#27ad81", "#5cc863", "#aadc32", "#fde725"]);
  const DIVERGING = lut(["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b"]);

  function extent(...arrays) {
    let lo = Infinity, hi = -Infinity;
    for (const a of arrays) for (const v of a.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (!(hi > lo)) hi = lo + 1;
    return { lo, hi };
  }

  function symmetric(...arrays) {
    let m = 0;
    for (const a of arrays) for (const v of a.data) m = Math.max(m, Math.abs(v));
    return { lo: -(m || 1), hi: m || 1 };
  }

  const colourIndex = (v, scale) => Math.max(0, Math.min(255, Math.round(((v - scale.lo) / (scale.hi - scale.lo)) * 255)));
  const fmt = (v) => (v === 0 ? "0" : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(3) : v.toExponential(2));

  function colourBar(scale, table) {
    const wrap = document.createElement("div");
    wrap.className = "colorbar";
    const bar = document.createElement("canvas");
    bar.width = 256;
    bar.height = 1;
    const ctx = bar.getContext("2d");
    const img = ctx.createImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      img.data.set([table[3 * i], table[3 * i + 1], table[3 * i + 2], 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
    const lo = document.createElement("span");
    lo.textContent = fmt(scale.lo);
    const hi = document.createElement("span");
    hi.textContent = fmt(scale.hi);
    wrap.append(lo, bar, hi);
    return wrap;
  }

  // ---- drawing arrays ------------------------------------------------------------------
  function canvasOf(width, height, paint, cssScale) {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.className = "map";
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(width, height);
    img.data.fill(255);
    paint(img.data, width);
    ctx.putImageData(img, 0, 0);
    return fit(canvas, cssScale);
  }

  // At most 560 CSS pixels wide; a very wide picture (a long vector, a transposed weight
  // matrix) is squeezed across, never to less than 60 pixels high.
  function fit(canvas, cssScale) {
    const { width, height } = canvas;
    if (width * cssScale <= 560) {
      canvas.style.width = width * cssScale + "px";
      return canvas;
    }
    canvas.classList.add("wide");
    if ((height * 560) / width < 60) canvas.style.height = Math.min(Math.max(height, 60), 160) + "px";
    return canvas;
  }

  function put(pixels, width, x, y, v, scale, table) {
    const i = colourIndex(v, scale), o = 4 * (y * width + x);
    pixels[o] = table[3 * i];
    pixels[o + 1] = table[3 * i + 1];
    pixels[o + 2] = table[3 * i + 2];
  }

  // (H, W, C): C maps in a grid, one pixel apart.
  function maps(a, scale, table) {
    const [H, W, C] = a.shape;
    const cols = Math.min(C, 8), rows = Math.ceil(C / cols);
    const zoom = Math.max(1, Math.round((C === 1 ? 140 : 56) / Math.max(H, W)));
    return canvasOf(cols * (W + 1) - 1, rows * (H + 1) - 1, (px, width) => {
      for (let c = 0; c < C; c++) {
        const x0 = (c % cols) * (W + 1), y0 = Math.floor(c / cols) * (H + 1);
        for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) put(px, width, x0 + j, y0 + i, a.data[(i * W + j) * C + c], scale, table);
      }
    }, zoom);
  }

  // (k_h, k_w, C_in, C_out): one k_h x k_w tile per (C_in row, C_out column).
  function kernels(a, scale, table) {
    const [KH, KW, CI, CO] = a.shape;
    const zoom = Math.max(1, Math.round(24 / Math.max(KH, KW)));
    return canvasOf(CO * (KW + 1) - 1, CI * (KH + 1) - 1, (px, width) => {
      for (let ci = 0; ci < CI; ci++) for (let co = 0; co < CO; co++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
        put(px, width, co * (KW + 1) + j, ci * (KH + 1) + i, a.data[((i * KW + j) * CI + ci) * CO + co], scale, table);
      }
    }, CI * CO > 256 ? 2 : zoom);
  }

  // (D, M): shown transposed, one row per output unit.
  function matrix(a, scale, table) {
    const [D, M] = a.shape;
    return canvasOf(D, M, (px, width) => {
      for (let d = 0; d < D; d++) for (let m = 0; m < M; m++) put(px, width, d, m, a.data[d * M + m], scale, table);
    }, Math.max(1, Math.min(8, Math.floor(560 / D))));
  }

  // A vector: one bar per entry, from 0, coloured by value.
  function bars(a, scale, table) {
    const n = a.data.length, bar = n <= 32 ? 12 : n <= 140 ? 4 : 1;
    const width = n * bar, height = 80;
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.className = "map";
    const ctx = canvas.getContext("2d");
    const y = (v) => height - 1 - ((v - Math.min(scale.lo, 0)) / (Math.max(scale.hi, 0) - Math.min(scale.lo, 0) || 1)) * (height - 2);
    ctx.fillStyle = "#fafafa";
    ctx.fillRect(0, 0, width, height);
    for (let k = 0; k < n; k++) {
      const i = colourIndex(a.data[k], scale);
      ctx.fillStyle = `rgb(${table[3 * i]},${table[3 * i + 1]},${table[3 * i + 2]})`;
      const top = Math.min(y(a.data[k]), y(0)), h = Math.max(1, Math.abs(y(a.data[k]) - y(0)));
      ctx.fillRect(k * bar, top, Math.max(1, bar - (bar > 2 ? 1 : 0)), h);
    }
    ctx.fillStyle = "#999";
    ctx.fillRect(0, Math.round(y(0)), width, 1);
    return fit(canvas, 1);
  }

  function picture(a, scale, table) {
    if (a.shape.length === 3) return maps(a, scale, table);
    if (a.shape.length === 4) return kernels(a, scale, table);
    if (a.shape.length === 2) return matrix(a, scale, table);
    return bars({ shape: [a.data.length], data: a.data }, scale, table);
  }

  function figure(caption, a, scale, table) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.textContent = caption;
    fig.append(cap, picture(a, scale, table));
    return fig;
  }

  const shape = (s) => "(" + s.join(", ") + (s.length === 1 ? "," : "") + ")";

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderEquations(labels) {
    const box = element("div", "equations");
    for (const label of labels) {
      const row = element("div", "equation");
      row.append(element("span", "label", label));
      const maths = element("span", "maths");
      const tex = state.equations[label];
      if (tex && window.katex) {
        katex.render(tex, maths, { displayMode: true, throwOnError: false, macros: Object.assign({}, state.macros) });
      } else {
        maths.textContent = tex || "(not in the derivations)";
      }
      row.append(maths);
      box.append(row);
    }
    return box;
  }

  function relBadge(value) {
    const span = element("span", "reldiff");
    span.dataset.rel = value === null ? "NaN" : String(value);
    const ok = value !== null && value < 1e-9;
    span.classList.add(ok ? "ok" : "bad");
    span.textContent = "max relative difference (float64): " + (value === null ? "NaN" : value.toExponential(1));
    return span;
  }

  function layerHeader(i, info) {
    const card = element("div", "layer");
    card.dataset.layer = String(i);
    card.append(element("h3", "", (i + 1) + ". " + info.name));
    card.append(element("div", "call", info.call));
    const params = Object.entries(info.params).map(([k, s]) => k + " " + shape(s)).join(", ");
    card.append(element("div", "shapes", "in " + shape(info.in_shape) + " \u2192 out " + shape(info.out_shape) +
      (params ? "; parameters " + params : "; no parameters")));
    return card;
  }

  // ---- the three views -----------------------------------------------------------------
  function showSeen(payload) {
    state.image = payload.image;
    const canvas = $("seen"), ctx = canvas.getContext("2d");
    const img = ctx.createImageData(28, 28);
    payload.image.forEach((row, i) => row.forEach((v, j) => {
      const g = Math.round(255 * v);
      img.data.set([g, g, g, 255], 4 * (28 * i + j));
    }));
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    small.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    const top = $("top");
    top.replaceChildren();
    for (const [c, p] of payload.top) {
      const row = element("div", "topbar");
      row.append(element("span", "digit", String(c)));
      const bar = element("span", "bar");
      bar.style.width = Math.max(1, Math.round(160 * p)) + "px";
      row.append(bar, element("span", "", (100 * p).toFixed(1) + "%"));
      top.append(row);
    }
    state.predicted = payload.top[0][0];
    const p = $("prediction");
    p.textContent = "Prediction: " + payload.top[0][0] + " (" + (100 * payload.top[0][1]).toFixed(1) + "%)";
    p.dataset.digit = String(payload.top[0][0]);
    const select = $("target");
    select.replaceChildren();
    payload.probabilities.forEach((prob, c) => {
      const option = element("option", "", c + " (" + (100 * prob).toFixed(1) + "%)" + (c === state.predicted ? ", predicted" : ""));
      option.value = String(c);
      select.append(option);
    });
    state.target = state.predicted;
    select.value = String(state.target);
  }

  function showForward(payload) {
    const box = $("forward-layers");
    box.replaceChildren();
    payload.layers.forEach((layer, i) => {
      const info = state.model.layers[i];
      const card = layerHeader(i, info);
      const output = decode(layer.output);
      const scale = extent(output);
      const viz = element("div", "viz");
      const caption = output.shape.length === 3 ? output.shape[2] + " feature maps " + output.shape[0] + "\u00d7" + output.shape[1] : "output, " + output.data.length + " values";
      viz.append(figure(caption, output, scale, VIRIDIS), colourBar(scale, VIRIDIS));
      card.append(viz);
      box.append(card);
    });
  }

  function pair(title, manual, reference, referenceName, relative) {
    const wrap = element("div", "grad");
    wrap.append(element("h4", "", title));
    const scale = symmetric(manual, reference);
    const row = element("div", "pair");
    row.append(figure("hand-written backward (float32)", manual, scale, DIVERGING),
      figure(referenceName + " (float64)", reference, scale, DIVERGING), colourBar(scale, DIVERGING));
    wrap.append(row, relBadge(relative));
    return wrap;
  }

  function showBackward(payload) {
    $("loss").textContent = "loss L = " + (payload.loss === null ? "NaN" : payload.loss.toFixed(4)) +
      " (cross-entropy against class " + payload.target + ")";
    const maxRel = $("max-rel");
    maxRel.replaceChildren(element("span", "", "largest over all layers: "), relBadge(payload.max_relative));
    const sal = $("saliency");
    sal.replaceChildren(pair("Input saliency dL/dx (the image, 28\u00d728)", decode(payload.saliency),
      decode(payload.saliency_grad), "jax.grad of the whole model", payload.saliency_relative));
    const box = $("backward-layers");
    box.replaceChildren();
    for (let i = payload.layers.length - 1; i >= 0; i--) {
      const layer = payload.layers[i], info = state.model.layers[i];
      const card = layerHeader(i, info);
      card.append(renderEquations(info.equations));
      const into = i === 0 ? "the input" : "layer " + i;
      card.append(pair("dL/dx " + shape(info.in_shape) + ": the gradient passed back to " + into,
        decode(layer.dx), decode(layer.dx_vjp), "jax.vjp of apply", layer.relative.dx));
      for (const key of Object.keys(layer.dparams)) {
        card.append(pair("dL/d" + key + " " + shape(info.params[key]) + (info.params[key].length === 2 ? ", shown transposed" : ""),
          decode(layer.dparams[key]), decode(layer.dparams_vjp[key]), "jax.vjp of apply", layer.relative[key]));
      }
      box.append(card);
    }
  }

  async function analyse() {
    const forward = await postJSON("/api/forward", { image: state.image });
    showForward(forward);
    await runBackward();
  }

  async function runBackward() {
    const backward = await postJSON("/api/backward", { image: state.image, target: state.target });
    showBackward(backward);
    document.body.dataset.ready = "1";
  }

  async function use(payload) {
    clearError();
    showSeen(payload);
    await analyse();
  }

  // ---- input -------------------------------------------------------------------------
  const draw = $("draw"), pen = draw.getContext("2d");
  let drawing = false, last = null;

  function clearCanvas() {
    pen.fillStyle = "#000";
    pen.fillRect(0, 0, draw.width, draw.height);
  }

  function point(e) {
    const r = draw.getBoundingClientRect();
    return [(e.clientX - r.left) * (draw.width / r.width), (e.clientY - r.top) * (draw.height / r.height)];
  }

  function stroke(to) {
    pen.strokeStyle = "#fff";
    pen.lineWidth = 18;
    pen.lineCap = pen.lineJoin = "round";
    pen.beginPath();
    pen.moveTo(last[0], last[1]);
    pen.lineTo(to[0], to[1]);
    pen.stroke();
    last = to;
  }

  function submitCanvas() {
    draw.toBlob((blob) => guarded(async () => use(await api("/api/preprocess", {
      method: "POST", headers: { "Content-Type": "image/png" }, body: blob,
    }))), "image/png");
  }

  draw.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    draw.setPointerCapture(e.pointerId);
    drawing = true;
    last = point(e);
    stroke(point(e));
  });
  draw.addEventListener("pointermove", (e) => {
    if (drawing) stroke(point(e));
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    submitCanvas();
  };
  draw.addEventListener("pointerup", finish);
  draw.addEventListener("pointercancel", finish);
  $("clear").addEventListener("click", clearCanvas);
  $("classify").addEventListener("click", submitCanvas);

  function upload(file) {
    const limit = state.model ? state.model.limits.upload_bytes : Infinity;
    if (file.size > limit) {
      showError(file.name + ": too large (" + (file.size / 2 ** 20).toFixed(1) + " MB); the limit is " + (limit / 2 ** 20).toFixed(0) + " MB");
      return;
    }
    guarded(async () => use(await api("/api/preprocess", {
      method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file,
    })));
  }

  $("file").addEventListener("change", (e) => {
    if (e.target.files.length) upload(e.target.files[0]);
    e.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });

  $("mnist-load").addEventListener("click", () => guarded(async () => {
    const index = $("mnist-index").value.trim();
    const payload = await api("/api/mnist?index=" + encodeURIComponent(index));
    $("mnist-info").textContent = "MNIST test digit " + payload.index + " of " + payload.count.toLocaleString() +
      ", labelled " + payload.label + " (" + payload.source + ")";
    await use(payload);
  }));

  $("target").addEventListener("change", (e) => guarded(async () => {
    state.target = parseInt(e.target.value, 10);
    await runBackward();
  }));

  function showView(name) {
    for (const view of ["forward", "backward"]) {
      $(view).hidden = view !== name;
      $("tab-" + view).classList.toggle("active", view === name);
    }
  }
  $("tab-forward").addEventListener("click", () => showView("forward"));
  $("tab-backward").addEventListener("click", () => showView("backward"));

  // ---- start ---------------------------------------------------------------------------
  async function start() {
    clearCanvas();
    if (!token) {
      showError("This page needs the token: open the address that fnn explore printed, with its ?token=...");
      return;
    }
    const [model, equations] = await Promise.all([
      api("/api/model"),
      fetch("/static/equations.json").then((r) => r.json()),
    ]);
    state.model = model;
    state.equations = equations.equations;
    state.macros = equations.macros;
    $("model-line").textContent = model.name + ": " + model.summary + (model.source ? " \u2014 " + model.source : "");
    if (!model.trained) {
      const banner = $("untrained");
      banner.textContent = "UNTRAINED MODEL: random weights, so its predictions mean nothing. " + model.note;
      banner.hidden = false;
    }
    $("chain-equations").replaceChildren(renderEquations([...model.loss_equations, ...model.chain_equations]));
    document.body.dataset.loaded = "1";
  }

  guarded(start);
})();
