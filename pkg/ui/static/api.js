// The recordings API as the page uses it: the crossbar envelope, its errors, and a listing
// that spans any date window (split into the API's 31-day slices) and one or more filtered
// streams, newest first, with cursors to page forward and back.

export const GREGORIAN_OFFSET = 62167219200; // seconds from 0000-01-01 to 1970-01-01

/** Gregorian seconds of a Date (or ms since the epoch). */
export const toGregorian = (ms) => Math.floor(Number(ms) / 1000) + GREGORIAN_OFFSET;
/** Milliseconds since the epoch of gregorian seconds. */
export const fromGregorian = (g) => (Number(g) - GREGORIAN_OFFSET) * 1000;

/** The widest window one listing may ask for (the API allows 31 days + 1 hour). */
export const SLICE_SECONDS = 31 * 86400;
export const MAX_PAGE_SIZE = 1000;

/** An error envelope (or a failure to get one). */
export class ApiError extends Error {
  constructor(status, envelope, fallback) {
    super(describeError(status, envelope, fallback));
    this.status = status;
    this.envelope = envelope || null;
  }
  get unauthorized() { return this.status === 401; }
}

function describeError(status, env, fallback) {
  if (!env || typeof env !== 'object') {
    return fallback || `HTTP ${status}`;
  }
  const parts = [];
  const name = env.message || env.error || `HTTP ${status}`;
  parts.push(`${status} ${name}`);
  const details = flattenDetails(env.data);
  if (details.length) parts.push(details.join('; '));
  return parts.join(': ');
}

// flattenDetails turns crossbar's error data ({"message"}, ["id"], or validation's
// {"field": {"code": {"message"}}}) into readable phrases.
function flattenDetails(data) {
  if (data == null) return [];
  if (typeof data === 'string') return [data];
  if (Array.isArray(data)) return data.map(String);
  if (typeof data !== 'object') return [String(data)];
  const out = [];
  if (typeof data.message === 'string' && !['bad identifier', 'invalid credentials', 'forbidden'].includes(data.message)) {
    out.push(data.message);
  }
  for (const [k, v] of Object.entries(data)) {
    if (k === 'message') continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [code, detail] of Object.entries(v)) {
        const msg = detail && typeof detail === 'object' ? detail.message : detail;
        out.push(`${k} (${code})${msg ? ': ' + msg : ''}`);
      }
    } else if (k === 'cause' || k === 'details') {
      out.push(String(v));
    }
  }
  return out;
}

/** A client of /v2 with one token. */
export class Client {
  constructor(token, fetchImpl = (...a) => fetch(...a)) {
    this.token = token;
    this.fetch = fetchImpl;
  }

  async request(method, path, { query, body, signal } = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v === undefined || v === null || v === '') continue;
      url.searchParams.set(k, String(v));
    }
    const headers = { 'X-Auth-Token': this.token, Accept: 'application/json' };
    const init = { method, headers, signal, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await this.fetch(url, init);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, null, `the service did not answer (${err.message})`);
    }
    let env = null;
    try {
      env = await res.json();
    } catch {
      // not JSON: described by the status below
    }
    if (!res.ok || !env || env.status !== 'success') {
      let fallback = `HTTP ${res.status} ${res.statusText}`;
      if (res.status === 429) {
        const after = res.headers.get('Retry-After');
        fallback += after ? `: too many requests, retry in ${after} s` : ': too many requests';
      }
      throw new ApiError(res.status, env, fallback);
    }
    return env;
  }

  recordingsPath(account, user) {
    const a = encodeURIComponent(account);
    return user ? `/v2/accounts/${a}/users/${encodeURIComponent(user)}/recordings` : `/v2/accounts/${a}/recordings`;
  }

  recordingPath(account, id) {
    return `/v2/accounts/${encodeURIComponent(account)}/recordings/${encodeURIComponent(id)}`;
  }

  list(account, user, query, signal) {
    return this.request('GET', this.recordingsPath(account, user), { query, signal });
  }

  softDelete(account, id) {
    return this.request('PATCH', this.recordingPath(account, id), { body: { data: { soft_delete: {} } } });
  }

  restore(account, id) {
    return this.request('PATCH', this.recordingPath(account, id), { body: { data: { soft_restore: {} } } });
  }

  remove(account, id) {
    return this.request('DELETE', this.recordingPath(account, id));
  }

  /** PATCH /recordings/collection: {success: {id: doc}, failure: {id: {cause, code, message}}}. */
  async patchMany(account, ids, fields) {
    const env = await this.request('PATCH', `${this.recordingsPath(account)}/collection`,
      { body: { data: { recordings: ids, ...fields } } });
    return { success: env.data?.success || {}, failure: env.data?.failure || {} };
  }

  /** The audio URL for <audio src>: the one place the token travels in a URL. */
  audioURL(account, id) {
    const q = new URLSearchParams({ accept: 'audio/mpeg', inline: 'true', auth_token: this.token });
    return `${this.recordingPath(account, id)}?${q}`;
  }

  /** The audio as a Blob, fetched with the token in a header, and the server's file name. */
  async download(account, id) {
    const res = await this.fetch(this.recordingPath(account, id), {
      headers: { 'X-Auth-Token': this.token, Accept: 'audio/*' },
      cache: 'no-store',
    });
    if (!res.ok) {
      let env = null;
      try { env = await res.json(); } catch { /* not JSON */ }
      throw new ApiError(res.status, env, `HTTP ${res.status}`);
    }
    return { blob: await res.blob(), filename: fileName(res.headers.get('Content-Disposition')) || `${id}.mp3` };
  }
}

