package recording

import "time"

// UnixEpochInGregorian is the number of seconds from year 0 to 1970-01-01, Kazoo's time base.
const UnixEpochInGregorian int64 = 62167219200

// ToGregorian converts a time to Kazoo gregorian seconds.
func ToGregorian(t time.Time) int64 { return t.Unix() + UnixEpochInGregorian }

// FromGregorian converts Kazoo gregorian seconds to a UTC time.
func FromGregorian(g int64) time.Time { return time.Unix(g-UnixEpochInGregorian, 0).UTC() }
