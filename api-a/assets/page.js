// Keeps Service A's page up to date without a reload: every refresh interval it reads /current,
// /average and /history (URLs relative to the page, so any prefix works) and updates the figures
// and the chart the server rendered. The chart's geometry and the page's messages come from the
// page itself (data- attributes), so they are defined once, on the server. When a request fails,
// the last values stay and the page says so.
"use strict";

(() => {
  const app = document.getElementById("app");
  const chart = document.getElementById("chart");
  const svg = "http://www.w3.org/2000/svg";
  const g = Object.fromEntries(
    ["width", "height", "left", "right", "top", "bottom"].map((k) => [k, Number(chart.dataset[k])]),
  );
  const byId = (id) => document.getElementById(id);
  const url = (route) => new URL(app.dataset.api + route, document.baseURI);

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const usd = (amount) => money.format(amount);
  const clock = (iso) => `${new Date(iso).toISOString().slice(11, 19)} UTC`;
  const ago = (seconds) =>
    seconds < 120 ? `${Math.floor(seconds)} s ago`
      : seconds < 7200 ? `${Math.floor(seconds / 60)} min ago`
        : `${Math.floor(seconds / 3600)} h ago`;
  // A data- attribute of the page by its name after `data-`, e.g. `message-no-price`.
  const data = (name) => app.dataset[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())];
  // The page's message `name` (src/page/messages.rs) with each `{key}` of `fill` filled in.
  const message = (name, fill = {}) =>
    Object.entries({ window: app.dataset.window, ...fill }).reduce(
      (text, [key, value]) => text.replaceAll(`{${key}}`, value),
      data(`message-${name}`),
    );

  function setTime(id, iso) {
    const time = byId(id);
    time.dateTime = iso;
    time.textContent = clock(iso);
  }

  function setAmount(id, amount) {
    const data = byId(id);
    data.value = amount;
    data.textContent = usd(amount);
  }

  function setNotice(kind, text) {
    const notice = byId("notice");
    // A status is announced by screen readers when it changes: only then is it rewritten.
    if (notice.textContent === (text ?? "") && notice.hidden === !text) return;
    notice.className = `notice ${kind ?? ""}`;
    notice.textContent = text ?? "";
    notice.hidden = !text;
  }

  // GET `route` as JSON: { ok, status, body }; throws when the service cannot be reached.
  async function get(route) {
    const response = await fetch(url(route), { cache: "no-store", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body };
  }

  // The shown price's age as the service last told it, and when: while no new answer comes
  // (the store unavailable, the service unreachable) the shown price keeps ageing. At first,
  // the age the server wrote in words (src/page/format.rs).
  const units = { s: 1, min: 60, h: 3600 };
  const [count, unit] = byId("age").textContent.split(" ");
  let told = unit in units ? { age: Number(count) * units[unit], at: performance.now() } : null;

  function ageShownPrice() {
    if (told) byId("age").textContent = ago(told.age + (performance.now() - told.at) / 1000);
  }

  function showCurrent(current) {
    told = { age: current.age_seconds, at: performance.now() };
    setAmount("price", current.price);
    setTime("as-of", current.as_of);
    byId("age").textContent = ago(current.age_seconds);
    byId("stale").hidden = !current.stale;
    showEvidence(current);
    byId("current-details").hidden = false;
  }

  // What stands behind the price, in the server's words (src/page/mod.rs, `current_view`).
  function showEvidence(current) {
    const { providers, confirmed } = current;
    const others = providers.answered - providers.agreeing;
    byId("agreement").textContent = (providers.agreeing === 1
      ? message("agreement-one", { configured: providers.configured })
      : message("agreement", {
        agreeing: providers.agreeing,
        configured: providers.configured,
        spread: current.spread_percent,
      })) + (others > 0 ? message("dissent", { others }) : "");
    byId("sources").textContent = current.sources.join(", ");
    const continuity = byId("continuity");
    const shown = current.basis === "continuity";
    continuity.hidden = !shown;
    continuity.textContent = shown
      ? message("continuity", {
        quorum: providers.quorum,
        change: Math.abs(confirmed.change_percent),
        confirmed: usd(confirmed.price),
        time: clock(confirmed.at),
      })
      : "";
  }

  function showAverage(average) {
    setAmount("average", average.average);
    byId("samples").textContent = average.samples;
    setTime("from", average.from);
    setTime("to", average.to);
    const coverage = byId("coverage");
    coverage.hidden = average.coverage === undefined;
    coverage.textContent = coverage.hidden
      ? ""
      : message("coverage", { coverage: Math.round(average.coverage * 1000) / 10 });
    byId("average-details").hidden = false;
  }

  function clearCurrent() {
    told = null;
    const data = byId("price");
    data.value = "";
    data.textContent = "—";
    byId("current-details").hidden = true;
  }

  function clearAverage() {
    const data = byId("average");
    data.value = "";
    data.textContent = "—";
    byId("average-details").hidden = true;
  }

  function element(name, attributes, text) {
    const node = document.createElementNS(svg, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const tenth = (value) => Math.round(value * 10) / 10;

  // Redraws the chart as the server draws it (src/page/chart.rs).
  function drawChart(history, average) {
    const points = history ? history.points : [];
    const line = byId("price-line");
    const dots = byId("dots");
    const averageLine = byId("average-line");
    const priceLabels = byId("price-labels");
    const timeLabels = byId("time-labels");
    dots.replaceChildren();
    priceLabels.replaceChildren();
    timeLabels.replaceChildren();
    if (points.length === 0) {
      line.setAttribute("points", "");
      averageLine.setAttribute("hidden", "");
      byId("chart-summary").textContent = `No price to chart within the last ${app.dataset.window}.`;
      return;
    }
    const prices = points.map((p) => p.price);
    const low = Math.min(...prices, average);
    const high = Math.max(...prices, average);
    const pad = Math.max((high - low) * 0.2, Math.abs(high) * 0.00005, 0.01);
    const [top, bottom] = [high + pad, low - pad];
    const times = points.map((p) => Date.parse(p.t));
    const [first, last] = [times[0], times[times.length - 1]];
    const x = (t) => tenth(g.left + (last > first ? (t - first) / (last - first) : 0.5) * (g.width - g.left - g.right));
    const y = (price) => tenth(g.top + ((top - price) / (top - bottom)) * (g.height - g.top - g.bottom));
    line.setAttribute("points", points.map((p, i) => `${x(times[i])},${y(p.price)}`).join(" "));
    if (points.length <= Number(app.dataset.maxDots)) {
      points.forEach((p, i) => dots.append(element("circle", { cx: x(times[i]), cy: y(p.price), r: 2.5 })));
    }
    const averageY = y(average);
    for (const [key, value] of Object.entries({ x1: g.left, x2: g.width - g.right, y1: averageY, y2: averageY })) {
      averageLine.setAttribute(key, value);
    }
    averageLine.removeAttribute("hidden");
    // A flat series has one price to label, not the same one twice.
    const [highest, lowest] = [Math.max(...prices), Math.min(...prices)];
    (highest > lowest ? [highest, lowest] : [highest]).forEach((price, i) => {
      const at = y(price);
      priceLabels.append(element("line", { class: "grid", x1: g.left, y1: at, x2: g.width - g.right, y2: at }));
      priceLabels.append(element("text", { x: g.left + 4, y: at, dy: i === 0 ? "-0.4em" : "1.1em" }, usd(price)));
    });
    [first, last].forEach((t, i) => {
      timeLabels.append(element("text", { x: x(t), y: g.height - 8, "text-anchor": i === 0 ? "start" : "end" }, clock(t)));
    });
    const samples = history.samples;
    byId("chart-summary").textContent =
      `Over the last ${app.dataset.window}, ${samples} ${samples === 1 ? "sample" : "samples"} between ` +
      `${usd(Math.min(...prices))} and ${usd(Math.max(...prices))}; the dashed line is the average, ${usd(average)}.`;
  }

  async function refresh() {
    let answers;
    try {
      answers = await Promise.all(["current", "average", `history?max_points=${app.dataset.points}`].map(get));
    } catch {
      setNotice("error", message("unreachable", { time: clock(new Date().toISOString()) }));
      ageShownPrice();
      return;
    }
    const [current, average, history] = answers;
    // The service's own 503s name their state by their problem type (src/errors.rs); any other
    // failure (a proxy's 502, a restart) is a request that failed.
    const says = (answer, code) => answer.status === 503 && answer.body.type === data(`problem-${code}`);
    const windowAnswer = (answer) => answer.ok || says(answer, "no-price-in-window");
    if (answers.some((a) => says(a, "store-unavailable"))) {
      // Nothing honest to add: keep what is shown and say why it does not move.
      setNotice("error", message("unavailable"));
      ageShownPrice();
    } else if (says(current, "no-price-yet")) {
      // The store holds nothing (e.g. it restarted empty): the page shows what the server would.
      clearCurrent();
      clearAverage();
      drawChart(null, 0);
      setNotice("info", message("no-price"));
    } else if (!current.ok || !windowAnswer(average) || !windowAnswer(history)) {
      setNotice("error", message("unreachable", { time: clock(new Date().toISOString()) }));
      ageShownPrice();
      return;
    } else {
      showCurrent(current.body);
      if (average.ok && history.ok) {
        showAverage(average.body);
        drawChart(history.body, average.body.average);
      } else {
        clearAverage();
        drawChart(null, 0);
      }
      if (current.body.stale) {
        setNotice("warning", message("stale", { time: clock(current.body.as_of) }));
      } else if (!average.ok) {
        setNotice("warning", message("empty-window"));
      } else {
        setNotice(null, null);
      }
    }
    byId("refreshed").textContent = `Refreshed at ${clock(new Date().toISOString())}.`;
  }

  setInterval(refresh, Number(app.dataset.refreshMs) || 10000);
  // Only a page that runs this script refreshes by itself: only then does it say so.
  byId("refreshed").hidden = false;
})();
