package embedded

import (
	"bytes"
	"fmt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The purge index holds recording.PurgeKeyOf of each document that has one, encoded so
// that byte order is recording.PurgeKey order:
//
//	reason, 0x00, at (as appendCreated encodes pvt_created), id
//
// Reasons are PurgeKeyOf's constants, which hold no 0x00, so the terminator keeps their
// string order; the id runs to the end of the key.

// purgeIndexKey is the purge index's map function.
func purgeIndexKey(doc recording.Doc) ([]byte, bool) {
	key, ok := recording.PurgeKeyOf(doc)
	if !ok {
		return nil, false
	}
	return encodePurgeKey(key), true
}

func encodePurgeKey(k recording.PurgeKey) []byte {
	return append(appendCreated(purgeReasonStart(k.Reason), k.At), k.ID...)
}

// purgeReasonStart is what every key of reason starts with: all of them sort after it,
// and before any key of a later reason.
func purgeReasonStart(reason recording.PurgeReason) []byte {
	return append([]byte(reason), 0)
}

// decodePurgeKey reads a key of the purge index.
func decodePurgeKey(k []byte) (recording.PurgeKey, error) {
	reason, rest, ok := bytes.Cut(k, []byte{0})
	if !ok || len(rest) < 8 {
		return recording.PurgeKey{}, fmt.Errorf("purge index key %q is malformed", k)
	}
	return recording.PurgeKey{
		Reason: recording.PurgeReason(reason),
		At:     decodeCreated(rest[:8]),
		ID:     string(rest[8:]),
	}, nil
}
