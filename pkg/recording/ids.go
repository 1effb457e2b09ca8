package recording

import (
	"fmt"
	"time"
)

// Month names one monthly database (MODB) of an account.
type Month struct {
	Year  int
	Month int // 1..12
}

// MonthOf returns the UTC month of t.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month{Year: t.Year(), Month: int(t.Month())}
}

// String renders the month as Kazoo's YYYYMM suffix.
func (m Month) String() string { return fmt.Sprintf("%04d%02d", m.Year, m.Month) }

// Next returns the following month.
func (m Month) Next() Month {
	if m.Month == 12 {
		return Month{Year: m.Year + 1, Month: 1}
	}
	return Month{Year: m.Year, Month: m.Month + 1}
}

// Prev returns the preceding month.
func (m Month) Prev() Month {
	if m.Month == 1 {
		return Month{Year: m.Year - 1, Month: 12}
	}
	return Month{Year: m.Year, Month: m.Month - 1}
}

// Before reports whether m comes strictly before o.
func (m Month) Before(o Month) bool {
	return m.Year < o.Year || (m.Year == o.Year && m.Month < o.Month)
}

// Start is the first instant of the month, UTC.
func (m Month) Start() time.Time {
	return time.Date(m.Year, time.Month(m.Month), 1, 0, 0, 0, 0, time.UTC)
}

// ValidAccountID reports whether id is a Kazoo account id: 32 lower-case hex characters.
func ValidAccountID(id string) bool { return isLowerHex(id, 32) }

// ValidUserID reports whether id can be a Kazoo document id of a user (32 lower-case hex).
func ValidUserID(id string) bool { return isLowerHex(id, 32) }

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// MaxRecordingIDLength bounds recording ids; Kazoo's are 39 characters.
const MaxRecordingIDLength = 255

// ParseRecordingID checks a recording id (YYYYMM-<rest>) and returns the month database it names.
// Only ids that cannot escape their month database are accepted: the rest may hold
// [A-Za-z0-9@._~-] only, so no id can name a design document, another database or a path.
func ParseRecordingID(id string) (Month, bool) {
	if len(id) < 8 || len(id) > MaxRecordingIDLength || id[6] != '-' {
		return Month{}, false
	}
	year, month := 0, 0
	for i := 0; i < 6; i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return Month{}, false
		}
		if i < 4 {
			year = year*10 + int(c-'0')
		} else {
			month = month*10 + int(c-'0')
		}
	}
	if month < 1 || month > 12 || year < 1970 {
		return Month{}, false
	}
	for i := 7; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '@' || c == '.' || c == '_' || c == '~' || c == '-':
		default:
			return Month{}, false
		}
	}
	return Month{Year: year, Month: month}, true
}

// NewRecordingID makes an id in Kazoo's shape for a recording started at t.
func NewRecordingID(t time.Time, hex32 string) string {
	return MonthOf(t).String() + "-" + hex32
}
