// switchboard hub dashboard: metrics pushed once per second over the /dashboard namespace.
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const createClient = window.switchboard?.io ?? window.io;
  const KEEP = 60;
  /** @type {{ time: number, connections: number, rates: any, heapUsed: number, rss: number, loopP99: number }[]} */
  let series = [];
  let socket;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const bytes = (n) => (n < 1024 ? `${Math.round(n)} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);
  const count = (n) => (n < 1000 ? String(Math.round(n * 10) / 10) : n < 1e6 ? `${(n / 1e3).toFixed(1)}k` : `${(n / 1e6).toFixed(1)}M`);
  const since = (ms) => {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
  };

  function setStatus(state, text) {
    $('status').hidden = false; // hidden until the first connection attempt
    $('status').dataset.state = state;
    $('status').textContent = text;
  }

  /** While the hub is unreachable the figures are the last ones it sent: say so, and grey them. */
  function markStale(stale) {
    const wasStale = $('app').classList.contains('stale');
    $('app').classList.toggle('stale', stale);
    $('stale').hidden = !stale;
    if (stale && !wasStale) {
      $('stale').textContent = `The hub has not answered since ${new Date().toLocaleTimeString()}: the figures below are from then.`;
    }
  }

  // The token arrives in the URL fragment (never sent to the server in a request line), then is
  // kept for this tab only and removed from the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('switchboard.dashboardToken', fromHash);
    history.replaceState(null, '', location.pathname);
  }
  const saved = sessionStorage.getItem('switchboard.dashboardToken');
  if (saved) start(saved);
  else $('login').hidden = false;

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem('switchboard.dashboardToken', token);
    start(token);
  });

  function start(token) {
    if (!createClient) { $('login-error').textContent = 'The switchboard client script did not load.'; return; }
    socket?.disconnect();
    socket = createClient('/dashboard', { path: meta('switchboard-path'), auth: { token }, forceNew: true });
    setStatus('connecting', 'connecting…');
    socket.on('connect', () => {
      $('login').hidden = true;
      $('app').hidden = false;
      markStale(false);
      setStatus('online', `live · ${socket.io.engine.transport.name}`);
      socket.io.engine.once('upgrade', (t) => setStatus('online', `live · ${t.name}`));
    });
    socket.on('connect_error', (err) => {
      if (err?.data?.code === 'INVALID_TOKEN' || !socket.active) {
        socket.disconnect();
        sessionStorage.removeItem('switchboard.dashboardToken');
        setStatus('offline', 'offline');
        $('app').hidden = true;
        $('login').hidden = false;
        $('login-error').textContent = err?.data?.code === 'INVALID_TOKEN'
          ? 'This token is no longer valid: the hub was restarted with a new one, or it was mistyped. Open the dashboard link the hub printed at start, or paste its token.'
          : err?.message ?? 'could not connect';
        return;
      }
      markStale(true);
      setStatus('reconnecting', 'cannot reach the hub, retrying…');
    });
    socket.on('disconnect', (reason) => {
      markStale(true);
      setStatus('reconnecting', `disconnected (${reason}), reconnecting…`);
    });
    socket.io.on('reconnect_attempt', (n) => setStatus('reconnecting', `reconnecting… (attempt ${n})`));
    socket.on('hello', (hello) => {
      $('hub-info').textContent = `v${hello.version} · adapter ${hello.adapter} · path ${hello.path}`;
      series = Array.isArray(hello.series) ? hello.series.slice(-KEEP) : [];
    });
    socket.on('metrics', render);
  }

  function render(s) {
    markStale(false);
    series.push({ time: s.time, connections: s.connections, rates: s.rates, heapUsed: s.memory.heapUsed, rss: s.memory.rss, loopP99: s.eventLoopDelayMs.p99 });
    if (series.length > KEEP) series.splice(0, series.length - KEEP);

    $('connections').textContent = String(s.connections);
    const transports = Object.entries(s.transports).map(([name, n]) => `${name} ${n}`).join(' · ');
    $('transports').textContent = transports || 'no clients';
    $('msgs-in').textContent = count(s.rates.messagesIn);
    $('msgs-out').textContent = count(s.rates.messagesOut);
    $('msgs-total').textContent = `total ${count(s.totals.messagesIn)} in · ${count(s.totals.messagesOut)} out`;
    $('bytes-in').textContent = bytes(s.rates.bytesIn);
    $('bytes-out').textContent = bytes(s.rates.bytesOut);
    $('bytes-total').textContent = `total ${bytes(s.totals.bytesIn)} in · ${bytes(s.totals.bytesOut)} out`;
    $('heap').textContent = `${bytes(s.memory.heapUsed)} heap`;
    $('rss').textContent = `${bytes(s.memory.rss)} rss · up ${Math.floor(s.uptimeSeconds / 60)}m ${s.uptimeSeconds % 60}s`;
    $('loop').textContent = `${s.eventLoopDelayMs.p99.toFixed(1)} ms p99`;
    $('loop-detail').textContent = `mean ${s.eventLoopDelayMs.mean.toFixed(1)} ms · max ${s.eventLoopDelayMs.max.toFixed(1)} ms`;

    chart('chart-connections', [series.map((p) => p.connections)]);
    chart('chart-messages', [series.map((p) => p.rates.messagesIn), series.map((p) => p.rates.messagesOut)]);
    chart('chart-bytes', [series.map((p) => p.rates.bytesIn), series.map((p) => p.rates.bytesOut)]);
    chart('chart-memory', [series.map((p) => p.heapUsed)]);
    chart('chart-loop', [series.map((p) => p.loopP99)]);

    const nsps = $('namespaces');
    nsps.replaceChildren(...s.namespaces.map((nsp) => {
      const row = el('tr');
      const rooms = el('td', 'rooms-cell');
      if (!nsp.rooms.length) rooms.append(el('span', 'muted', '—'));
      for (const room of nsp.rooms) rooms.append(el('span', 'chip', `${room.name} (${room.size})`));
      row.append(el('td', 'mono', nsp.name), el('td', 'num', String(nsp.sockets)), rooms);
      return row;
    }));

    $('client-count').textContent = String(s.clientCount);
    const clients = $('clients');
    clients.replaceChildren(...s.clients.map((c) => {
      const row = el('tr');
      row.append(el('td', 'mono', c.id), el('td', 'mono', c.nsp), el('td', '', c.transport), el('td', 'mono', c.address),
        el('td', '', c.nickname ?? '—'), el('td', 'muted', since(c.since)));
      return row;
    }));
    if (s.clientCount > s.clients.length) {
      const row = el('tr');
      const cell = el('td', 'muted', `… and ${s.clientCount - s.clients.length} more`);
      cell.colSpan = 6;
      row.append(cell);
      clients.append(row);
    }
  }

  /** A small sparkline: one line per series on a shared scale, the first one filled. */
  function chart(id, lines) {
    const canvas = $(id);
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || canvas.width;
    const height = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const styles = getComputedStyle(document.documentElement);
    const colors = [styles.getPropertyValue('--accent').trim() || '#4f46e5', styles.getPropertyValue('--accent-2').trim() || '#f59e0b'];
    const max = Math.max(1, ...lines.flat());
    // Stretch what we have over the full width (at least a 10-sample scale, so 2 points are not a wall).
    const span = Math.max(10, ...lines.map((v) => v.length)) - 1;
    const step = width / span;
    lines.forEach((values, i) => {
      if (values.length < 2) return;
      const x0 = width - (values.length - 1) * step;
      const y = (v) => height - 3 - (v / max) * (height - 6);
      ctx.beginPath();
      values.forEach((v, j) => (j ? ctx.lineTo(x0 + j * step, y(v)) : ctx.moveTo(x0, y(v))));
      ctx.strokeStyle = colors[i % colors.length];
      ctx.lineWidth = 1.6;
      ctx.stroke();
      if (i === 0) {
        ctx.lineTo(width, height);
        ctx.lineTo(x0, height);
        ctx.closePath();
        ctx.globalAlpha = 0.12;
        ctx.fillStyle = colors[0];
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    });
  }
})();
