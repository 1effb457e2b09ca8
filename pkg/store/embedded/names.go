package embedded

import "github.com/recordingsd/recordingsd/pkg/recording"

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