function fileName(disposition) {
  if (!disposition) return '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch { /* fall through */ }
  }
  const plain = /filename="([^"]*)"/i.exec(disposition);
  return plain ? plain[1] : '';
}

/**
 * The slices of [from, to] (inclusive gregorian seconds), newest first, none wider than
 * width seconds.
 */
export function slices(from, to, width = SLICE_SECONDS) {
  const out = [];
  for (let hi = to; hi >= from;) {
    const lo = Math.max(from, hi - width + 1);
    out.push({ from: lo, to: hi });
    hi = lo - 1;
  }
  return out;
}

/**
 * The spellings of a typed phone number that the exact filter_* should accept: as typed,
 * without spaces and punctuation, with and without a leading +.
 */
export function numberCandidates(typed) {
  const raw = String(typed || '').trim();
  if (!raw) return [];
  const compact = raw.replace(/[\s().\-/]/g, '');
  const digits = compact.replace(/^\+/, '');
  const out = [raw, compact];
  if (/^\d+$/.test(digits)) out.push(digits, '+' + digits);
  return [...new Set(out)];
}

/**
 * A listing query: where to list (account, optional user), the window as slices, and the
 * streams to merge — each a set of API parameters (the "caller or callee" number search is
 * two streams, as filter_* tests are and-ed).
 */
export function buildQuery({ account, user, from, to, direction, number, numberField, includeDeleted, width }) {
  const base = { descending: 'true' };
  if (direction) base.filter_direction = direction;
  if (includeDeleted) base.include = 'soft_delete';
  const candidates = numberCandidates(number);
  const value = candidates.length === 1 ? candidates[0] : JSON.stringify(candidates);
  let streams = [base];
  if (candidates.length) {
    const fields = numberField === 'caller' ? ['caller_id_number']
      : numberField === 'callee' ? ['callee_id_number'] : ['caller_id_number', 'callee_id_number'];
    streams = fields.map((f) => ({ ...base, [`filter_${f}`]: value }));
  }
  return { account, user: user || '', from, to, slices: slices(from, to, width), streams };
}

/** The cursors of a query's first page: each stream at the start of the newest slice. */
export const firstCursors = (q) => q.streams.map(() => ({ slice: 0, key: null, skip: 0 }));

// fetchStream reads up to want items of one stream from cursor, crossing slices. Each item
// carries the cursor that starts at it; end is the cursor after the last one (null: done),
// and points at an existing item, so "more" is never a promise of an empty page.
async function fetchStream(client, q, params, cursor, want, signal) {
  const items = [];
  let c = cursor;
  while (c && items.length < want) {
    const s = q.slices[c.slice];
    const env = await client.list(q.account, q.user, {
      ...params,
      created_from: s.from,
      created_to: s.to,
      page_size: Math.min(MAX_PAGE_SIZE, want - items.length + c.skip),
      start_key: c.key,
    }, signal);
    const data = Array.isArray(env.data) ? env.data : [];
    for (let i = c.skip; i < data.length; i++) {
      items.push({ doc: data[i], at: { slice: c.slice, key: c.key, skip: i } });
    }
    c = env.next_start_key ? { slice: c.slice, key: env.next_start_key, skip: 0 } : nextSlice(q, c);
  }
  // An end at the start of an older slice may have nothing behind it: look, one item at a time.
  while (c && c.key === null && c.skip === 0) {
    const s = q.slices[c.slice];
    const env = await client.list(q.account, q.user,
      { ...params, created_from: s.from, created_to: s.to, page_size: 1 }, signal);
    if (Array.isArray(env.data) && env.data.length > 0) break;
    c = nextSlice(q, c);
  }
  return { items, end: c };
}

