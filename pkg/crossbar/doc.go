// Package crossbar holds Kazoo crossbar's wire conventions: the response envelope and its
// errors, request bodies, Accept and Range negotiation, query-string filters, paging tokens
// and request metadata. Everything here is a pure function or a small type: no routing and
// no store access, so the HTTP package decides what to do and this package says how Kazoo
// would have written it.
package crossbar
