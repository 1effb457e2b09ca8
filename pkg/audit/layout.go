package audit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Where the trail lives (doc.go tells the whole layout).
const (
	// CatalogueDB lists, per account, the months that have a chain (one document per account,
	// its id the account id).
	CatalogueDB   = "recordingsd_audit"
	chainDBPrefix = CatalogueDB + "_"

	headID      = "head"
	entryPrefix = "e"
	indexPrefix = "r"
	seqDigits   = 12
)

// ChainDB names the database of an account's chain for month m:
// recordingsd_audit_<account_id>_<yyyymm>. The account id must be valid (ValidAccountID).
func ChainDB(accountID string, m recording.Month) string {
	return chainDBPrefix + accountID + "_" + m.String()
}

// entryID is e<seq, 12 digits>: ids sort as seqs do.
func entryID(seq int64) string { return fmt.Sprintf("%s%0*d", entryPrefix, seqDigits, seq) }

// parseEntryID reads an entry id; false for any other document of the chain.
func parseEntryID(id string) (int64, bool) {
	digits, ok := strings.CutPrefix(id, entryPrefix)
	if !ok {
		return 0, false
	}
	return parseSeq(digits)
}

func parseSeq(digits string) (int64, bool) {
	if len(digits) != seqDigits {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	return seq, err == nil && seq > 0
}

// indexID is r<recording_id>_<seq, 12 digits>: one recording's entries of a month share the
// prefix r<recording_id>_.
func indexID(recordingID string, seq int64) string {
	return fmt.Sprintf("%s%s_%0*d", indexPrefix, recordingID, seqDigits, seq)
}

// indexRange bounds the index documents of a recording (SystemDocRange's after and before).
// Recording ids hold no character below '-', and the seq's digits sort below ':', so the
// range holds the recording's documents and, rarely, those of an id that extends it with
// "_-…" or "_.…" (indexSeq tells them apart).
func indexRange(recordingID string) (after, before string) {
	prefix := indexPrefix + recordingID + "_"
	return prefix, prefix + ":"
}

// indexSeq reads the seq of an index document of recordingID; false for another's.
func indexSeq(id, recordingID string) (int64, bool) {
	rest, ok := strings.CutPrefix(id, indexPrefix+recordingID+"_")
	if !ok {
		return 0, false
	}
	return parseSeq(rest)
}

// parseIndexID splits any index document id into its recording id and seq.
func parseIndexID(id string) (recordingID string, seq int64, ok bool) {
	rest, ok := strings.CutPrefix(id, indexPrefix)
	if !ok || len(rest) < seqDigits+2 || rest[len(rest)-seqDigits-1] != '_' {
		return "", 0, false
	}
	seq, ok = parseSeq(rest[len(rest)-seqDigits:])
	return rest[:len(rest)-seqDigits-1], seq, ok
}

// PageKey is where a page of an account's entries starts: a month and a seq in its chain.
// Its text form is "<yyyymm>:<seq>".
type PageKey struct {
	Month recording.Month
	Seq   int64
}

func (k PageKey) String() string { return k.Month.String() + ":" + strconv.FormatInt(k.Seq, 10) }

// ParsePageKey reads "<yyyymm>:<seq>".
func ParsePageKey(s string) (PageKey, error) {
	month, seq, ok := strings.Cut(s, ":")
	m, okMonth := ParseMonth(month)
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || !okMonth || err != nil || n < 1 {
		return PageKey{}, recording.Errorf(recording.EInvalid, "start key %q is not <yyyymm>:<seq>", s)
	}
	return PageKey{Month: m, Seq: n}, nil
}

// ParseMonth reads YYYYMM.
func ParseMonth(s string) (recording.Month, bool) {
	n, ok := parseSeq("000000" + s)
	if !ok || len(s) != 6 {
		return recording.Month{}, false
	}
	m := recording.Month{Year: int(n / 100), Month: int(n % 100)}
	return m, m.Year >= 1970 && m.Month >= 1 && m.Month <= 12
}
