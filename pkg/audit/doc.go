// Package audit is the access trail: who read or changed which recording, when, from where,
// and with what outcome, kept so that an edit, a removal or an insertion shows. The API
// records one Entry per request (Trail.Record); the trail writes them in the background to
// hash chains on the store's system documents (recording.StateDocs, so both stores hold it
// unchanged); Verify checks a chain, RecordingEntries and AccountEntries read it back.
//
// # Layout
//
// One chain per account and UTC month (of the entry's time), in a database of its own,
// never Kazoo's: recordingsd_audit_<account_id>_<yyyymm> (ChainDB). In it:
//
//   - e<seq>: the entries, seq from 1 without gaps, written as 12 digits (e000000000001) so
//     ids sort as seqs do. Each holds prev, the previous entry's hash ("" for seq 1), and its
//     own hash (Hash tells exactly what is hashed).
//   - head: the last seq claimed and that entry's hash.
//   - r<recording_id>_<seq>: one per entry about a recording, holding only its seq, so a
//     recording's entries of a month are one range read. Readers check the entry they point
//     to, so a forged one shows nothing; Verify reports index documents missing or wrong.
//
// The catalogue, recordingsd_audit, holds one document per account (its id the account id)
// listing the months that have a chain; a month is added before its chain's first head, so
// readers and Verify find every chain without listing databases.
//
// # Writing: claim, then write
//
// Several instances may write one chain at once, so appending is two steps per chain and
// flush: read the head; seal the entries as seqs n+1…n+k (prev and hash chained from the
// head's); write the new head over the revision read, which claims the range (a writer that
// lost the race reads the head again and seals after the winner's); then write the entries
// and their index documents, retried as needed (a document already there with the same
// content counts as written). The chain stays linear because only one writer moves the head
// from a given revision. A writer that stops between its claim and its write (a crash, or a
// batch abandoned after Config.Attempts) leaves seqs without entries: Verify reports them
// as missing, the same as a removal, and the log says which batches were lost.
//
// # What it proves
//
// The chain shows edits, removals, insertions and truncation made by anyone who does not
// rewrite the whole chain from the change on (hashes are not keyed): the same database
// credentials could. Copying the heads elsewhere (a log, a write-once store) from time to
// time would pin what exists; the trail does not do it yet.
//
// Files: entry.go (Entry, Actor, actions), document.go (entries, heads and index as stored),
// hash.go (the hash), layout.go (names, ids, page keys), catalogue.go, trail.go (Record,
// the flusher), chain.go (claim and write), read.go, verify.go, clientip.go (ClientIP),
// config.go.
package audit
