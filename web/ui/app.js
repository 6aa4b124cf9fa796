// The ferry web UI: polls the daemon's API every second and renders the
// status into the page, and browses a folder's history when asked. Plain
// DOM, no build step, no inline code (the page's Content-Security-Policy
// forbids it). It is one file of some 1,100 lines because the page loads
// exactly the files the daemon embeds; its parts are marked "---- part ----".
'use strict';

(() => {
  let csrf = '';
  const $ = (id) => document.getElementById(id);
  const pollEvery = 1000;
  const view = { status: null, offer: null, shownCode: '', timer: 0 };

  // api calls the daemon and returns the decoded answer, or throws an Error
  // carrying the daemon's explanation.
  async function api(method, path, body) {
    const resp = await send(method, path, body);
    const data = await resp.json().catch(() => null);
    if (!resp.ok) throw failure(resp, data);
    return data;
  }

  // send makes an API request and returns the daemon's response.
  async function send(method, path, body) {
    const opts = { method, headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      opts.body = JSON.stringify(body);
      opts.headers['Content-Type'] = 'application/json';
    }
    try {
      return await fetch(path, opts);
    } catch (e) {
      throw new Error('the ferry daemon is not answering; is it running?');
    }
  }

  function failure(resp, data) {
    const e = new Error((data && data.error) || `the daemon answered ${resp.status} ${resp.statusText}`);
    e.status = resp.status;
    return e;
  }

  // ---- signing in ----
  // The page holds no secret. The browser proves once that it knows the API
  // key (from the #key= address `ferry ui` opens, or typed in) and gets the
  // session cookie and CSRF token for it; a later load asks for the token
  // with the cookie alone.

  async function session(key) {
    const opts = { method: key ? 'POST' : 'GET', headers: {}, credentials: 'same-origin', cache: 'no-store' };
    if (key) opts.headers['X-API-Key'] = key;
    let resp;
    try {
      resp = await fetch('/api/session', opts);
    } catch (e) {
      throw new Error('the ferry daemon is not answering; is it running?');
    }
    const data = await resp.json().catch(() => null);
    if (!resp.ok || !data || !data.csrf) {
      const e = new Error((data && data.error) || `the daemon answered ${resp.status} ${resp.statusText}`);
      e.status = resp.status;
      throw e;
    }
    return data.csrf;
  }

  function showSignIn(message) {
    clearTimeout(view.timer);
    $('app').hidden = true;
    $('signin').hidden = false;
    say($('signin-msg'), message ? 'error' : '', message || '');
    $('signin-key').focus();
  }

  async function signIn(key) {
    try {
      csrf = await session(key);
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        showSignIn(key ? 'That key is not this daemon\'s key.' : '');
      } else {
        say($('conn-error'), 'error', e.message);
        setTimeout(() => signIn(key), 2 * pollEvery);
      }
      return;
    }
    say($('conn-error'), '', '');
    $('signin-key').value = '';
    $('signin').hidden = true;
    $('app').hidden = false;
    poll();
  }

  function start() {
    const m = /^#key=([^&]*)/.exec(location.hash);
    // The key leaves the address bar and the history at once.
    if (m) history.replaceState(null, '', location.pathname + location.search);
    signIn(m ? decodeURIComponent(m[1]) : '');
  }

  // el makes an element: text sets its text, on* adds listeners, anything
  // else is an attribute.
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    e.append(...children);
    return e;
  }

  function setText(root, selector, text) {
    const e = root.querySelector(selector);
    if (e.textContent !== text) e.textContent = text;
  }

  // say shows a message in an element, marked ok, error or busy.
  function say(e, state, text) {
    e.dataset.state = state;
    e.classList.toggle('error', state === 'error');
    e.classList.toggle('ok', state === 'ok');
    e.classList.toggle('muted', state !== 'error' && state !== 'ok');
    e.textContent = text;
    e.hidden = text === '';
  }

  function bytes(n) {
    const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
  }
  const rate = (n) => bytes(n || 0) + '/s';

  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${s % 60} s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${m % 60} min`;
    return `${Math.floor(h / 24)} days`;
  }

  const shortID = (id) => id.split('-')[0];

  function deviceName(id) {
    const d = view.status && view.status.devices.find((x) => x.id === id);
    return d && d.name ? d.name : shortID(id);
  }

  // syncRows makes container's children match items, keyed by an attribute,
  // reusing existing elements so that focus and half-made choices survive
  // each refresh.
  function syncRows(container, items, attr, key, make, update) {
    const old = new Map([...container.children].map((r) => [r.getAttribute(attr), r]));
    let prev = null;
    for (const item of items) {
      const k = key(item);
      let row = old.get(k);
      if (row) old.delete(k);
      else { row = make(item); row.setAttribute(attr, k); }
      update(row, item);
      const want = prev ? prev.nextSibling : container.firstChild;
      if (row !== want) container.insertBefore(row, want);
      prev = row;
    }
    for (const r of old.values()) r.remove();
  }

  // ---- status ----

  function renderStatus(st) {
    view.status = st;
    setText(document, '#device-name', st.device.name || '(no name)');
    setText(document, '#device-id', st.device.id);
    setText(document, '#reach', reachText(st.device));
    renderDevices(st.devices);
    renderPending(st.pending);
    renderOffered(st.offered || []);
    renderFolders(st.folders, st.devices);
    renderPairFolders(st.folders);
    renderJoinExisting(st.folders);
  }

  function renderDevices(devices) {
    $('devices-empty').hidden = devices.length > 0;
    $('devices').hidden = devices.length === 0;
    syncRows($('devices-body'), devices, 'data-device-id', (d) => d.id,
      (d) => el('tr', {}, el('td', { class: 'name' }), el('td', { class: 'id' }, el('code')),
        el('td', {}, el('span', { class: 'connected' })), el('td', { class: 'address' }),
        el('td', { class: 'in-rate num' }), el('td', { class: 'out-rate num' }), deviceControls(d)),
      (row, d) => {
        setText(row, '.name', d.name || '(no name)');
        setText(row, '.id code', shortID(d.id));
        row.querySelector('.id').title = d.id;
        const c = row.querySelector('.connected');
        c.dataset.connected = String(d.connected);
        setText(row, '.connected', d.paused ? 'paused' : d.connected ? 'connected' : 'disconnected');
        updateDeviceControls(row, d);
        setText(row, '.address', d.connected ? viaText(d, devices) : '—');
        setText(row, '.in-rate', rate(d.inRate));
        setText(row, '.out-rate', rate(d.outRate));
        row.querySelector('.in-rate').title = bytes(d.inBytes) + ' received';
        row.querySelector('.out-rate').title = bytes(d.outBytes) + ' sent';
      });
  }

  // viaText says where a connected device is and how it was reached.
  function viaText(d, devices) {
    if (d.via === 'relay') {
      const r = devices.find((x) => x.id === d.relay);
      return 'relayed through ' + (r && r.name ? r.name : shortID(d.relay || ''));
    }
    const how = {
      incoming: 'it connected here', address: 'configured address', lan: 'local network',
      dht: 'found on the internet', dialled: 'dialled',
    }[d.via];
    return d.address + (how ? ` (${how})` : '');
  }

  // reachText says how other devices reach this one.
  function reachText(dev) {
    const parts = [];
    parts.push(dev.external ? `Reachable from the internet at ${dev.external} (${dev.mapping} port mapping)`
      : 'No port mapped on the router');
    parts.push(dev.dht ? `internet discovery on (${dev.dht.goodNodes} of ${dev.dht.nodes} DHT nodes answer)`
      : 'internet discovery off');
    const r = dev.relay || {};
    parts.push(r.on ? `relays for trusted devices (${r.streams} now, ${bytes(r.forwarded)} so far)` : 'relaying off');
    return parts.join(' · ');
  }

  function renderPending(pending) {
    $('pending-section').hidden = pending.length === 0;
    syncRows($('pending-body'), pending, 'data-pending-id', (p) => p.id,
      (p) => el('tr', {}, el('td', {}, el('code', { class: 'id' })), el('td', { class: 'address' }),
        el('td', { class: 'last-seen' }),
        el('td', { class: 'actions' },
          el('button', { type: 'button', class: 'accept', text: 'Accept', onclick: () => pendingAction('POST', '/api/devices', { id: p.id }) }),
          ' ',
          el('button', { type: 'button', class: 'ignore', text: 'Ignore', onclick: () => pendingAction('DELETE', '/api/pending/' + encodeURIComponent(p.id)) }))),
      (row, p) => {
        setText(row, '.id', p.id);
        setText(row, '.address', p.address || '—');
        setText(row, '.last-seen', p.lastSeen ? new Date(p.lastSeen).toLocaleString() : '');
      });
  }

  async function pendingAction(method, path, body) {
    try {
      await api(method, path, body);
      say($('pending-error'), '', '');
    } catch (e) {
      say($('pending-error'), 'error', e.message);
    }
    refresh();
  }

  function renderFolders(folders, devices) {
    $('folders-empty').hidden = folders.length > 0;
    syncRows($('folders'), folders, 'data-folder-id', (f) => f.id, makeFolder,
      (row, f) => updateFolder(row, f, devices));
  }

  function makeFolder(f) {
    const select = el('select', { class: 'share-device', 'aria-label': `Share ${f.id} with` });
    const row = () => select.closest('.folder');
    return el('div', { class: 'folder panel' },
      el('div', { class: 'folder-head' }, el('strong', { class: 'folder-id', text: f.id }), ' ',
        el('span', { class: 'type muted' }), ' ', el('span', { class: 'state' }),
        el('button', { type: 'button', class: 'history-open secondary', text: 'History', onclick: () => openHistory(f.id) })),
      el('div', { class: 'path' }),
      el('div', { class: 'sync' }, el('span', { class: 'sync-text' }), ' ',
        el('progress', { max: '100' }), ' ', el('span', { class: 'eta muted' })),
      el('div', { class: 'pulling', hidden: '' }, el('span', { class: 'pulling-text' }), ' ',
        el('progress', { class: 'pulling-bar', max: '100' }), ' ', el('span', { class: 'pulling-more muted' })),
      el('div', { class: 'meta muted' }, el('span', { class: 'files' }), ' · ',
        el('span', { class: 'conflicts' }), ' · ', el('span', { class: 'shared' })),
      el('div', { class: 'held', hidden: '' },
        el('p', { class: 'held-text warn' }),
        el('ul', { class: 'held-names' }),
        el('div', { class: 'held-actions' },
          el('button', { type: 'button', class: 'held-revert', text: 'Bring them back', onclick: () => folderAction(f.id, 'revert', row()) }), ' ',
          el('button', { type: 'button', class: 'held-confirm danger', text: 'Delete them everywhere', onclick: (ev) => confirmDeletes(f.id, ev.target) }), ' ',
          el('span', { class: 'held-result', 'aria-live': 'polite' }))),
      el('p', { class: 'mass-change', hidden: '' }, el('span', { class: 'mass-change-text warn' }), ' ',
        el('button', { type: 'button', class: 'mass-change-ok', text: 'That was me', onclick: () => folderAction(f.id, 'resume', row()) })),
      el('div', { class: 'apart', hidden: '' }, el('p', { class: 'apart-text' }), el('ul', { class: 'apart-names' }),
        el('button', { type: 'button', class: 'apart-action', onclick: (ev) => folderAction(f.id, ev.target.dataset.action, row(), '.apart-result') }), ' ',
        el('span', { class: 'apart-result', 'aria-live': 'polite' })),
      el('ul', { class: 'errors' }),
      el('div', { class: 'resume', hidden: '' },
        el('button', { type: 'button', class: 'resume-submit', text: 'The folder is right: resume it', onclick: () => folderAction(f.id, 'resume', row()) }), ' ',
        el('span', { class: 'resume-result', 'aria-live': 'polite' })),
      el('div', { class: 'share' }, select, ' ',
        el('button', { type: 'button', class: 'share-submit', text: 'Share', onclick: () => share(f.id, select) }),
        ' ', el('span', { class: 'share-result', 'aria-live': 'polite' })),
      folderControls(f));
  }

  // updateApart lists what the folder's type keeps apart from the other
  // devices: changes made in a receive-only folder, which Revert undoes
  // (keeping them in the history), or changes of other devices a send-only
  // folder does not take, which Override replaces everywhere.
  function updateApart(row, f) {
    const box = row.querySelector('.apart');
    box.hidden = !(f.apart > 0);
    if (box.hidden) return;
    const recv = f.type === 'receive-only';
    setText(row, '.apart-text', recv
      ? `${f.apart} ${f.apart === 1 ? 'file was' : 'files were'} changed here; a receive-only folder does not send them:`
      : `${f.apart} ${f.apart === 1 ? 'file was' : 'files were'} changed elsewhere; a send-only folder does not take them:`);
    const names = row.querySelector('.apart-names');
    const key = JSON.stringify(f.apartSample);
    if (names.dataset.key !== key) {
      names.dataset.key = key;
      const more = f.apart - f.apartSample.length;
      names.replaceChildren(...f.apartSample.map((n) => el('li', { text: n })), ...(more > 0 ? [el('li', { text: `… and ${more} more` })] : []));
    }
    const btn = row.querySelector('.apart-action');
    btn.dataset.action = recv ? 'revert' : 'override';
    btn.textContent = recv ? 'Put back what the other devices have (the changes go to the history)' : 'Make this device\'s state the newest everywhere';
  }

  function updateFolder(row, f, devices) {
    setText(row, '.type', f.type);
    const state = row.querySelector('.state');
    state.dataset.state = f.state;
    setText(row, '.state', f.state);
    setText(row, '.path', f.path);
    const bar = row.querySelector('progress');
    bar.hidden = f.inSync;
    let text = 'in sync', eta = '';
    if (!f.inSync) {
      const pct = f.globalBytes > 0 ? Math.floor(100 * (f.globalBytes - f.needBytes) / f.globalBytes) : 0;
      bar.value = pct;
      text = `${pct}% · ${f.needFiles} files (${bytes(f.needBytes)}) to fetch`;
      if (f.inRate > 0) text += ` at ${rate(f.inRate)}`;
      if (f.eta > 0) eta = `about ${duration(f.eta)} left`;
    }
    setText(row, '.sync-text', text);
    setText(row, '.eta', eta);
    updatePulling(row, f);
    setText(row, '.files', `${f.localFiles} files, ${bytes(f.localBytes)}`);
    setText(row, '.conflicts', f.conflicts === 1 ? '1 conflict' : `${f.conflicts} conflicts`);
    row.querySelector('.conflicts').classList.toggle('warn', f.conflicts > 0);
    setText(row, '.shared', f.devices.length ? 'shared with ' + f.devices.map(deviceName).join(', ') : 'not shared');
    const errs = row.querySelector('.errors');
    if (errs.dataset.key !== JSON.stringify(f.errors)) {
      errs.dataset.key = JSON.stringify(f.errors);
      errs.replaceChildren(...f.errors.map((e) => el('li', { class: 'error', text: e })));
    }
    updateHeld(row, f);
    updateApart(row, f);
    row.querySelector('.resume').hidden = !f.errors.some((e) => e.includes('ferry folder resume'));
    updateShareSelect(row, devices.filter((d) => !f.devices.includes(d.id)));
    updateFolderControls(row, f);
  }

  // updatePulling shows the first file being pulled now and how much of it
  // is in place.
  function updatePulling(row, f) {
    const box = row.querySelector('.pulling');
    const p = (f.pulling || [])[0];
    box.hidden = f.inSync || !p;
    if (box.hidden) return;
    const pct = p.size > 0 ? Math.floor(100 * Math.min(p.done, p.size) / p.size) : 0;
    row.querySelector('.pulling-bar').value = pct;
    setText(row, '.pulling-text', `Pulling ${p.name}: ${pct}% of ${bytes(p.size)}`);
    const more = (f.pullingFiles || 0) - 1;
    setText(row, '.pulling-more', more > 0 ? `and ${more} more ${more === 1 ? 'file' : 'files'}` : '');
  }

  // updateHeld shows deletions the folder holds and a mass change, with the
  // ways out.
  function updateHeld(row, f) {
    const held = f.heldLocal + f.heldRemote;
    const box = row.querySelector('.held');
    box.hidden = held === 0;
    const parts = [];
    if (f.heldLocal > 0) parts.push(`${f.heldLocal} files vanished here at once`);
    if (f.heldRemote > 0) parts.push(`another device deleted ${f.heldRemote} files at once`);
    setText(row, '.held-text', parts.join('; ') + (held ? '. Nothing was deleted anywhere yet.' : ''));
    const names = f.heldSample.concat(held > f.heldSample.length ? [`… and ${held - f.heldSample.length} more`] : []);
    const list = row.querySelector('.held-names');
    if (list.dataset.key !== JSON.stringify(names)) {
      list.dataset.key = JSON.stringify(names);
      list.replaceChildren(...names.map((n) => el('li', { text: n })));
    }
    const confirm = row.querySelector('.held-confirm');
    if (!confirm.dataset.armed) confirm.textContent = `Delete them everywhere`;
    row.querySelector('.mass-change').hidden = f.massChange === 0;
    setText(row, '.mass-change-text', f.massChange ? `${f.massChange} files were rewritten at once. If that was not you, check them.` : '');
  }

  // confirmDeletes asks for a second click before deletions go out.
  function confirmDeletes(folder, button) {
    if (!button.dataset.armed) {
      button.dataset.armed = '1';
      button.textContent = 'Click again to delete them on every device';
      setTimeout(() => { delete button.dataset.armed; button.textContent = 'Delete them everywhere'; }, 5000);
      return;
    }
    delete button.dataset.armed;
    folderAction(folder, 'confirm-deletes', button.closest('.folder'));
  }

  async function folderAction(folder, action, row, result) {
    const out = row.querySelector(result || (action === 'resume' ? '.resume-result' : '.held-result'));
    try {
      await api('POST', `/api/folders/${encodeURIComponent(folder)}/${action}`);
      say(out, 'ok', { revert: 'bringing them back', 'confirm-deletes': 'deleting them everywhere', resume: 'resumed', override: 'sending this state everywhere' }[action]);
    } catch (e) {
      say(out, 'error', e.message);
    }
    refresh();
  }

  // updateShareSelect lists the devices a folder is not shared with yet,
  // keeping the user's choice.
  function updateShareSelect(row, candidates) {
    const select = row.querySelector('.share-device');
    row.querySelector('.share').hidden = candidates.length === 0;
    const key = candidates.map((d) => d.id + '=' + d.name).join(',');
    if (select.dataset.key === key) return;
    select.dataset.key = key;
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '', text: 'Share with…' }),
      ...candidates.map((d) => el('option', { value: d.id, text: d.name || shortID(d.id) })));
    if (candidates.some((d) => d.id === chosen)) select.value = chosen;
  }

  async function share(folder, select) {
    const out = select.parentElement.querySelector('.share-result');
    if (!select.value) { say(out, 'error', 'choose a device first'); return; }
    try {
      await api('POST', `/api/folders/${encodeURIComponent(folder)}/share`, { device: select.value });
      say(out, 'ok', 'shared');
    } catch (e) {
      say(out, 'error', e.message);
    }
    refresh();
  }

  // ---- everyday controls ----
  // Pausing, renaming, moving, unsharing and removing folders and devices,
  // and taking the folders other devices offer. What removes or moves
  // something asks for a second click first.

  // armed runs act on the second click of button within five seconds; the
  // first click shows prompt on the button.
  function armed(button, prompt, act) {
    if (!button.dataset.armed) {
      button.dataset.armed = button.textContent;
      button.textContent = prompt;
      setTimeout(() => {
        if (button.dataset.armed) { button.textContent = button.dataset.armed; delete button.dataset.armed; }
      }, 5000);
      return;
    }
    button.textContent = button.dataset.armed;
    delete button.dataset.armed;
    act();
  }

  // control makes an API call for a control and says how it went in out.
  async function control(out, method, path, body, okText) {
    try {
      await api(method, path, body);
      say(out, 'ok', okText);
    } catch (e) {
      say(out, 'error', e.message);
    }
    refresh();
  }

  const folderPath = (id) => '/api/folders/' + encodeURIComponent(id);
  const devicePath = (id) => '/api/devices/' + encodeURIComponent(id);

  function folderControls(f) {
    const id = f.id;
    const out = el('p', { class: 'controls-result', 'aria-live': 'polite', hidden: '' });
    const forget = el('input', { type: 'checkbox', class: 'forget' });
    const form = el('form', { class: 'settings-form fields', autocomplete: 'off' },
      el('label', {}, 'Label ', el('input', { class: 'label-input', name: 'label', placeholder: id })),
      el('label', {}, 'Type ', el('select', { class: 'type-input', name: 'type' },
        el('option', { value: 'send-receive', text: 'send and receive' }),
        el('option', { value: 'send-only', text: 'send only' }),
        el('option', { value: 'receive-only', text: 'receive only' }))),
      el('label', {}, 'Rescan every ', el('input', { class: 'scan-input', name: 'scanInterval', placeholder: 'default', spellcheck: 'false' })),
      el('label', {}, 'Moved to ', el('input', { class: 'path-input', name: 'path', placeholder: 'its new path', spellcheck: 'false' })),
      el('p', {}, el('button', { type: 'submit', class: 'settings-save', text: 'Save settings' })));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); saveFolder(id, form, out); });
    const box = el('details', { class: 'controls' },
      el('summary', { text: 'Settings' }),
      el('div', { class: 'control-row' },
        el('button', { type: 'button', class: 'pause-toggle secondary', onclick: (ev) => togglePause(id, ev.target, out) }), ' ',
        el('button', {
          type: 'button', class: 'remove-folder danger secondary', text: 'Remove folder',
          onclick: (ev) => armed(ev.target, forget.checked ? 'Click again: stop syncing and forget its history' : 'Click again: stop syncing (the files stay)',
            () => control(out, 'DELETE', folderPath(id) + (forget.checked ? '?forget=true' : ''), undefined, 'removed')),
        }), ' ',
        el('label', { class: 'check' }, forget, 'also forget its index and the old versions kept')),
      form,
      el('ul', { class: 'unshare-list' }),
      out);
    box.addEventListener('toggle', () => { if (box.open) fillFolderForm(form, box.closest('.folder').folderStatus); });
    return box;
  }

  // fillFolderForm shows a folder's settings in its form.
  function fillFolderForm(form, f) {
    if (!f) return;
    form.querySelector('.label-input').value = f.label || '';
    form.querySelector('.type-input').value = f.type;
    form.querySelector('.scan-input').value = f.scanInterval || '';
    form.querySelector('.path-input').value = '';
    form.dataset.label = f.label || '';
    form.dataset.type = f.type;
    form.dataset.scan = f.scanInterval || '';
  }

  function updateFolderControls(row, f) {
    row.folderStatus = f;
    setText(row, '.folder-id', f.label ? `${f.label} (${f.id})` : f.id);
    const btn = row.querySelector('.pause-toggle');
    const text = f.paused ? 'Resume' : 'Pause';
    if (btn.textContent !== text) btn.textContent = text;
    btn.dataset.paused = String(!!f.paused);
    const list = row.querySelector('.unshare-list');
    const key = f.devices.map((d) => d + '=' + deviceName(d)).join(',');
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.replaceChildren(...f.devices.map((d) => el('li', { 'data-device-id': d }, `Shared with ${deviceName(d)} `,
      el('button', {
        type: 'button', class: 'unshare secondary', text: 'Stop sharing',
        onclick: (ev) => armed(ev.target, `Click again to stop sharing with ${deviceName(d)}`,
          () => control(row.querySelector('.controls-result'), 'DELETE', folderPath(f.id) + '/devices/' + encodeURIComponent(d), undefined, 'no longer shared')),
      }))));
  }

  function togglePause(id, button, out) {
    const paused = button.dataset.paused === 'true';
    control(out, 'POST', folderPath(id) + (paused ? '/resume' : '/pause'), undefined, paused ? 'resumed' : 'paused');
  }

  // saveFolder sends the settings the form changed; a new path takes a
  // second click, since the folder then syncs what is there.
  function saveFolder(id, form, out) {
    const body = {};
    const label = form.querySelector('.label-input').value.trim();
    const type = form.querySelector('.type-input').value;
    const scan = form.querySelector('.scan-input').value.trim();
    const path = form.querySelector('.path-input').value.trim();
    if (label !== form.dataset.label) body.label = label;
    if (type !== form.dataset.type) body.type = type;
    if (scan !== form.dataset.scan) body.scanInterval = scan || '0';
    if (path) body.path = path;
    if (Object.keys(body).length === 0) { say(out, 'error', 'nothing changed'); return; }
    const send = async () => {
      await control(out, 'PATCH', folderPath(id), body, 'saved');
      if (out.dataset.state === 'ok') {
        form.dataset.label = label; form.dataset.type = type; form.dataset.scan = scan;
        form.querySelector('.path-input').value = '';
      }
    };
    if (!path) { send(); return; }
    armed(form.querySelector('.settings-save'), `Click again if the folder's directory is now ${path}`, send);
  }

  function deviceControls(d) {
    const out = el('span', { class: 'device-result', 'aria-live': 'polite', hidden: '' });
    const name = el('input', { class: 'rename-input', 'aria-label': 'Name', placeholder: 'name' });
    const addrs = el('input', { class: 'addrs-input', 'aria-label': 'Addresses', placeholder: 'host:port, … (empty: discover)', spellcheck: 'false' });
    const maxSend = el('input', { class: 'max-send-input', 'aria-label': 'Send at most, per second', placeholder: 'send: no limit (e.g. 2M)', spellcheck: 'false' });
    const maxRecv = el('input', { class: 'max-recv-input', 'aria-label': 'Receive at most, per second', placeholder: 'receive: no limit (e.g. 1M)', spellcheck: 'false' });
    const form = el('form', { class: 'device-form', autocomplete: 'off' }, name, addrs, maxSend, maxRecv,
      el('button', { type: 'submit', class: 'device-save', text: 'Save' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const list = addrs.value.split(',').map((a) => a.trim()).filter((a) => a);
      const send = parseRate(maxSend.value), recv = parseRate(maxRecv.value);
      if (send === null || recv === null) { say(out, 'error', 'a limit is bytes per second, like 500K, 2M or 0'); return; }
      control(out, 'PATCH', devicePath(d.id), { name: name.value.trim(), addrs: list, maxSend: send, maxRecv: recv }, 'saved');
    });
    const more = el('details', { class: 'device-more' }, el('summary', { text: 'Edit' }), form,
      el('button', {
        type: 'button', class: 'remove-device danger secondary', text: 'Remove device',
        onclick: (ev) => armed(ev.target, 'Click again: forget it and stop sharing with it',
          () => control(out, 'DELETE', devicePath(d.id), undefined, 'removed')),
      }));
    more.addEventListener('toggle', () => {
      const cur = more.closest('tr').deviceStatus;
      if (more.open && cur) {
        name.value = cur.name || '';
        addrs.value = (cur.addrs || []).join(', ');
        maxSend.value = rateText(cur.maxSend);
        maxRecv.value = rateText(cur.maxRecv);
      }
    });
    return el('td', { class: 'actions' },
      el('button', {
        type: 'button', class: 'device-pause secondary',
        onclick: (ev) => {
          const paused = ev.target.dataset.paused === 'true';
          control(out, 'PATCH', devicePath(d.id), { paused: !paused }, paused ? 'resumed' : 'paused');
        },
      }), ' ', more, ' ', out);
  }

  // parseRate reads a limit as ferry's CLI does: bytes per second with K, M
  // or G (1024-based) and an optional B or /s; empty is 0, no limit; null
  // when it is not one.
  function parseRate(s) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?\s*$/i.exec(s);
    if (s.trim() === '') return 0;
    if (!m) return null;
    return Math.round(parseFloat(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()));
  }

  // rateText shows a limit the way parseRate reads it back.
  function rateText(n) {
    if (!n) return '';
    for (const [u, f] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]]) if (n % f === 0) return (n / f) + u;
    return String(n);
  }

  function updateDeviceControls(row, d) {
    row.deviceStatus = d;
    const btn = row.querySelector('.device-pause');
    const text = d.paused ? 'Resume' : 'Pause';
    if (btn.textContent !== text) btn.textContent = text;
    btn.dataset.paused = String(!!d.paused);
  }

  // renderOffered lists the folders other devices share with this one that
  // it does not take, each with where to put it.
  function renderOffered(offered) {
    $('offered-section').hidden = offered.length === 0;
    syncRows($('offered-list'), offered, 'data-offer', (o) => o.device + '/' + o.folder,
      (o) => {
        const path = el('input', { class: 'offer-path', 'aria-label': `Where to put ${o.folder}`, spellcheck: 'false' });
        const out = el('span', { class: 'offer-result', 'aria-live': 'polite', hidden: '' });
        return el('li', { class: 'panel' }, el('p', { class: 'offer-text' }), path,
          el('p', {}, el('button', {
            type: 'button', class: 'offer-accept', text: 'Accept',
            onclick: () => control(out, 'POST', '/api/offered', { device: o.device, folder: o.folder, path: path.value.trim() }, 'accepted'),
          }), ' ', out));
      },
      (row, o) => {
        setText(row, '.offer-text', `${deviceName(o.device)} shares the folder “${o.folder}”` +
          (o.existing ? ': a folder here has this ID; accepting shares it with them.' : '. Put it in:'));
        const path = row.querySelector('.offer-path');
        path.hidden = o.existing;
        if (!path.placeholder) path.placeholder = `/home/me/${o.folder}`;
      });
  }

  // ---- pairing ----

  function renderPairFolders(folders) {
    const box = $('pair-folders');
    $('pair-folders-none').hidden = folders.length > 0;
    syncRows(box.querySelector('.choices') || box.appendChild(el('div', { class: 'choices' })),
      folders, 'data-folder-id', (f) => f.id,
      (f) => el('label', {}, el('input', { type: 'checkbox', value: f.id }), ' ', el('span')),
      (row, f) => setText(row, 'span', `${f.id} (${f.path})`));
  }

  // renderJoinExisting lists this device's folders, each with its path, for
  // the user to confirm joining an offered folder of the same ID into it.
  function renderJoinExisting(folders) {
    const box = $('join-existing');
    box.hidden = folders.length === 0;
    syncRows(box.querySelector('.choices') || box.appendChild(el('div', { class: 'choices' })),
      folders, 'data-folder-id', (f) => f.id,
      (f) => el('label', {}, el('input', { type: 'checkbox', value: f.id }), ' ', el('span')),
      (row, f) => setText(row, 'span', `${f.id} (${f.path})`));
  }

  async function showCode() {
    const folders = [...$('pair-folders').querySelectorAll('input:checked')].map((i) => i.value);
    try {
      const offer = await api('POST', '/api/pair', { folders });
      say($('pair-error'), '', '');
      view.shownCode = offer.code;
      renderOffer(offer);
    } catch (e) {
      say($('pair-error'), 'error', e.message);
    }
  }

  async function cancelCode() {
    try {
      await api('DELETE', '/api/pair');
    } catch (e) {
      say($('pair-error'), 'error', e.message);
    }
    refresh();
  }

  const offerWords = {
    waiting: () => 'waiting for the other device to enter the code',
    paired: (o) => `paired with ${o.peerName || shortID(o.peer)}`,
    failed: (o) => `failed: ${o.error || 'a wrong code was tried'}; show a new code`,
    expired: () => 'expired; show a new code',
    canceled: () => 'canceled',
  };

  function renderOffer(o) {
    view.offer = o;
    if (o.code && o.state === 'waiting') view.shownCode = o.code;
    const shown = o.code !== '' && o.code === view.shownCode;
    $('pair-offer').hidden = !shown;
    $('pair-cancel').hidden = !shown || o.state !== 'waiting';
    if (!shown) return;
    setText(document, '#pair-code', o.code);
    const qr = $('pair-qr');
    const src = o.qrSvg ? 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(o.qrSvg) : '';
    if (qr.getAttribute('src') !== src) qr.setAttribute('src', src);
    qr.hidden = src === '' || o.state !== 'waiting';
    const state = $('pair-state');
    state.dataset.state = o.state;
    setText(document, '#pair-state', (offerWords[o.state] || (() => o.state))(o));
    renderExpiry();
  }

  function renderExpiry() {
    const o = view.offer;
    let text = '';
    if (o && o.state === 'waiting' && o.expiresAt) {
      const left = Math.max(0, Math.round((Date.parse(o.expiresAt) - Date.now()) / 1000));
      text = left < 3600
        ? `· expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`
        : `· expires in ${duration(left)}`;
    }
    setText(document, '#pair-expiry', text);
  }

  async function join(ev) {
    ev.preventDefault();
    const out = $('join-result');
    const req = {
      code: $('join-code').value.trim(), addr: $('join-addr').value.trim(), into: $('join-into').value.trim(),
      existing: [...$('join-existing').querySelectorAll('input:checked')].map((i) => i.value),
    };
    $('join-submit').disabled = true;
    say(out, 'busy', 'Looking for the device showing this code…');
    try {
      showJoined(await api('POST', '/api/pair/join', req));
    } catch (e) {
      say(out, 'error', e.message);
    } finally {
      $('join-submit').disabled = false;
    }
    refresh();
  }

  function showJoined(res) {
    const out = $('join-result');
    say(out, 'ok', `Paired with ${res.name || shortID(res.device)} (${shortID(res.device)}).`);
    const lines = res.folders.map((f) => el('li', { text: `${f.id} → ${f.path}` }));
    if (lines.length) out.append(el('p', { text: 'Folders now shared:' }), el('ul', { class: 'joined' }, ...lines));
    if (res.declined.length) {
      out.append(el('p', { class: 'muted declined', text: `Not accepted: ${res.declined.join(', ')}. Fill in “Put shared folders under” to accept offered folders.` }));
    }
    const mine = (res.unconfirmed || []).map((f) => el('li', { text: `${f.id}: yours is ${f.path}` }));
    if (mine.length) {
      out.append(el('p', { text: 'Not joined, since you have folders with these IDs and did not tick them:' }),
        el('ul', { class: 'unconfirmed' }, ...mine),
        el('p', { class: 'muted', text: 'To sync one with the other device, tick it under “Join into folders you already have” and pair again with a new code.' }));
    }
  }

  // ---- folders ----

  async function addFolder(ev) {
    ev.preventDefault();
    const out = $('folder-add-result');
    const req = { path: $('folder-add-path').value.trim(), id: $('folder-add-id').value.trim(), type: $('folder-add-type').value };
    try {
      const res = await api('POST', '/api/folders', req);
      say(out, 'ok', `Added folder ${res.id}.`);
      $('folder-add-path').value = '';
      $('folder-add-id').value = '';
    } catch (e) {
      say(out, 'error', e.message);
    }
    refresh();
  }

  async function copyID() {
    const id = $('device-id').textContent;
    try {
      await navigator.clipboard.writeText(id);
      $('device-id-copied').textContent = 'copied';
    } catch (e) {
      getSelection().selectAllChildren($('device-id'));
      $('device-id-copied').textContent = 'selected: press Ctrl+C to copy';
    }
    setTimeout(() => { $('device-id-copied').textContent = ''; }, 2000);
  }

  // ---- history ----
  // A folder's history: the moments this device replaced kept versions, the
  // folder as it was just before one of them, and restores of one file or of
  // the whole folder. Nothing here is polled: it loads when asked.

  const hist = { folder: '', moment: '', labels: new Map(), seq: 0, pending: null };

  // before returns the RFC 3339 time one nanosecond before ts. A version
  // kept at a moment was the file until then, so the folder just before the
  // moment still holds it. Date counts milliseconds, too coarse to tell
  // moments apart, so the nanoseconds are counted here.
  function before(ts) {
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
    if (!m) return ts;
    const ns = BigInt(Date.parse(m[1] + m[3])) * 1000000n + BigInt((m[2] || '').padEnd(9, '0')) - 1n;
    const sec = ns / 1000000000n;
    return new Date(Number(sec) * 1000).toISOString().slice(0, 19) + '.' +
      String(ns - sec * 1000000000n).padStart(9, '0') + 'Z';
  }

  const timeOpts = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' };
  const when = (ts, ms) => new Date(ts).toLocaleString(undefined, ms ? { ...timeOpts, fractionalSecondDigits: 3 } : timeOpts);

  // momentLabels words each moment, with milliseconds where two neighbours
  // would read alike.
  function momentLabels(ms) {
    const plain = ms.map((m) => when(m));
    return ms.map((m, i) => (plain[i] === plain[i - 1] || plain[i] === plain[i + 1] ? when(m, true) : plain[i]));
  }

  const momentText = (m) => (m ? 'just before ' + (hist.labels.get(m) || when(m, true)) : 'now');

  // deviceByShort names the device with the short ID the history gives: the
  // first 28 bits of its ID in hex.
  function deviceByShort(short) {
    if (!short || !view.status) return short || '';
    const hex = (id) => {
      let v = 0;
      for (const c of id.replace(/-/g, '').slice(0, 6)) v = v * 32 + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(c);
      return Math.floor(v / 4).toString(16).toUpperCase().padStart(7, '0');
    };
    if (hex(view.status.device.id) === short) return 'this device';
    const d = view.status.devices.find((x) => hex(x.id) === short);
    return d ? d.name || shortID(d.id) : short;
  }

  function openHistory(folder) {
    hist.folder = folder;
    hist.labels = new Map();
    $('history-folder').textContent = folder;
    $('history-moments').replaceChildren();
    $('history-versions').hidden = true;
    $('history-confirm').hidden = true;
    $('history-to').value = '';
    $('history-exact').checked = false;
    $('history-progress').hidden = true;
    say($('history-all-result'), '', '');
    $('history').hidden = false;
    $('history').scrollIntoView();
    loadMoments();
    showMoment('');
  }

  function closeHistory() {
    hist.folder = '';
    hist.seq++;
    $('history').hidden = true;
  }

  // loadMoments lists the moments, "now" first, keeping the chosen one.
  async function loadMoments() {
    const folder = hist.folder;
    let ms;
    try {
      ms = await api('GET', '/api/history/moments?' + new URLSearchParams({ folder }));
    } catch (e) {
      if (folder === hist.folder) say($('history-msg'), 'error', e.message);
      return;
    }
    if (folder !== hist.folder) return;
    const labels = momentLabels(ms);
    hist.labels = new Map(ms.map((m, i) => [m, labels[i]]));
    $('history-moments-none').hidden = ms.length > 0;
    syncRows($('history-moments'), ['', ...ms], 'data-at', (m) => m,
      (m) => el('li', {}, el('button', { type: 'button', class: 'moment', onclick: () => showMoment(m) })),
      (row, m) => {
        row.firstChild.textContent = momentText(m);
        row.firstChild.title = m || 'the folder as it is now';
      });
    markMoment();
  }

  function markMoment() {
    for (const li of $('history-moments').children) {
      li.firstChild.setAttribute('aria-pressed', String(li.dataset.at === hist.moment));
    }
  }

  // showMoment lists the folder as it was just before moment m ('' for now).
  async function showMoment(m) {
    hist.moment = m;
    const seq = ++hist.seq;
    markMoment();
    setText(document, '#history-when', 'The folder ' + momentText(m));
    setText(document, '#history-all-when', m ? momentText(m) : 'at a moment (choose one)');
    $('history-restore-all').disabled = m === '';
    $('history-confirm').hidden = true;
    $('history-versions').hidden = true;
    say($('history-msg'), 'busy', 'Loading…');
    const q = { folder: hist.folder };
    if (m) q.at = before(m);
    let files;
    try {
      files = await api('GET', '/api/history?' + new URLSearchParams(q));
    } catch (e) {
      if (seq === hist.seq) {
        say($('history-msg'), 'error', e.message);
        $('history-body').replaceChildren();
      }
      return;
    }
    if (seq !== hist.seq) return;
    say($('history-msg'), '', '');
    $('history-empty').hidden = files.length > 0;
    $('history-files').hidden = files.length === 0;
    $('history-body').replaceChildren(...files.map(fileRow));
  }

  const kindTitles = {
    current: 'the file as it is now',
    edited: 'kept: a newer version from another device replaced it',
    deleted: 'kept: another device deleted it',
    'conflict copy': 'kept: it lost a conflict with another device\'s version',
    reverted: 'kept: a change made here that was undone',
  };

  // kindCell says what a version is: the current file, or how it left the
  // folder and whose change made it leave.
  function kindCell(v) {
    const by = deviceByShort(v.by);
    return el('td', { title: kindTitles[v.kind] || '' },
      el('span', { class: 'kind', 'data-kind': v.kind, text: v.kind }),
      el('span', { class: 'by muted', text: by ? (v.kind === 'current' ? ` · made by ${by}` : ` · by ${by}`) : '' }));
  }

  // restoreButton restores version v of name in place when clicked; the
  // current version (ID 0) has nothing to restore.
  function restoreButton(name, v, done) {
    const b = el('button', { type: 'button', class: 'restore', text: 'Restore', 'data-version': String(v.id) });
    b.disabled = v.id === 0;
    b.title = v.id === 0 ? 'This is the file as it is now' : 'Put this version back in the folder';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        done(await api('POST', '/api/restore', { folder: hist.folder, name, version: v.id }), null);
      } catch (e) {
        done(null, e);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  const restoredFile = (r) => `restored ${bytes(r.size)} to ${r.path}`;

  function fileRow(f) {
    const out = el('span', { class: 'result', 'aria-live': 'polite', hidden: '' });
    const done = (res, err) => {
      say(out, err ? 'error' : 'ok', err ? err.message : restoredFile(res));
      if (res) loadMoments();
    };
    return el('tr', { 'data-name': f.name, 'data-version': String(f.id) },
      el('td', { class: 'name' }, el('code', { text: f.name })),
      el('td', { class: 'size num', text: bytes(f.size) }),
      el('td', { class: 'mtime', text: new Date(f.modTime).toLocaleString() }),
      kindCell(f),
      el('td', { class: 'actions' }, restoreButton(f.name, f, done), ' ',
        el('button', { type: 'button', class: 'versions secondary', text: 'Versions', onclick: () => showVersions(f.name) }),
        ' ', out));
  }

  // showVersions lists every version of name, each with a way back, and
  // then shows note, if any.
  async function showVersions(name, note) {
    const box = $('history-versions'), msg = $('history-versions-msg');
    const key = hist.folder + '\n' + name;
    box.dataset.key = key;
    box.hidden = false;
    $('history-versions-name').textContent = name;
    say(msg, 'busy', 'Loading…');
    let vs;
    try {
      vs = await api('GET', '/api/versions?' + new URLSearchParams({ folder: hist.folder, name }));
    } catch (e) {
      if (box.dataset.key === key) say(msg, 'error', e.message);
      return;
    }
    if (box.dataset.key !== key) return;
    const done = (res, err) => (err ? say(msg, 'error', err.message) : showVersions(name, restoredFile(res)));
    $('history-versions-body').replaceChildren(...vs.map((v) => el('tr', { 'data-version-id': String(v.id) },
      el('td', { class: 'mtime', text: new Date(v.modTime).toLocaleString() }),
      el('td', { class: 'size num', text: bytes(v.size) }),
      el('td', { class: 'until', text: v.until ? new Date(v.until).toLocaleString() : '—' }),
      kindCell(v),
      el('td', { class: 'actions' }, restoreButton(name, v, done)))));
    if (note) say(msg, 'ok', note);
    else say(msg, '', vs.length ? '' : 'This device has no version of it.');
    if (note) loadMoments();
    box.scrollIntoView({ block: 'nearest' });
  }

  // restoreAll restores the whole folder as it was at the chosen moment:
  // into a directory at once, in place only once the user confirms it.
  function restoreAll(ev) {
    ev.preventDefault();
    const out = $('history-all-result');
    if (!hist.moment) {
      say(out, 'error', 'choose a moment first');
      return;
    }
    const req = { folder: hist.folder, at: before(hist.moment) };
    const to = $('history-to').value.trim();
    if (to) {
      $('history-confirm').hidden = true;
      runRestoreAll({ ...req, to });
      return;
    }
    req.exact = $('history-exact').checked;
    hist.pending = req;
    setText(document, '#history-confirm-text',
      `Put every file of ${hist.folder} back as it was ${momentText(hist.moment)}? What is there now is kept in the history first. ` +
      (req.exact ? 'Files made after that moment are removed (and kept in the history).' : 'Files made after that moment stay.'));
    $('history-confirm').hidden = false;
    say(out, '', '');
  }

  function confirmRestoreAll() {
    $('history-confirm').hidden = true;
    const req = hist.pending;
    hist.pending = null;
    if (req && req.folder === hist.folder) runRestoreAll(req);
  }

  async function runRestoreAll(req) {
    const out = $('history-all-result'), bar = $('history-progress'), button = $('history-restore-all');
    const live = () => hist.folder === req.folder;
    button.disabled = true;
    bar.value = 0;
    bar.hidden = false;
    say(out, 'busy', 'Restoring…');
    try {
      const res = await restoreFolder(req, (p) => {
        if (!live()) return;
        bar.value = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.files / Math.max(1, p.totalFiles);
        say(out, 'busy', `${p.files} of ${p.totalFiles} files, ${bytes(p.bytes)} of ${bytes(p.totalBytes)}`);
      });
      if (live()) say(out, 'ok', restoredFolder(res, req));
      loadMoments();
    } catch (e) {
      if (live()) say(out, 'error', e.message);
    } finally {
      if (live()) {
        button.disabled = !hist.moment;
        bar.hidden = true;
      }
    }
  }

  const nFiles = (n) => (n === 1 ? '1 file' : `${n} files`);

  function restoredFolder(r, req) {
    let s = `restored ${nFiles(r.files)}, ${bytes(r.bytes)} ${req.to ? 'into' : 'in'} ${r.path}`;
    if (r.unchanged) s += `; ${nFiles(r.unchanged)} already as ${r.unchanged === 1 ? 'it was' : 'they were'}`;
    if (r.removed) s += `; removed ${nFiles(r.removed)} made after`;
    return s;
  }

  // restoreFolder asks for a folder restore and reads its answer as it
  // comes, one JSON line at a time: progress, then a result or an error.
  async function restoreFolder(req, progress) {
    const resp = await send('POST', '/api/restore/folder', req);
    if (!resp.ok) throw failure(resp, await resp.json().catch(() => null));
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      buf += dec.decode(value || new Uint8Array(), { stream: !done });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg;
        try {
          msg = JSON.parse(line);
        } catch (e) {
          throw new Error('the daemon sent a line that is not JSON: ' + line.slice(0, 80));
        }
        if (msg.progress) progress(msg.progress);
        else if (msg.result) return msg.result;
        else if (msg.error) throw new Error(msg.error);
      }
      if (done) throw new Error('the daemon\'s answer ended before the restore did');
    }
  }

  // ---- conflicts ----
  // When two devices changed a file at once, the losing version is kept
  // beside it as a conflict copy. The list is fetched when the status's
  // conflict counts change, after a resolution, and every conflictsEvery
  // otherwise; a card that is listed again keeps its element, so an open
  // confirmation survives the refresh.

  const conflictsEvery = 10000;
  const conflicts = { sig: '', at: 0, busy: false, types: {}, cards: new Map() };

  function conflictsChanged(st) {
    conflicts.types = Object.fromEntries(st.folders.map((f) => [f.id, f.type]));
    const sig = st.folders.map((f) => `${f.id}:${f.conflicts}`).join(',');
    const due = sig !== conflicts.sig || (conflicts.cards.size > 0 && Date.now() - conflicts.at > conflictsEvery);
    conflicts.sig = sig;
    if (due && !conflicts.busy) loadConflicts();
  }

  async function loadConflicts() {
    conflicts.busy = true;
    try {
      renderConflicts(await api('GET', '/api/conflicts'));
      conflicts.at = Date.now();
    } catch (e) {
      say($('conflicts-msg'), 'error', e.message);
    } finally {
      conflicts.busy = false;
    }
  }

  const conflictKey = (c) => c.folder + '\u0000' + c.copy.name;

  function renderConflicts(list) {
    const seen = new Set();
    const body = $('conflicts-list');
    for (const c of list) {
      const key = conflictKey(c);
      seen.add(key);
      let card = conflicts.cards.get(key);
      if (!card) {
        card = conflictCard(c);
        conflicts.cards.set(key, card);
      }
      updateConflictCard(card, c);
      body.append(card.el); // in the daemon's order
    }
    for (const [key, card] of conflicts.cards) {
      if (!seen.has(key)) {
        card.el.remove();
        conflicts.cards.delete(key);
      }
    }
    $('conflicts-section').hidden = list.length === 0 && $('conflicts-msg').hidden;
    $('conflicts-count').textContent = list.length === 1 ? '1 file' : `${list.length} files`;
  }

  function conflictSide(which, label) {
    return el('div', { class: `version ${which}` },
      el('p', { class: 'label', text: label }),
      el('p', { class: 'name' }),
      el('p', { class: 'by' }),
      el('p', { class: 'when muted' }),
      el('button', { type: 'button', class: 'keep', text: 'Keep this one' }));
  }

  function conflictCard(c) {
    const card = { el: null, c };
    const orig = conflictSide('original', 'In the file now');
    const copy = conflictSide('copy', 'Conflict copy');
    card.el = el('article', { class: 'conflict panel', 'data-folder': c.folder, 'data-copy': c.copy.name },
      el('h3', {}, el('code', { class: 'file' }), ' ', el('span', { class: 'folder muted' })),
      el('div', { class: 'versions' }, orig, copy),
      el('p', { class: 'both-line' },
        el('button', { type: 'button', class: 'keep-both secondary', text: 'Keep both' }),
        ' ', el('span', { class: 'muted', text: 'the copy gets an ordinary name beside the file' })),
      el('div', { class: 'confirm', hidden: '' },
        el('p', { class: 'confirm-text warn' }),
        el('button', { type: 'button', class: 'confirm-yes danger', text: 'Keep it' }), ' ',
        el('button', { type: 'button', class: 'confirm-no secondary', text: 'Cancel' })),
      el('p', { class: 'result', hidden: '' }));
    orig.querySelector('.keep').addEventListener('click', () => askKeep(card, 'original'));
    copy.querySelector('.keep').addEventListener('click', () => askKeep(card, 'copy'));
    card.el.querySelector('.keep-both').addEventListener('click', () => resolveConflict(card, 'both'));
    card.el.querySelector('.confirm-yes').addEventListener('click', () => resolveConflict(card, card.pending));
    card.el.querySelector('.confirm-no').addEventListener('click', () => { card.el.querySelector('.confirm').hidden = true; });
    return card;
  }

  const madeBy = (v) => v.deviceName || (v.device || '').slice(0, 7) || 'an unknown device';

  function describeVersion(v) {
    return v.exists ? `by ${madeBy(v)}, modified ${new Date(v.modTime).toLocaleString()}, ${bytes(v.size)}` : 'deleted since';
  }

  function updateConflictCard(card, c) {
    const changed = card.c.copy.version !== c.copy.version || card.c.original.version !== c.original.version;
    card.c = c;
    const root = card.el;
    setText(root, '.file', c.original.name);
    setText(root, '.folder', `in ${c.folder}`);
    for (const [which, v] of [['original', c.original], ['copy', c.copy]]) {
      const side = root.querySelector(`.version.${which}`);
      setText(side, '.name', which === 'copy' ? v.name : '');
      setText(side, '.by', v.exists ? `by ${madeBy(v)}` : 'deleted since');
      setText(side, '.when', v.exists ? `modified ${new Date(v.modTime).toLocaleString()} · ${bytes(v.size)}` : '');
    }
    if (changed) root.querySelector('.confirm').hidden = true;
    const readOnly = conflicts.types[c.folder] === 'receive-only';
    for (const b of root.querySelectorAll('.keep, .keep-both')) b.disabled = readOnly;
    if (readOnly) say(root.querySelector('.result'), '', 'This folder is receive-only: resolve the conflict on a device that sends changes.');
  }

  // askKeep asks before a version leaves the folder.
  function askKeep(card, keep) {
    const c = card.c;
    const gone = keep === 'copy' ? c.original : c.copy;
    const kept = keep === 'copy' ? c.copy : c.original;
    card.pending = keep;
    let text = `Keep the version ${describeVersion(kept)}. `;
    text += gone.exists ? `The other one (${describeVersion(gone)}) leaves the folder on every device; it stays in this device's history and can be restored from there.`
      : 'The conflict copy goes; it stays in this device\'s history.';
    if (keep === 'original' && !c.original.exists) text = `Remove the conflict copy (${describeVersion(c.copy)}): ${c.original.name} stays deleted. The copy stays in this device's history.`;
    setText(card.el, '.confirm-text', text);
    card.el.querySelector('.confirm').hidden = false;
    card.el.querySelector('.confirm-yes').focus();
  }

  async function resolveConflict(card, keep) {
    const c = card.c;
    const buttons = card.el.querySelectorAll('button');
    for (const b of buttons) b.disabled = true;
    card.el.querySelector('.confirm').hidden = true;
    const req = { folder: c.folder, copy: c.copy.name, keep, copyVersion: c.copy.version, originalVersion: c.original.version };
    try {
      const res = await api('POST', '/api/conflicts/resolve', req);
      const done = keep === 'both' ? `Kept both: the copy is now ${res.name}.`
        : `Kept ${keep === 'copy' ? 'the conflict copy' : 'the file'} as ${res.name}; the other version is in the history.`;
      say($('conflicts-msg'), 'ok', done);
    } catch (e) {
      say(card.el.querySelector('.result'), 'error', e.message);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
    loadConflicts();
  }

  // ---- polling ----

  async function poll() {
    try {
      const [st, offer] = await Promise.all([api('GET', '/api/status'), api('GET', '/api/pair')]);
      say($('conn-error'), '', '');
      renderStatus(st);
      renderOffer(offer);
      conflictsChanged(st);
    } catch (e) {
      if (e.status === 401) {
        showSignIn('The daemon no longer knows this browser (its key changed?).');
        return;
      }
      say($('conn-error'), 'error', e.message);
    }
    schedule(document.hidden ? 5 * pollEvery : pollEvery);
  }

  function schedule(ms) {
    clearTimeout(view.timer);
    view.timer = setTimeout(poll, ms);
  }

  const refresh = () => schedule(0);

  $('pair-show').addEventListener('click', showCode);
  $('pair-cancel').addEventListener('click', cancelCode);
  $('join-form').addEventListener('submit', join);
  $('folder-add').addEventListener('submit', addFolder);
  $('device-id-copy').addEventListener('click', copyID);
  $('history-close').addEventListener('click', closeHistory);
  $('history-versions-close').addEventListener('click', () => { $('history-versions').hidden = true; });
  $('history-all').addEventListener('submit', restoreAll);
  $('history-confirm-yes').addEventListener('click', confirmRestoreAll);
  $('history-confirm-no').addEventListener('click', () => { $('history-confirm').hidden = true; });
  for (const id of ['history-to', 'history-exact']) $(id).addEventListener('input', () => { $('history-confirm').hidden = true; });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn($('signin-key').value.trim());
  });
  setInterval(renderExpiry, 1000);
  start();
})();
