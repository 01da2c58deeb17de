// Storage-node dashboard (browser side). Polls GET /api/status once a second and listens on
// GET /api/events (SSE) for the live trace log. Everything is drawn here: tables by DOM calls
// (text only, never HTML from data) and plots on <canvas>, so the page needs nothing off-host.
(() => {
  const POLL_MS = 1000;
  const MAX_LOG = 200;
  const $ = (id) => document.getElementById(id);

  const short = (hex) => (typeof hex === 'string' ? `${hex.slice(0, 10)}…` : '–');
  const fmtInt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
  const fmtBytes = (n) => {
    if (typeof n !== 'number') return '–';
    if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
    return `${n} B`;
  };

  function cell(text, testId) {
    const td = document.createElement('td');
    td.textContent = text;
    if (testId) td.dataset.testid = testId;
    return td;
  }
  function codeCell(hex, full) {
    const td = document.createElement('td');
    const c = document.createElement('code');
    c.textContent = short(hex);
    if (full) c.title = full;
    td.appendChild(c);
    return td;
  }
  function stateCell(state) {
    const td = document.createElement('td');
    const s = document.createElement('span');
    s.className = 'state';
    s.dataset.state = state;
    s.dataset.testid = 'eb-state';
    s.textContent = state;
    td.appendChild(s);
    return td;
  }
  function tallyCell(weight, quorum) {
    const td = document.createElement('td');
    const bar = document.createElement('span');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.width = `${Math.min(100, Math.max(0, weight * 100)).toFixed(1)}%`;
    const tau = document.createElement('span');
    tau.className = 'tau';
    tau.style.left = `${(quorum * 100).toFixed(1)}%`;
    bar.append(fill, tau);
    const label = document.createElement('span');
    label.textContent = ` ${(weight * 100).toFixed(1)}%`;
    td.append(bar, label);
    return td;
  }
  function replaceRows(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function renderRbs(status) {
    const rows = status.recentRbs.map((rb) => {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'rb-row';
      tr.dataset.rb = rb.hash;
      tr.dataset.kind = rb.certifies ? 'cert' : 'tx';
      tr.append(
        cell(fmtInt(rb.blockNumber)),
        cell(fmtInt(rb.slot)),
        codeCell(rb.hash, rb.hash),
        cell(fmtInt(rb.txCount)),
        cell(fmtBytes(rb.sizeBytes)),
        rb.certifies ? codeCell(rb.certifies, rb.certifies) : cell('–'),
        rb.eb ? codeCell(rb.eb.hash, rb.eb.hash) : cell('–'),
      );
      return tr;
    });
    replaceRows($('rb-body'), rows);
  }

  function renderEbs(status) {
    const seen = new Set();
    const ebs = [];
    for (const rb of status.recentRbs) {
      if (rb.eb && !seen.has(rb.eb.hash)) {
        seen.add(rb.eb.hash);
        ebs.push({ ...rb.eb, slot: rb.slot });
      }
    }
    for (const eb of status.openEbs) {
      if (!seen.has(eb.hash)) {
        seen.add(eb.hash);
        ebs.push(eb);
      }
    }
    ebs.sort((a, b) => b.slot - a.slot);
    const rows = ebs.map((eb) => {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'eb-row';
      tr.dataset.state = eb.state;
      tr.dataset.eb = eb.hash;
      tr.append(
        cell(fmtInt(eb.slot)),
        codeCell(eb.hash, eb.hash),
        cell(fmtInt(eb.txCount)),
        cell((eb.txBytes / 1000).toFixed(1)),
        cell(`${eb.voteSeats} (${(eb.voteWeight * 100).toFixed(1)}%)`),
        stateCell(eb.state),
        cell(eb.closureLatencyS === null ? '–' : `${eb.closureLatencyS.toFixed(2)} s`),
      );
      return tr;
    });
    replaceRows($('eb-body'), rows);
  }

  function renderTallies(status) {
    const rows = status.openEbs.map((eb) => {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'vote-tally';
      tr.dataset.eb = eb.hash;
      tr.dataset.state = eb.state;
      tr.append(cell(fmtInt(eb.slot)), codeCell(eb.hash, eb.hash), cell(fmtInt(eb.voteSeats)), tallyCell(eb.voteWeight, status.quorum), stateCell(eb.state));
      return tr;
    });
    replaceRows($('vote-tallies-body'), rows);
  }

  // A small line/point plot: x = seconds since systemStart, y from 0 to a rounded maximum.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }
  function plot(canvas, points, opts) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width;
    const h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const g = canvas.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--muted').trim() || '#888';
    const line = css.getPropertyValue('--line').trim() || '#333';
    const accent = css.getPropertyValue(opts.colourVar).trim() || '#4fb3ff';
    const left = 48;
    const bottom = 22;
    const pw = w - left - 8;
    const ph = h - bottom - 8;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = fg;
    canvas.dataset.points = String(points.length);
    if (points.length === 0) {
      g.fillText('no data yet', left + 8, 8 + ph / 2);
      return;
    }
    const x0 = points[0].t_s;
    const x1 = Math.max(points[points.length - 1].t_s, x0 + 1);
    const yMax = niceMax(Math.max(...points.map((p) => p.value)));
    const X = (t) => left + ((t - x0) / (x1 - x0)) * pw;
    const Y = (v) => 8 + ph - (v / yMax) * ph;
    g.strokeStyle = line;
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      g.beginPath();
      g.moveTo(left, Y(v));
      g.lineTo(left + pw, Y(v));
      g.stroke();
      g.fillText(v >= 10 ? v.toFixed(0) : v.toFixed(2), 4, Y(v) + 4);
    }
    g.fillText(`${x0.toFixed(0)} s`, left, h - 6);
    const endLabel = `${x1.toFixed(0)} s`;
    g.fillText(endLabel, left + pw - g.measureText(endLabel).width, h - 6);
    g.strokeStyle = accent;
    g.fillStyle = accent;
    g.lineWidth = 2;
    if (opts.points) {
      for (const p of points) {
        g.beginPath();
        g.arc(X(p.t_s), Y(Math.min(p.value, yMax)), 2.5, 0, 2 * Math.PI);
        g.fill();
      }
    } else {
      g.beginPath();
      points.forEach((p, i) => {
        if (i === 0) g.moveTo(X(p.t_s), Y(p.value));
        else g.lineTo(X(p.t_s), Y(p.value));
      });
      g.stroke();
    }
  }

  function render(status) {
    $('node-name').textContent = status.node;
    $('wall-slot').textContent = fmtInt(status.slot);
    $('tip').textContent = status.tip.slot === null ? 'origin' : `#${fmtInt(status.tip.blockNumber)} @ ${fmtInt(status.tip.slot)}`;
    $('mempool-txs').textContent = fmtInt(status.mempool.txs);
    $('mempool-bytes').textContent = fmtBytes(status.mempool.bytes);
    $('certified-eb-count').textContent = String(status.certifiedEbCount);
    $('quorum').textContent = status.quorumFraction;
    renderRbs(status);
    renderEbs(status);
    renderTallies(status);
    plot($('throughput-plot'), status.certifiedThroughput, { colourVar: '--ok', points: false });
    plot($('latency-plot'), status.ebDiffusionLatency, { colourVar: '--accent', points: true });
  }

  function setConn(state, text) {
    const el = $('connection-state');
    el.dataset.state = state;
    el.textContent = text;
  }

  async function poll() {
    try {
      const res = await fetch('/api/status', { cache: 'no-store' });
      if (!res.ok) throw new Error(`status ${res.status}`);
      render(await res.json());
      setConn('live', 'live');
    } catch (e) {
      setConn('error', `error: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  function describe(m) {
    const parts = [];
    for (const [k, v] of Object.entries(m)) {
      if (k === 'type') continue;
      const s = typeof v === 'string' && /^[0-9a-f]{64}/.test(v) ? short(v) : JSON.stringify(v);
      parts.push(`${k}=${s}`);
    }
    return parts.join(' ');
  }

  function listen() {
    if (typeof EventSource === 'undefined') return;
    const log = $('event-log');
    let missed = 0;
    const es = new EventSource('/api/events');
    es.addEventListener('trace', (ev) => {
      const line = JSON.parse(ev.data);
      const li = document.createElement('li');
      li.dataset.type = line.message.type;
      li.textContent = `${line.time_s.toFixed(3)}  ${line.message.type}  ${describe(line.message)}`;
      log.prepend(li);
      while (log.childElementCount > MAX_LOG) log.lastElementChild.remove();
    });
    es.addEventListener('dropped', (ev) => {
      missed += Number(ev.data);
      $('event-dropped').textContent = `(${missed} events skipped: client too slow)`;
    });
  }

  poll();
  listen();
})();
