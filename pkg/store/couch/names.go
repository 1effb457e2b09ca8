package couch

import (
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// accountDBName checks the account id (AccountDBName slices it) and names its database.
// An id that is not an account id names no database, hence ENotFound.
func accountDBName(accountID string) (string, error) {
	if !recording.ValidAccountID(accountID) {
		return "", recording.Errorf(recording.ENotFound, "account %s not found", accountID)
	}
	return recording.AccountDBName(accountID), nil
}

// monthDBName names the account's database for month m.
func monthDBName(accountID string, m recording.Month) (string, error) {
	if !recording.ValidAccountID(accountID) {
		return "", recording.Errorf(recording.ENotFound, "account %s not found", accountID)
	}
	return recording.MonthDBName(accountID, m), nil
}

// recordingDBName names the month database a recording id points into. Ids that
// ParseRecordingID rejects cannot exist, hence ENotFound.
func recordingDBName(accountID, id string) (string, error) {
	m, ok := recording.ParseRecordingID(id)
	if !ok {
		return "", recording.Errorf(recording.ENotFound, "recording %s not found", id)
	}
	return monthDBName(accountID, m)
}
