// The admins' recordings page: sign in, list one account's recordings over a date window with
// filters, play, download, soft delete, restore and delete them, alone or in bulk. Only the
// public API (/v2/accounts/{id}/recordings…) is used.

import {
  ApiError, Client, buildQuery, fetchPage, firstCursors, followEvents, fromGregorian, maxRangeFromError, SLICE_SECONDS, toGregorian,
} from './api.js';

const TOKEN_KEY = 'recordingsd.token'; // sessionStorage: this tab only, gone when it closes
const ACCOUNT_KEY = 'recordingsd.account'; // localStorage: remembered across visits
const DAY_MS = 86400000;

const $ = (id) => document.getElementById(id);

const state = {
  client: null,
  config: { demo_token: '', demo_account_id: '' },
  query: null,
  pageSize: 25,
  pages: [], // pages[i]: the cursors that start page i
  pageIndex: 0,
  next: null, // cursors of the page after the current one
  items: [],
  selected: new Set(),
  rowErrors: new Map(), // id -> why the last action on it failed
  owners: new Map(), // owner id -> a name seen on its calls
  playing: '',
  loading: null, // AbortController of the listing in flight
  width: SLICE_SECONDS,
  live: null, // AbortController of the account's event stream
  liveAccount: '',
  arrived: new Set(), // ids of rows that came from the stream since the last listing
  pending: [], // events that came while a listing was in flight: applied once it lands
};

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

// h builds an element: h('td', {class: 'x', onclick: f}, child, 'text', …).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ---- dates ------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');
const isoDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

function parseDay(value, endOfDay) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (endOfDay) d.setHours(23, 59, 59, 999);
  return d;
}

function setLastDays(days) {
  const today = new Date();
  $('to').value = isoDay(today);
  $('from').value = isoDay(new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1)));
  for (const b of document.querySelectorAll('.presets button')) {
    b.setAttribute('aria-pressed', String(Number(b.dataset.days) === days));
  }
}

