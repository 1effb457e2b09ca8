package recording

import "strings"

// The database a request names, checked the same way by every backend: an id that is not an
// account id, or not a recording id, names no database, hence ENotFound.

// AccountDatabase names the account's database.
func AccountDatabase(accountID string) (string, error) {
	if !ValidAccountID(accountID) {
		return "", Errorf(ENotFound, "account %s not found", accountID)
	}
	return AccountDBName(accountID), nil
}

// MonthDatabase names the account's database for month m.
func MonthDatabase(accountID string, m Month) (string, error) {
	if !ValidAccountID(accountID) {
		return "", Errorf(ENotFound, "account %s not found", accountID)
	}
	return MonthDBName(accountID, m), nil
}

// RecordingDatabase names the month database a recording id points into.
func RecordingDatabase(accountID, id string) (string, error) {
	m, ok := ParseRecordingID(id)
	if !ok {
		return "", Errorf(ENotFound, "recording %s not found", id)
	}
	return MonthDatabase(accountID, m)
}

// ValidSystemDB reports whether db can name a system database such as system_auth: a
// CouchDB database name without '/', so it never names an account or month database (nor
// anything starting with '_', such as a store's own bookkeeping), nor a name a server that
// strips slashes (pouchdb-server) would list like a month database.
func ValidSystemDB(db string) bool {
	if db == "" || db[0] < 'a' || db[0] > 'z' {
		return false
	}
	if _, ok := ParseMonthDB(db); ok {
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

// ReadableDocID reports whether id can name a document the auth lookups read and write:
// CouchDB's own ids (_design/…, _local/…) and endpoints (_all_docs, …) never do.
func ReadableDocID(id string) bool {
	return id != "" && !strings.HasPrefix(id, "_")
}
