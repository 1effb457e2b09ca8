// Unit tests of the page's listing logic (pkg/ui/static/api.js) against an in-memory fake of
// the API: windows split into 31-day slices, pages that never skip or repeat a recording,
// and the "caller or callee" search merged from two filtered listings.
//
//   node --test testenv/e2e/api.test.mjs

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  buildQuery, fetchPage, firstCursors, maxRangeFromError, numberCandidates, slices, SLICE_SECONDS, ApiError,
  EventStreamParser,
} from '../../pkg/ui/static/api.js';

const DAY = 86400;
const MAX_RANGE = 2682000;

// fakeClient lists like the API: inclusive created bounds no wider than MAX_RANGE, newest
// first, exact filter_* tests (a JSON array matches any of its strings), page_size and an
// opaque start_key that is the key of the next recording.
function fakeClient(docs) {
  const calls = [];
  return {
    calls,
    async list(account, user, q) {
      calls.push(q);
      const from = Number(q.created_from);
      const to = Number(q.created_to);
      assert.ok(to - from <= MAX_RANGE, `window of ${to - from} s`);
      assert.equal(q.descending, 'true');
      const match = (d) => Object.entries(q).every(([k, v]) => {
        if (!k.startsWith('filter_')) return true;
        const field = d[k.slice('filter_'.length)];
        if (String(field) === v) return true;
        try {
          const parsed = JSON.parse(v);
          return Array.isArray(parsed) && parsed.includes(field);
        } catch { return false; }
      });
      const rows = docs.filter((d) => d.created >= from && d.created <= to && match(d))
        .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
      let i = 0;
      if (q.start_key) i = rows.findIndex((d) => `${d.created}|${d.id}` === q.start_key);
      assert.ok(i >= 0, 'a start_key of this listing');
      const size = Number(q.page_size);
      const data = rows.slice(i, i + size);
      const next = rows[i + size];
      return { status: 'success', data, next_start_key: next ? `${next.created}|${next.id}` : undefined };
    },
  };
}

function demoDocs(n, span, numbers) {
  const out = [];
  for (let k = 0; k < n; k++) {
    const created = 1_000_000_000 - Math.floor((k * span) / n);
    out.push({
      id: `r${String(k).padStart(4, '0')}`,
      created,
      start: created - 5,
      caller_id_number: numbers[k % numbers.length],
      callee_id_number: numbers[(k + 1) % numbers.length],
    });
  }
  return out;
}

async function all(client, q, pageSize) {
  const seen = [];
  let cursors = firstCursors(q);
  for (let pages = 0; cursors; pages++) {
    assert.ok(pages < 1000, 'paging ends');
    const page = await fetchPage(client, q, cursors, pageSize);
    assert.ok(page.items.length <= pageSize);
    if (page.next) assert.equal(page.items.length, pageSize, 'only the last page is short');
    if (!page.next && pages > 0) assert.ok(page.items.length > 0, 'no empty last page');
    seen.push(...page.items.map((d) => d.id));
    cursors = page.next;
  }
  return seen;
}

test('slices cover the window, newest first, none wider than the API allows', () => {
  const s = slices(1000, 1000 + 100 * DAY);
  assert.equal(s[0].to, 1000 + 100 * DAY);
  assert.equal(s[s.length - 1].from, 1000);
  for (let i = 0; i < s.length; i++) {
    assert.ok(s[i].to - s[i].from < SLICE_SECONDS && s[i].to - s[i].from <= MAX_RANGE);
    if (i > 0) assert.equal(s[i].to, s[i - 1].from - 1, 'contiguous, no overlap');
  }
  assert.equal(s.length, 4);
  assert.deepEqual(slices(5, 5), [{ from: 5, to: 5 }]);
});

test('paging a 90-day window crosses slices without skipping or repeating', async () => {
  const docs = demoDocs(57, 90 * DAY, ['+1', '+2', '+3']);
  const want = docs.map((d) => d.id);
  for (const size of [1, 4, 10, 25, 100]) {
    const client = fakeClient(docs);
    const q = buildQuery({ account: 'a', from: 1_000_000_000 - 95 * DAY, to: 1_000_000_000, width: SLICE_SECONDS });
    assert.deepEqual(await all(client, q, size), want, `page size ${size}`);
  }
});

