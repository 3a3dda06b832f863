// switchboard demo chat. Plain JS, no framework. All user text goes through textContent (no HTML).
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const createClient = window.switchboard?.io ?? window.io;
  const NICKNAME = /^[\p{L}\p{N}][\p{L}\p{N} _.'-]{0,23}$/u;
  const ROOM = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,31}$/u;
  const ACK_TIMEOUT = 5000;

  /** @type {ReturnType<typeof createClient> | undefined} */
  let socket;
  let nickname = '';
  let current = 'lobby';
  let localIds = 0;
  /** room name → { messages: [], ids: Set, unread, members: [], typing: Map<nick, timer> } */
  const rooms = new Map();
  /** messages typed while offline, sent once the rooms are joined again */
  const outbox = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(state, text) {
    const status = $('status');
    status.hidden = false; // hidden until the first connection attempt: nothing is offline before that
    status.dataset.state = state;
    status.textContent = text;
    $('send-form').classList.toggle('offline', state !== 'online');
  }

  // ---- login -------------------------------------------------------------------------------

  $('nickname').value = localStorage.getItem('switchboard.nickname') ?? '';
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('nickname').value.normalize('NFC').trim().replace(/\s+/g, ' ');
    if (!NICKNAME.test(name)) {
      $('login-error').textContent = 'Use 1–24 letters, digits, spaces or . _ \' - (starting with a letter or digit).';
      return;
    }
    $('login-error').textContent = '';
    nickname = name;
    localStorage.setItem('switchboard.nickname', name);
    start();
  });

  function start() {
    if (!createClient) {
      $('login-error').textContent = 'The switchboard client script did not load.';
      return;
    }
    socket?.disconnect();
    socket = createClient('/chat', { path: meta('switchboard-path'), auth: { nickname }, forceNew: true });
    setStatus('connecting', 'connecting…');

    socket.on('connect', () => {
      $('login').hidden = true;
      $('app').hidden = false;
      $('me').hidden = false;
      $('me').textContent = nickname;
      showTransport();
      socket.io.engine.once('upgrade', showTransport);
      // A new connection has no rooms yet: join (again) every room we had, then flush the outbox.
      const names = rooms.size ? [...rooms.keys()] : ['lobby'];
      Promise.all(names.map((name) => join(name, name === current || !rooms.size))).then(flushOutbox);
      $('text').focus();
    });

    socket.on('connect_error', (err) => {
      if (err?.data?.code === 'INVALID_NICKNAME' || !socket.active) {
        socket.disconnect();
        setStatus('offline', 'offline');
        $('app').hidden = true;
        $('login').hidden = false;
        $('login-error').textContent = err?.message ?? 'could not connect';
        return;
      }
      setStatus('reconnecting', 'cannot reach the hub, retrying…');
    });

    socket.on('disconnect', (reason) => {
      setStatus('reconnecting', `disconnected (${reason}), reconnecting…`);
      for (const room of rooms.values()) clearTyping(room);
      renderTyping();
    });

    socket.io.on('reconnect_attempt', (attempt) => setStatus('reconnecting', `reconnecting… (attempt ${attempt})`));
    socket.io.on('reconnect', () => systemLine(current, 'reconnected'));

    socket.on('welcome', (info) => {
      // The hub numbers a nickname already in use ("ada 2"): take the one it gave us.
      if (typeof info?.nickname === 'string' && info.nickname !== nickname) {
        roomState(current); // the join is still on its way: the notice waits in the room's list
        systemLine(current, `"${nickname}" is in use here: you are "${info.nickname}"`);
        nickname = info.nickname;
        $('me').textContent = nickname;
      }
      renderAllRooms(info?.rooms ?? []);
    });
    socket.on('rooms', (list) => renderAllRooms(list));
    socket.on('message', (message) => addMessage(message));
    socket.on('presence', (update) => {
      const room = rooms.get(update?.room);
      if (!room) return;
      room.members = Array.isArray(update.members) ? update.members : [];
      if (update.joined && update.joined !== nickname) systemLine(update.room, `${update.joined} joined`);
      if (update.left) systemLine(update.room, `${update.left} left`);
      if (update.room === current) renderMembers();
    });
    socket.on('typing', (update) => {
      const room = rooms.get(update?.room);
      if (!room || typeof update.nickname !== 'string') return;
      clearTimeout(room.typing.get(update.nickname));
      if (update.typing) room.typing.set(update.nickname, setTimeout(() => { room.typing.delete(update.nickname); renderTyping(); }, 4000));
      else room.typing.delete(update.nickname);
      renderTyping();
    });
  }

  function showTransport() {
    setStatus('online', `online · ${socket.io.engine.transport.name}`);
  }

  // ---- rooms -------------------------------------------------------------------------------

  function roomState(name) {
    let room = rooms.get(name);
    if (!room) {
      room = { messages: [], ids: new Set(), unread: 0, members: [], typing: new Map() };
      rooms.set(name, room);
    }
    return room;
  }

  function join(name, focus) {
    return new Promise((resolve) => {
      socket.timeout(ACK_TIMEOUT).emit('join', name, (err, res) => {
        if (err || !res?.ok) {
          $('join-error').textContent = err ? 'the hub did not answer' : res?.error ?? 'could not join';
          return resolve(false);
        }
        $('join-error').textContent = '';
        const room = roomState(res.room);
        room.members = res.members ?? [];
        for (const message of res.history ?? []) addMessage(message, true);
        if (focus) switchTo(res.room);
        else renderRooms();
        resolve(true);
      });
    });
  }

  function leave(name) {
    socket.timeout(ACK_TIMEOUT).emit('leave', name, () => {});
    rooms.delete(name);
    if (current === name) switchTo(rooms.keys().next().value ?? 'lobby', true);
    renderRooms();
  }

  function switchTo(name, rejoinIfMissing) {
    if (!rooms.has(name)) {
      if (rejoinIfMissing) join(name, true);
      return;
    }
    current = name;
    rooms.get(name).unread = 0;
    $('room-title').textContent = `# ${name}`;
    renderRooms();
    renderMessages();
    renderMembers();
    renderTyping();
  }

  $('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('room-name').value.trim();
    if (!ROOM.test(name)) {
      $('join-error').textContent = 'Room names: 1–32 letters, digits, _ or -.';
      return;
    }
    $('room-name').value = '';
    if (rooms.has(name)) switchTo(name);
    else join(name, true);
  });

  function renderRooms() {
    const list = $('rooms');
    list.replaceChildren();
    for (const [name, room] of rooms) {
      const item = el('li', name === current ? 'active' : '');
      const open = el('button', 'room-link', `# ${name}`);
      open.type = 'button';
      open.addEventListener('click', () => switchTo(name));
      item.append(open);
      if (room.unread) item.append(el('span', 'badge unread', String(room.unread)));
      const close = el('button', 'leave', '×');
      close.type = 'button';
      close.title = `Leave ${name}`;
      close.setAttribute('aria-label', `Leave ${name}`);
      close.addEventListener('click', () => leave(name));
      item.append(close);
      list.append(item);
    }
  }

  function renderAllRooms(list) {
    const target = $('all-rooms');
    target.replaceChildren();
    for (const entry of Array.isArray(list) ? list : []) {
      const item = el('li');
      const open = el('button', 'room-link', `# ${entry.name}`);
      open.type = 'button';
      open.addEventListener('click', () => (rooms.has(entry.name) ? switchTo(entry.name) : join(entry.name, true)));
      item.append(open, el('span', 'badge', String(entry.size)));
      target.append(item);
    }
  }

  function renderMembers() {
    const room = rooms.get(current);
    const members = room?.members ?? [];
    $('member-count').textContent = String(members.length);
    const list = $('members');
    list.replaceChildren(...members.map((name) => {
      const item = el('li', name === nickname ? 'self' : '');
      item.append(el('span', 'dot'), el('span', '', name));
      return item;
    }));
  }

  // ---- messages ----------------------------------------------------------------------------

  function addMessage(message, fromHistory) {
    if (!message || typeof message.room !== 'string') return;
    const room = rooms.get(message.room);
    if (!room || room.ids.has(message.id)) return; // history replays are deduplicated by id
    room.ids.add(message.id);
    room.messages.push({ ...message, own: message.nickname === nickname && fromHistory, state: 'delivered' });
    room.messages.sort((a, b) => a.ts - b.ts);
    if (room.messages.length > 200) room.messages.splice(0, room.messages.length - 200);
    if (message.room === current) renderMessages();
    else if (!fromHistory) { room.unread++; renderRooms(); }
  }

  function systemLine(roomName, text) {
    const room = rooms.get(roomName);
    if (!room) return;
    room.messages.push({ system: true, text, ts: Date.now(), id: `sys-${++localIds}` });
    if (roomName === current) renderMessages();
  }

  function renderMessages() {
    const room = rooms.get(current);
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...(room?.messages ?? []).map(renderMessage));
    if (atBottom || room?.messages.at(-1)?.own) list.scrollTop = list.scrollHeight;
  }

  function renderMessage(message) {
    if (message.system) return el('li', 'system', message.text);
    const item = el('li', message.own ? 'message own' : 'message');
    item.dataset.id = message.id;
    const head = el('div', 'meta');
    head.append(el('span', 'author', message.nickname), el('time', '', new Date(message.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    if (message.own) {
      const labels = { sending: 'sending…', delivered: '✓ delivered', queued: 'waiting for connection…', failed: `not delivered: ${message.error ?? ''}` };
      head.append(el('span', `delivery ${message.state}`, labels[message.state] ?? ''));
    }
    item.append(head, el('p', 'text', message.text));
    return item;
  }

  function send(message) {
    message.state = 'sending';
    socket.timeout(ACK_TIMEOUT).emit('message', { room: message.room, text: message.text }, (err, res) => {
      if (err) { message.state = 'failed'; message.error = 'no answer from the hub'; }
      else if (!res?.ok) { message.state = 'failed'; message.error = res?.error ?? 'refused'; }
      else {
        message.state = 'delivered';
        rooms.get(message.room)?.ids.add(res.id);
        message.id = res.id;
        message.ts = res.ts;
      }
      if (message.room === current) renderMessages();
    });
  }

  function flushOutbox() {
    while (outbox.length && socket.connected) send(outbox.shift());
    renderMessages();
  }

  $('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('text').value.trim();
    const room = rooms.get(current);
    if (!text || !room) return;
    $('text').value = '';
    stopTyping();
    const message = { id: `local-${++localIds}`, room: current, nickname, text, ts: Date.now(), own: true, state: 'queued' };
    room.messages.push(message);
    if (socket.connected) send(message);
    else outbox.push(message);
    renderMessages();
  });

  // ---- typing indicator --------------------------------------------------------------------

  let typingSentAt = 0;
  let typingTimer;
  $('text').addEventListener('input', () => {
    if (!socket?.connected || !$('text').value) return stopTyping();
    if (Date.now() - typingSentAt > 2000) {
      typingSentAt = Date.now();
      socket.emit('typing', { room: current, typing: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });

  function stopTyping() {
    clearTimeout(typingTimer);
    if (!typingSentAt) return;
    typingSentAt = 0;
    if (socket?.connected) socket.emit('typing', { room: current, typing: false });
  }

  function clearTyping(room) {
    for (const timer of room.typing.values()) clearTimeout(timer);
    room.typing.clear();
  }

  function renderTyping() {
    const names = [...(rooms.get(current)?.typing.keys() ?? [])];
    $('typing').textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…`
      : names.length <= 3 ? `${names.join(', ')} are typing…` : 'several people are typing…';
  }
})();
