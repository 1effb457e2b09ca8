package recording

import (
	"fmt"
	"strings"
)

// Kazoo's database names: an account's database and its month databases (MODBs), as CouchDB
// names them, parsed back, and checked against the ids a request carries.

// AccountDBName is the unencoded account database name, account/xx/yy/rest.
func AccountDBName(accountID string) string {
	return "account/" + accountID[0:2] + "/" + accountID[2:4] + "/" + accountID[4:]
}

// MonthDBName is the unencoded monthly database name, account/xx/yy/rest-YYYYMM.
func MonthDBName(accountID string, m Month) string {
	return AccountDBName(accountID) + "-" + m.String()
}

// MonthDB names one month database of an account. Month databases order by account id,
// then month, as their CouchDB names sort.
type MonthDB struct {
	AccountID string
	Month     Month
}

// Less orders month databases by account, then month.
func (d MonthDB) Less(o MonthDB) bool {
	if d.AccountID != o.AccountID {
		return d.AccountID < o.AccountID
	}
	return d.Month.Before(o.Month)
}

// IsZero reports whether d names nothing (the start of a walk).
func (d MonthDB) IsZero() bool { return d.AccountID == "" }

// Name is the CouchDB database name; "" when AccountID is not an account id.
func (d MonthDB) Name() string {
	if !ValidAccountID(d.AccountID) {
		return ""
	}
	return MonthDBName(d.AccountID, d.Month)
}

func (d MonthDB) String() string { return d.AccountID + "-" + d.Month.String() }

// ParseMonthDB reads a month database name: account/xx/yy/rest-YYYYMM, or the same with the
// slashes removed (as pouchdb-server lists them), or the encoded account%2Fxx%2Fyy… form.
func ParseMonthDB(name string) (MonthDB, bool) {
	name = strings.ReplaceAll(name, "%2F", "/")
	name = strings.ReplaceAll(name, "%2f", "/")
	rest, ok := strings.CutPrefix(name, "account")
	if !ok {
		return MonthDB{}, false
	}
	if strings.HasPrefix(rest, "/") {
		if len(rest) < 7 || rest[3] != '/' || rest[6] != '/' {
			return MonthDB{}, false
		}
		rest = rest[1:3] + rest[4:6] + rest[7:]
	}
	// rest is now <32 hex>-YYYYMM.
	if len(rest) != 32+1+6 || rest[32] != '-' || !ValidAccountID(rest[:32]) {
		return MonthDB{}, false
	}
	var m Month
	if _, err := fmt.Sscanf(rest[33:], "%04d%02d", &m.Year, &m.Month); err != nil || m.Month < 1 || m.Month > 12 {
		return MonthDB{}, false
	}
	for _, c := range rest[33:] {
		if c < '0' || c > '9' {
			return MonthDB{}, false
		}
	}
	return MonthDB{AccountID: rest[:32], Month: m}, true
}

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