test('empty older slices never yield an empty page', async () => {
  const docs = demoDocs(10, 5 * DAY, ['+1']);
  const client = fakeClient(docs);
  const q = buildQuery({ account: 'a', from: 1_000_000_000 - 200 * DAY, to: 1_000_000_000 });
  const page = await fetchPage(client, q, firstCursors(q), 10);
  assert.equal(page.items.length, 10);
  assert.equal(page.next, null, 'nothing older: no next page');
});

test('caller or callee: two filtered listings merged newest first, each recording once', async () => {
  const numbers = ['+14155550101', '+12125550199', '+13035550142'];
  const docs = demoDocs(40, 60 * DAY, numbers);
  docs[7].callee_id_number = docs[7].caller_id_number; // a call to oneself matches both streams
  const n = numbers[0];
  const want = docs.filter((d) => d.caller_id_number === n || d.callee_id_number === n).map((d) => d.id);
  for (const size of [1, 2, 3, 7, 50]) {
    const client = fakeClient(docs);
    const q = buildQuery({ account: 'a', from: 1_000_000_000 - 61 * DAY, to: 1_000_000_000, number: '1 415 555-0101', numberField: 'either' });
    assert.equal(q.streams.length, 2);
    assert.deepEqual(await all(client, q, size), want, `page size ${size}`);
  }
});

test('a typed number matches with or without + and punctuation', () => {
  assert.deepEqual(numberCandidates('+1 (415) 555-0101'), ['+1 (415) 555-0101', '+14155550101', '14155550101']);
  assert.deepEqual(numberCandidates('14155550101'), ['14155550101', '+14155550101']);
  assert.deepEqual(numberCandidates('  '), []);
  assert.deepEqual(numberCandidates('alice'), ['alice']);
});

test('filters and soft-deleted map to the API parameters', () => {
  const q = buildQuery({ account: 'a', user: 'u', from: 1, to: 2, direction: 'inbound', number: 'x', numberField: 'callee', includeDeleted: true });
  assert.deepEqual(q.streams, [{ descending: 'true', filter_direction: 'inbound', include: 'soft_delete', filter_callee_id_number: 'x' }]);
  assert.equal(q.user, 'u');
});

test('a narrower server limit is read from its date_range error', () => {
  const err = new ApiError(400, {
    status: 'error', message: 'validation error',
    data: { created_from: { date_range: { message: 'created_to 99 is more than 86400 seconds from created_from 1' } } },
  });
  assert.equal(maxRangeFromError(err), 86400);
  assert.match(err.message, /^400 validation error: created_from \(date_range\): created_to 99/);
  assert.equal(maxRangeFromError(new ApiError(401, { message: 'invalid_credentials' })), 0);
});

test('EventStreamParser: messages from chunks cut anywhere, comments skipped', () => {
  const got = [];
  const p = new EventStreamParser((m) => got.push(m));
  const text = ': heartbeat\n\nid: 1-a\nevent: recording.created\ndata: {"a":1}\n\n'
    + 'id: 2-b\r\nevent: recording.deleted\r\ndata: line one\r\ndata: line two\r\n\r\ndata: no id\n\n';
  for (let i = 0; i < text.length; i += 5) p.push(text.slice(i, i + 5)); // chunks cut mid-line and mid-CRLF
  assert.deepEqual(got, [
    { id: '1-a', event: 'recording.created', data: '{"a":1}' },
    { id: '2-b', event: 'recording.deleted', data: 'line one\nline two' },
    { id: '', event: 'message', data: 'no id' },
  ]);
});

test('EventStreamParser: a message is given only once its blank line came', () => {
  const got = [];
  const p = new EventStreamParser((m) => got.push(m));
  p.push('id: 3-c\ndata: {"x":');
  p.push('2}\n');
  assert.equal(got.length, 0);
  p.push('\n');
  assert.deepEqual(got, [{ id: '3-c', event: 'message', data: '{"x":2}' }]);
});
