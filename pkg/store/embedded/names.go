package embedded

import (
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The database a request names, checked as the CouchDB backend checks it: an id that is not
// an account id, or not a recording id, names no database, hence ENotFound.

func accountDBName(accountID string) (string, error) {
	if !recording.ValidAccountID(accountID) {
		return "", recording.Errorf(recording.ENotFound, "account %s not found", accountID)
	}
	return recording.AccountDBName(accountID), nil
}

func monthDBName(accountID string, m recording.Month) (string, error) {
	if !recording.ValidAccountID(accountID) {
		return "", recording.Errorf(recording.ENotFound, "account %s not found", accountID)
	}
	return recording.MonthDBName(accountID, m), nil
}

func recordingDBName(accountID, id string) (string, error) {
	m, ok := recording.ParseRecordingID(id)
	if !ok {
		return "", recording.Errorf(recording.ENotFound, "recording %s not found", id)
	}
	return monthDBName(accountID, m)
}

// validSystemDB reports whether db can name a system database such as system_auth: a
// CouchDB database name without '/', so it never names an account or month database (nor
// metaBucket, which starts with '_').
func validSystemDB(db string) bool {
	if db == "" || db[0] < 'a' || db[0] > 'z' {
		return false
	}
	for i := 1; i < len(db); i++ {
		switch c := db[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.IndexByte("_$()+-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// readableDocID reports whether id can name a document the auth lookups read and write,
// as the CouchDB backend decides: ids of CouchDB's own (_design/…, _local/…) never do.
func readableDocID(id string) bool {
	return id != "" && !strings.HasPrefix(id, "_")
}
