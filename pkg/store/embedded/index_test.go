package embedded

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestIndexKeyOrder: byte order of the encoded keys is the views' order, [created, id]
// with created numeric (negative first) and ids compared byte by byte.
func TestIndexKeyOrder(t *testing.T) {
	createds := []int64{math.MinInt64, -63871545600, -1, 0, 1, 255, 256, 63871545600, 63871545601, math.MaxInt64}
	ids := []string{"", "2", "202403-", "202403-0", "202403-00", "202403-a", "202403-a0", "202403-A", "202403-~", "202403-@", "202403-.", "202403-_"}
	for _, owner := range []string{"", "o", "owner-1", "with\x00nul"} {
		type entry struct {
			key recording.ListKey
			enc []byte
		}
		var entries []entry
		for _, c := range createds {
			for _, id := range ids {
				k := recording.ListKey{Created: c, ID: id}
				var prefix []byte
				if owner != "" {
					prefix = ownerPrefix(owner)
				}
				entries = append(entries, entry{k, append(appendCreated(prefix, c), id...)})
			}
		}
		byKey := slices.Clone(entries)
		slices.SortFunc(byKey, func(a, b entry) int {
			if a.key.Less(b.key) {
				return -1
			}
			if b.key.Less(a.key) {
				return 1
			}
			return 0
		})
		byBytes := slices.Clone(entries)
		slices.SortFunc(byBytes, func(a, b entry) int { return bytes.Compare(a.enc, b.enc) })
		for i := range byKey {
			if byKey[i].key != byBytes[i].key {
				t.Fatalf("owner %q: position %d is %+v by key, %+v by bytes", owner, i, byKey[i].key, byBytes[i].key)
			}
		}
		for _, e := range entries {
			if got := decodeCreated(e.enc[len(e.enc)-len(e.key.ID)-8:]); got != e.key.Created {
				t.Fatalf("created %d decoded as %d", e.key.Created, got)
			}
		}
	}
}

// TestOwnerPrefixes: no owner's prefix starts another owner's key, NUL bytes included, so
// an owner scan never strays into another owner's entries.
func TestOwnerPrefixes(t *testing.T) {
	owners := []string{"a", "ab", "a\x00", "a\x00b", "a\x00\x01", "a\x01", "\x00", "\x00\x00", strings.Repeat("z", 40)}
	for _, a := range owners {
		for _, b := range owners {
			if a == b {
				continue
			}
			key := append(appendCreated(ownerPrefix(b), 63871545600), "202403-x"...)
			if bytes.HasPrefix(key, ownerPrefix(a)) {
				t.Errorf("a key of owner %q starts with the prefix of owner %q", b, a)
			}
		}
	}
}

// TestScanWithNulOwner runs the owner index on owners that differ only after a NUL byte.
func TestScanWithNulOwner(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	for i, owner := range []string{"a", "a\x00", "a\x00b", "a\x01"} {
		mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, int64(i)), map[string]any{"owner_id": owner}))
	}
	for _, owner := range []string{"a", "a\x00", "a\x00b", "a\x01"} {
		for _, descending := range []bool{false, true} {
			rows, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{Owner: owner, From: 0, To: 1 << 40, Limit: 10, Descending: descending})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Doc.String("owner_id") != owner || rows[0].Key.Owner != owner {
				t.Fatalf("owner %q descending %v: %d rows", owner, descending, len(rows))
			}
		}
	}
}