const nextSlice = (q, c) => (c.slice + 1 < q.slices.length ? { slice: c.slice + 1, key: null, skip: 0 } : null);

// newer orders two recordings newest first: by start time, then by id.
function newer(a, b) {
  const sa = Number(a.start) || 0;
  const sb = Number(b.start) || 0;
  if (sa !== sb) return sa > sb;
  return String(a.id) > String(b.id);
}

/**
 * One page of pageSize recordings from cursors (one per stream), newest first. next is the
 * cursors of the following page, or null when there is none.
 */
export async function fetchPage(client, q, cursors, pageSize, signal) {
  const results = await Promise.all(q.streams.map((params, i) =>
    (cursors[i] ? fetchStream(client, q, params, cursors[i], pageSize, signal) : { items: [], end: null })));
  const heads = results.map(() => 0);
  const seen = new Set();
  const page = [];
  while (page.length < pageSize) {
    let best = -1;
    for (let j = 0; j < results.length; j++) {
      const it = results[j].items[heads[j]];
      if (it && (best < 0 || newer(it.doc, results[best].items[heads[best]].doc))) best = j;
    }
    if (best < 0) break;
    const { doc } = results[best].items[heads[best]++];
    if (seen.has(doc.id)) continue; // both caller and callee matched
    seen.add(doc.id);
    page.push(doc);
  }
  for (let j = 0; j < results.length; j++) {
    while (results[j].items[heads[j]] && seen.has(results[j].items[heads[j]].doc.id)) heads[j]++;
  }
  const next = results.map((r, j) => (heads[j] < r.items.length ? r.items[heads[j]].at : r.end));
  return { items: page, next: next.some(Boolean) ? next : null };
}

/** The widest window the server accepts, read from its date_range error, if it says. */
export function maxRangeFromError(err) {
  const v = err?.envelope?.data?.created_from?.date_range?.message;
  const m = typeof v === 'string' && /more than (\d+) seconds/.exec(v);
  return m ? Number(m[1]) : 0;
}

// ---- live events ------------------------------------------------------------------------

/**
 * EventStreamParser turns the text of a Server-Sent Events stream, in chunks as they come,
 * into messages {id, event, data}; comment lines (heartbeats) are skipped.
 */
export class EventStreamParser {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.buffer = '';
    this.reset();
  }

  reset() { this.message = { id: '', event: 'message', data: [] }; }

  push(text) {
    this.buffer += text;
    let nl;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      if (nl === this.buffer.length - 1 && this.buffer[nl] === '\r') break; // its \n may be in the next chunk
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.message.data.length) {
        this.onMessage({ id: this.message.id, event: this.message.event, data: this.message.data.join('\n') });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.message.data.push(value);
    else if (field === 'event') this.message.event = value;
    else if (field === 'id') this.message.id = value;
  }
}

/**
 * followEvents reads an account's recording events until signal aborts: a fetch (EventSource
 * cannot send the token header) that reconnects after a failure, resuming with Last-Event-ID.
 * onEvent gets each event's payload; onState 'connecting', 'live' or 'retrying' (with why).
 */
export async function followEvents(client, account, { onEvent, onState = () => {}, signal, retryMs = 1000 }) {
  let last = '';
  let wait = retryMs;
  while (!signal.aborted) {
    onState('connecting');
    try {
      const headers = { 'X-Auth-Token': client.token, Accept: 'text/event-stream' };
      if (last) headers['Last-Event-ID'] = last;
      const resp = await client.fetch(new URL(`/v2/accounts/${account}/recordings/events`, location.origin),
        { headers, signal, cache: 'no-store' });
      if (!resp.ok) {
        let env = null;
        try { env = await resp.json(); } catch { /* not an envelope */ }
        throw new ApiError(resp.status, env);
      }
      onState('live');
      wait = retryMs;
      const parser = new EventStreamParser((m) => {
        if (m.id) last = m.id;
        try { onEvent(JSON.parse(m.data)); } catch { /* a payload we cannot read */ }
      });
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      throw new Error('the stream ended');
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
        onState('off', err); // no stream for this token or server: nothing to retry
        return;
      }
      onState('retrying', err);
      await new Promise((resolve) => { setTimeout(resolve, wait); });
      wait = Math.min(wait * 2, 30000);
    }
  }
}