function formatDuration(doc) {
  let s = Number(doc.duration_ms) > 0 ? Math.round(Number(doc.duration_ms) / 1000) : Number(doc.duration);
  if (!Number.isFinite(s) || s < 0) return '–';
  s = Math.round(s);
  return `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}

function startOf(doc) {
  const g = Number(doc.start);
  return Number.isFinite(g) && g > 0 ? new Date(fromGregorian(g)) : null;
}

// ---- sign in ----------------------------------------------------------------------------

async function init() {
  $('tz').textContent = `(${timeZone})`;
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) Object.assign(state.config, await res.json());
  } catch { /* no demo prefill */ }
  const account = localStorage.getItem(ACCOUNT_KEY) || state.config.demo_account_id || '';
  $('account').value = account;
  $('signin-account').value = account;
  setLastDays(7);
  wire();

  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token && account) {
    // Back in the same tab: list at once. Only a refused token (401) asks to sign in again.
    signedIn(token);
    await reload(false);
  } else {
    showSignIn('');
  }
}

function showSignIn(message, { refused = false } = {}) {
  stopLive();
  state.client = null;
  sessionStorage.removeItem(TOKEN_KEY);
  closePlayer();
  $('app').hidden = true;
  $('who').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  const prefill = Boolean(state.config.demo_token) && !refused;
  $('demo-hint').hidden = !prefill;
  $('token').value = prefill ? state.config.demo_token : '';
  if (!$('signin-account').value) $('signin-account').value = $('account').value;
  const err = $('signin-error');
  err.hidden = !message;
  err.textContent = message || '';
  ($('token').value ? $('signin-submit') : $('token')).focus();
}

function signedIn(token) {
  state.client = new Client(token);
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  updateWho();
}

function updateWho() {
  const a = $('account').value.trim();
  $('who').hidden = !a;
  $('who').textContent = a ? `Account ${a}` : '';
}

async function onSignIn(ev) {
  ev.preventDefault();
  const token = $('token').value.trim();
  const account = $('signin-account').value.trim();
  if (!token || !account) return;
  $('account').value = account;
  const submit = $('signin-submit');
  submit.disabled = true;
  submit.textContent = 'Signing in…';
  $('signin-error').hidden = true;
  try {
    // The first listing proves the token on this account; the form stays until it answers.
    state.client = new Client(token);
    if (await reload(true)) {
      signedIn(token);
      localStorage.setItem(ACCOUNT_KEY, account.toLowerCase());
      $('results').focus();
    }
  } finally {
    submit.disabled = false;
    submit.textContent = 'Sign in';
  }
}

function tokenRefused(err) {
  showSignIn(`The service refused the token (${err.message}). It has expired or is not valid: sign in again.`, { refused: true });
}

// ---- listing ----------------------------------------------------------------------------

function readQuery() {
  const account = $('account').value.trim();
  const from = parseDay($('from').value, false);
  const to = parseDay($('to').value, true);
  if (!/^[0-9a-fA-F]{32}$/.test(account)) return { error: 'The account id is 32 hexadecimal characters.' };
  if (!from || !to) return { error: 'Pick both dates of the window.' };
  if (from > to) return { error: '“From” is after “To”: pick a window that starts before it ends.' };
  state.pageSize = Number($('page-size').value) || 25;
  return {
    query: buildQuery({
      account: account.toLowerCase(),
      user: $('user').value.trim(),
      from: toGregorian(from.getTime()),
      to: toGregorian(to.getTime()),
      direction: $('direction').value,
      number: $('number').value,
      numberField: $('number-field').value,
      includeDeleted: $('show-deleted').checked,
      width: state.width,
    }),
  };
}

// reload lists from the first page with the filters of the form; returns whether it worked.
async function reload(fromSignIn) {
  const { query, error } = readQuery();
  if (error) {
    if (fromSignIn) showSignIn(error);
    else showState('error', error);
    return false;
  }
  state.query = query;
  if (state.liveAccount !== query.account) startLive(query.account);
  state.pages = [firstCursors(query)];
  state.pageIndex = 0;
  state.selected.clear();
  state.rowErrors.clear();
  updateWho();
  return loadPage({ fromSignIn });
}

// loadPage lists the page state.pageIndex (again, after a change); returns whether it worked.
async function loadPage({ fromSignIn = false, keepNotice = false } = {}) {
  if (state.loading) state.loading.abort();
  const ctl = new AbortController();
  state.loading = ctl;
  if (!keepNotice) hideNotice();
  setLoading(true);
  try {
    const cursors = state.pages[state.pageIndex];
    const page = await fetchPage(state.client, state.query, cursors, state.pageSize, ctl.signal);
    if (ctl.signal.aborted) return false;
    state.items = page.items;
    state.arrived.clear();
    state.next = page.next;
    state.pages.length = state.pageIndex + 1;
    for (const id of [...state.selected]) if (!page.items.some((d) => d.id === id)) state.selected.delete(id);
    learnOwners(page.items);
    render();
    for (const e of state.pending.splice(0)) applyEvent(e);
    return true;
  } catch (err) {
    if (err.name === 'AbortError') return false;
    if (err instanceof ApiError && err.unauthorized) {
      tokenRefused(err);
      return false;
    }
    const max = maxRangeFromError(err);
    if (max > 0 && max < state.width) {
      // This server allows narrower windows than the stock 31 days: slice to its size.
      state.width = max;
      state.loading = null;
      return reload(fromSignIn);
    }
    if (fromSignIn) {
      showSignIn(`Could not list the recordings of this account: ${describe(err)}`);
      return false;
    }
    state.items = [];
    state.next = null;
    render();
    showState('error', `Could not list the recordings: ${describe(err)}`);
    return false;
  } finally {
    if (state.loading === ctl) {
      state.loading = null;
      setLoading(false);
    }
  }
}

function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 403) return `${err.message} — this token may not act on account ${state.query?.account || ''}.`;
    const cause = err.envelope?.data?.cause;
    if (err.status === 404 && cause && cause === state.query?.account) {
      return `404 ${err.envelope.message}: there is no account ${cause}.`;
    }
    if (err.status === 404 && cause && cause === state.query?.user) {
      return `404 ${err.envelope.message}: there is no user ${cause} in this account.`;
    }
    return err.message;
  }
  return String(err?.message || err);
}

function learnOwners(items) {
  for (const d of items) {
    if (!d.owner_id || state.owners.has(d.owner_id)) continue;
    const name = d.direction === 'outbound' ? d.caller_id_name : d.callee_id_name;
    state.owners.set(d.owner_id, name || '');
  }
  const list = $('owners');
  list.replaceChildren(...[...state.owners].map(([id, name]) => h('option', { value: id, label: name ? `${name} (${id.slice(0, 8)}…)` : id })));
}

function setLoading(on) {
  $('table').setAttribute('aria-busy', String(on));
  $('results').classList.toggle('loading', on);
  if (on) {
    showState('loading', 'Loading recordings…');
    $('prev').disabled = true;
    $('next').disabled = true;
  }
}

function showState(kind, text) {
  const el = $('state');
  el.className = `state ${kind}`;
  el.dataset.kind = kind;
  el.replaceChildren(...(Array.isArray(text) ? text : [text]));
  el.hidden = !text;
}

function describeWindow() {
  const q = state.query;
  const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
  const parts = [`${day.format(new Date(fromGregorian(q.from)))} – ${day.format(new Date(fromGregorian(q.to)))}`];
  if (q.user) parts.push(`user ${state.owners.get(q.user) || q.user}`);
  if ($('direction').value) parts.push($('direction').value);
  if ($('number').value.trim()) parts.push(`number ${$('number').value.trim()} as ${$('number-field').selectedOptions[0].text}`);
  if (!$('show-deleted').checked) parts.push('soft-deleted hidden');
  return parts.join(' · ');
}

// ---- rendering --------------------------------------------------------------------------

function render() {
  const rows = state.items.map(renderRow);
  $('rows').replaceChildren(...rows);
  const n = state.items.length;
  $('summary').textContent = state.query ? describeWindow() : '';
  if (n === 0) {
    const where = state.pageIndex > 0 ? 'No more recordings.' : 'No recordings match.';
    showState('empty', [h('strong', {}, where), ' ',
      `Searched: ${describeWindow()}. Widen the date window, clear the filters, or tick “Show soft-deleted”.`]);
  } else {
    const first = state.pageIndex * state.pageSize + 1;
    showState('ok', `Recordings ${first}–${first + n - 1}, newest first${state.next ? '' : ' (the last of this window)'}.`);
  }
  $('table').hidden = n === 0;
  $('page-label').textContent = `Page ${state.pageIndex + 1}`;
  $('prev').disabled = state.pageIndex === 0;
  $('next').disabled = !state.next;
  renderBulk();
}

function party(name, number) {
  return [h('span', { class: 'name' }, name || '—'), h('span', { class: 'number' }, number || '')];
}

function renderRow(doc) {
  const id = doc.id;
  const deleted = Boolean(doc.soft_delete);
  const start = startOf(doc);
  const hasAudio = (doc._read_only?.content_types || []).length > 0 || Boolean(doc.content_type);
  const desc = `${start ? dateTime.format(start) : id}, ${doc.caller_id_name || doc.caller_id_number || 'unknown'} to ${doc.callee_id_name || doc.callee_id_number || 'unknown'}`;
  const failure = state.rowErrors.get(id);
  const ownerName = doc.owner_id ? state.owners.get(doc.owner_id) : '';
  const deletedAt = deleted && Number(doc.soft_delete.deleted_at) ? dateTime.format(new Date(fromGregorian(doc.soft_delete.deleted_at))) : '';

  const act = (label, cls, fn, extra = {}) => h('button', { type: 'button', class: cls, onclick: fn, 'aria-label': `${label}: ${desc}`, ...extra }, label);
  return h('tr', {
    dataset: { id, start: String(doc.start || ''), state: deleted ? 'soft-deleted' : 'active' },
    class: [deleted ? 'is-deleted' : '', state.playing === id ? 'is-playing' : '', state.selected.has(id) ? 'is-selected' : '',
      state.arrived.has(id) ? 'is-new' : ''].join(' ').trim(),
  },
  h('td', { class: 'sel' }, h('input', {
    type: 'checkbox', 'aria-label': `Select ${desc}`, checked: state.selected.has(id),
    onchange: (e) => { toggleSelected(id, e.target.checked); },
  })),
  h('td', { class: 'start', 'data-label': 'Start' }, start ? h('time', { datetime: start.toISOString() }, dateTime.format(start)) : '—'),
  h('td', { class: 'party', 'data-label': 'Caller' }, party(doc.caller_id_name, doc.caller_id_number)),
  h('td', { class: 'party', 'data-label': 'Callee' }, party(doc.callee_id_name, doc.callee_id_number)),
  h('td', { class: 'direction', 'data-label': 'Direction' }, doc.direction === 'outbound' ? '↗ outbound' : doc.direction === 'inbound' ? '↘ inbound' : (doc.direction || '—')),
  h('td', { class: 'num', 'data-label': 'Duration' }, formatDuration(doc)),
  h('td', { class: 'owner', 'data-label': 'Owner' }, doc.owner_id
    ? [h('span', { class: 'name' }, ownerName || 'user'), h('span', { class: 'id', title: doc.owner_id }, `${doc.owner_id.slice(0, 8)}…`)]
    : h('span', { class: 'none' }, 'no owner')),
  h('td', { class: 'state-cell', 'data-label': 'State' },
    h('span', { class: `badge ${deleted ? 'deleted' : 'active'}`, title: deletedAt ? `soft-deleted ${deletedAt}` : null }, deleted ? 'soft-deleted' : 'active'),
    failure ? h('span', { class: 'row-fail', role: 'note' }, `failed: ${failure}`) : null),
  h('td', { class: 'actions', 'data-label': 'Actions' },
    act('Play', 'play', () => play(doc), { disabled: !hasAudio, title: hasAudio ? null : 'no audio' }),
    act('Download', 'download', (e) => download(doc, e.currentTarget), { disabled: !hasAudio }),
    deleted ? act('Restore', 'restore', () => single('restore', doc)) : act('Soft delete', 'soft-delete', () => single('soft_delete', doc)),
    act('Delete', 'delete danger', () => confirmDelete(doc, desc))));
}

// ---- live events -------------------------------------------------------------------------

// startLive follows the account's recording events, so that the page shows what happens
// while it is open: new recordings on the first page, and changes to the rows shown.
function startLive(account) {
  stopLive();
  const ctl = new AbortController();
  state.live = ctl;
  state.liveAccount = account;
  followEvents(state.client, account, {
    signal: ctl.signal,
    onEvent: applyEvent,
    onState: (s, err) => { if (state.live === ctl) showLive(s, err); },
  });
}

function stopLive() {
  state.live?.abort();
  state.live = null;
  state.liveAccount = '';
  state.pending = [];
  showLive('off');
}

function showLive(s, err) {
  const el = $('live');
  el.dataset.state = s;
  el.hidden = s === 'off';
  el.textContent = { connecting: 'Connecting…', live: '● Live', retrying: 'Reconnecting…' }[s] || '';
  el.title = s === 'retrying' && err ? `The live stream failed (${describe(err)}); retrying.` : 'New recordings appear here as they arrive.';
}

// applyEvent puts an event into the rows shown: a new recording goes on top of the first page
// when the filters would list it; a change replaces its row; a deletion removes it.
function applyEvent(e) {
  if (!state.query || e.account_id !== state.query.account || !e.data) return;
  if (state.loading) {
    if (state.pending.length < 1000) state.pending.push(e); // past that, the listing itself is newer
    return;
  }
  const at = state.items.findIndex((d) => d.id === e.recording_id);
  const hidden = e.data.soft_delete && !$('show-deleted').checked;
  switch (e.event) {
    case 'recording.created':
      if (at >= 0 || !listedHere(e.data)) return;
      state.items.unshift(e.data);
      state.arrived.add(e.recording_id);
      learnOwners([e.data]);
      break;
    case 'recording.deleted':
      if (at < 0) return;
      state.items.splice(at, 1);
      break;
    default: // updated, soft_deleted, restored
      if (at < 0) return;
      if (hidden) state.items.splice(at, 1);
      else state.items[at] = e.data;
  }
  render();
  if (state.arrived.size) {
    $('summary').textContent = `${describeWindow()} · ${state.arrived.size} new since the page was listed`;
  }
}

// listedHere: the first page of the current listing would hold this new recording.
function listedHere(doc) {
  const q = state.query;
  if (state.pageIndex !== 0 || (doc.soft_delete && !$('show-deleted').checked)) return false;
  if (q.user && doc.owner_id !== q.user) return false;
  if ($('direction').value && doc.direction !== $('direction').value) return false;
  if ($('number').value.trim()) return false; // the number filter's matching is the server's: a reload shows it
  const start = Number(doc.start || 0);
  return !start || (start >= q.from && start <= q.to);
}

function toggleSelected(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  const tr = $('rows').querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  tr?.classList.toggle('is-selected', on);
  renderBulk();
}

function renderBulk() {
  const n = state.selected.size;
  $('bulk-count').textContent = `${n} selected`;
  $('bulk').classList.toggle('active', n > 0);
  for (const b of ['bulk-soft-delete', 'bulk-restore', 'bulk-clear']) $(b).disabled = n === 0;
  const all = $('select-all');
  const onPage = state.items.filter((d) => state.selected.has(d.id)).length;
  all.checked = onPage > 0 && onPage === state.items.length;
  all.indeterminate = onPage > 0 && onPage < state.items.length;
}

// ---- notices ----------------------------------------------------------------------------

function notice(kind, text, details = []) {
  const el = $('notice');
  el.className = `banner ${kind}`;
  el.replaceChildren(...[h('span', {}, text),
    details.length ? h('ul', {}, details.map((d) => h('li', {}, d))) : null,
    h('button', { type: 'button', class: 'quiet dismiss', 'aria-label': 'Dismiss the message', onclick: hideNotice }, '×')].filter(Boolean));
  el.hidden = false;
}

function hideNotice() {
  $('notice').hidden = true;
}

// ---- actions ----------------------------------------------------------------------------

// act runs an action against the API, handling an expired token and reporting errors.
async function act(fn, what) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.unauthorized) {
      tokenRefused(err);
      return undefined;
    }
    notice('error', `Could not ${what}: ${describe(err)}`);
    return undefined;
  }
}

async function single(kind, doc) {
  const account = state.query.account;
  const verb = kind === 'restore' ? 'restore' : 'soft delete';
  const res = await act(() => (kind === 'restore' ? state.client.restore(account, doc.id) : state.client.softDelete(account, doc.id)),
    `${verb} the recording ${doc.id}`);
  if (!res) {
    state.rowErrors.set(doc.id, `${verb} refused`);
    render();
    return;
  }
  state.rowErrors.delete(doc.id);
  await loadPage();
  notice('ok', kind === 'restore' ? `Restored the recording of ${startText(doc)}.` : `Soft-deleted the recording of ${startText(doc)}${$('show-deleted').checked ? '' : ' (hidden: tick “Show soft-deleted” to see it)'}.`);
}

// failureText explains one failure of the collection PATCH.
function failureText(f) {
  const why = { 404: 'not found: deleted meanwhile?', 409: 'changed meanwhile by someone else: try again', 403: 'not allowed' }[f.code];
  return `${f.message || 'failed'} (${f.code || '?'})${why ? ` — ${why}` : ''}`;
}

const startText = (doc) => (startOf(doc) ? dateTime.format(startOf(doc)) : doc.id);

async function bulk(kind) {
  const ids = state.items.map((d) => d.id).filter((id) => state.selected.has(id));
  if (!ids.length) return;
  const account = state.query.account;
  const field = kind === 'restore' ? { soft_restore: {} } : { soft_delete: {} };
  const buttons = ['bulk-soft-delete', 'bulk-restore'].map($);
  buttons.forEach((b) => { b.disabled = true; });
  const res = await act(() => state.client.patchMany(account, ids, field), kind === 'restore' ? 'restore the selection' : 'soft delete the selection');
  if (!res) { renderBulk(); return; }
  const ok = Object.keys(res.success);
  const failed = Object.entries(res.failure);
  const docs = new Map(state.items.map((d) => [d.id, d]));
  for (const id of ok) { state.selected.delete(id); state.rowErrors.delete(id); }
  for (const [id, f] of failed) state.rowErrors.set(id, failureText(f));
  await loadPage();
  const done = kind === 'restore' ? 'Restored' : 'Soft-deleted';
  const hidden = kind !== 'restore' && ok.length && !$('show-deleted').checked ? ' Tick “Show soft-deleted” to see them.' : '';
  const text = `${done} ${ok.length} of ${ids.length} recording${ids.length === 1 ? '' : 's'}.${hidden}${failed.length ? ` ${failed.length} failed:` : ''}`;
  notice(failed.length ? 'error' : 'ok', text, failed.map(([id, f]) => {
    const d = docs.get(id);
    const what = d ? `${startText(d)}, ${d.caller_id_name || d.caller_id_number || '?'} → ${d.callee_id_name || d.callee_id_number || '?'} (${id})` : id;
    return `${what}: ${failureText(f)}`;
  }));
}

function confirmDelete(doc, desc) {
  const dialog = $('confirm');
  $('confirm-text').textContent = `${desc}. The recording and its audio are deleted for good: this cannot be undone from this page. (Soft delete keeps it restorable.)`;
  dialog.returnValue = '';
  dialog.onclose = async () => {
    if (dialog.returnValue !== 'delete') return;
    const res = await act(() => state.client.remove(state.query.account, doc.id), `delete the recording ${doc.id}`);
    if (!res) return;
    if (state.playing === doc.id) closePlayer();
    state.selected.delete(doc.id);
    await loadPage();
    if (state.items.length === 0 && state.pageIndex > 0) {
      state.pageIndex--;
      await loadPage();
    }
    notice('ok', `Deleted the recording of ${startText(doc)}.`);
    $('results').focus();
  };
  dialog.showModal();
}

function play(doc) {
  const audio = $('audio');
  state.playing = doc.id;
  audio.src = state.client.audioURL(state.query.account, doc.id);
  $('player-title').textContent = `${doc.caller_id_name || doc.caller_id_number || '?'} → ${doc.callee_id_name || doc.callee_id_number || '?'}`;
  $('player-detail').textContent = `${startText(doc)} · ${formatDuration(doc)}`;
  $('player').hidden = false;
  document.body.classList.add('with-player');
  for (const tr of $('rows').children) tr.classList.toggle('is-playing', tr.dataset.id === doc.id);
  audio.play().catch((err) => {
    if (err.name !== 'AbortError' && err.name !== 'NotAllowedError') notice('error', `Could not play the recording: ${err.message}`);
  });
  audio.focus();
}

function closePlayer() {
  const audio = $('audio');
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  state.playing = '';
  $('player').hidden = true;
  document.body.classList.remove('with-player');
  for (const tr of $('rows').children) tr.classList.remove('is-playing');
}

async function download(doc, button) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Downloading…';
  try {
    const res = await act(() => state.client.download(state.query.account, doc.id), `download the recording ${doc.id}`);
    if (!res) return;
    const url = URL.createObjectURL(res.blob);
    const a = h('a', { href: url, download: res.filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// ---- wiring -----------------------------------------------------------------------------

function wire() {
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', () => {
    if (state.loading) state.loading.abort();
    showSignIn('');
    $('token').value = '';
    $('token').focus();
  });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); reload(false); });
  // Choices apply at once; typed fields apply on Enter, on leaving them, or with Search.
  for (const id of ['direction', 'number-field', 'page-size', 'show-deleted', 'from', 'to', 'user', 'account', 'number']) {
    $(id).addEventListener('change', () => {
      if (id === 'from' || id === 'to') {
        for (const b of document.querySelectorAll('.presets button')) b.setAttribute('aria-pressed', 'false');
      }
      if (id === 'account') state.owners.clear();
      reload(false);
    });
  }
  $('account').addEventListener('change', () => {
    if (/^[0-9a-fA-F]{32}$/.test($('account').value.trim())) localStorage.setItem(ACCOUNT_KEY, $('account').value.trim());
  });
  for (const b of document.querySelectorAll('.presets button')) {
    b.addEventListener('click', () => { setLastDays(Number(b.dataset.days)); reload(false); });
  }
  $('prev').addEventListener('click', () => {
    if (state.pageIndex === 0) return;
    state.pageIndex--;
    state.selected.clear();
    loadPage();
  });
  $('next').addEventListener('click', () => {
    if (!state.next) return;
    state.pages[state.pageIndex + 1] = state.next;
    state.pageIndex++;
    state.selected.clear();
    loadPage();
  });
  $('select-all').addEventListener('change', (e) => {
    for (const d of state.items) {
      if (e.target.checked) state.selected.add(d.id); else state.selected.delete(d.id);
    }
    for (const tr of $('rows').children) {
      tr.classList.toggle('is-selected', e.target.checked);
      tr.querySelector('input[type=checkbox]').checked = e.target.checked;
    }
    renderBulk();
  });
  $('bulk-soft-delete').addEventListener('click', () => bulk('soft_delete'));
  $('bulk-restore').addEventListener('click', () => bulk('restore'));
  $('bulk-clear').addEventListener('click', () => { state.selected.clear(); render(); });
  $('player-close').addEventListener('click', closePlayer);
  $('audio').addEventListener('error', () => {
    if (!state.playing) return;
    const code = $('audio').error?.code;
    notice('error', `The browser could not play this recording (media error ${code || '?'}): the token may have expired, or the audio is missing or on a storage provider. Try Download for the server's answer.`);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && $('player').contains(document.activeElement)) closePlayer();
  });
}

init();
