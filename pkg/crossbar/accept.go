package crossbar

import "strings"

// Representation is what GET /recordings/{id} can answer with.
type Representation int

const (
	RepJSON  Representation = iota // the recording's metadata in an envelope
	RepAudio                       // the recording's first attachment
)

// String names the representation, for logs and test failures.
func (r Representation) String() string {
	switch r {
	case RepJSON:
		return "json"
	case RepAudio:
		return "audio"
	}
	return "unknown"
}

// Negotiate picks the representation an Accept header (or the tunneled ?accept= value)
// asks for. audioType is the attachment's content type, "" when there is none.
//
// Each media range with q > 0 stands for one representation:
//   - application/json, application/x-json, application/*, */* → RepJSON;
//   - audio/mpeg, audio/mp3, audio/*, and audioType itself → RepAudio.
//
// The range with the highest q wins, the earlier one on a tie. Unlike Kazoo, which only
// knew audio/mpeg and audio/mp3, audio/* and the attachment's own type count, so a
// browser's <audio> element gets audio. Ranges with other types are ignored; so are
// malformed ones (RFC 9110 lets a server disregard what it cannot parse), and a header
// with nothing usable in it counts as absent: RepJSON. ok is false when ranges were given
// and none is acceptable: the caller answers 406.
func Negotiate(accept string, audioType string) (rep Representation, ok bool) {
	audioType = strings.ToLower(strings.TrimSpace(stripParams(audioType)))
	bestQ, parsed := 0, false
	for _, element := range splitOutsideQuotes(accept, ',') {
		mr, valid := parseMediaRange(element)
		if !valid {
			continue
		}
		parsed = true
		candidate, known := representationOf(mr.mediaType, audioType)
		if known && mr.q > bestQ {
			rep, bestQ = candidate, mr.q
		}
	}
	switch {
	case bestQ > 0:
		return rep, true
	case !parsed:
		return RepJSON, true
	default:
		return 0, false
	}
}

// representationOf maps one media range to what it selects.
func representationOf(mediaType, audioType string) (Representation, bool) {
	switch mediaType {
	case "*/*", "application/*", "application/json", "application/x-json":
		return RepJSON, true
	case "audio/*", "audio/mpeg", "audio/mp3":
		return RepAudio, true
	}
	if audioType != "" && mediaType == audioType {
		return RepAudio, true
	}
	return 0, false
}

// mediaRange is one parsed Accept element; q is in thousandths (0..1000) so ties compare exactly.
type mediaRange struct {
	mediaType string // lower case "type/subtype"
	q         int
}

// parseMediaRange parses `type "/" subtype *( OWS ";" OWS name "=" value )` (RFC 9110 §12.5.1).
// Any malformed part, including a bad q, makes the whole element invalid.
func parseMediaRange(element string) (mediaRange, bool) {
	parts := splitOutsideQuotes(element, ';')
	if len(parts) == 0 {
		return mediaRange{}, false
	}
	typ, sub, found := strings.Cut(strings.ToLower(parts[0]), "/")
	if !found || !isToken(typ) || !isToken(sub) || (typ == "*" && sub != "*") {
		return mediaRange{}, false
	}
	mr := mediaRange{mediaType: typ + "/" + sub, q: 1000}
	for _, param := range parts[1:] {
		name, value, found := strings.Cut(param, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !found || !isToken(name) || !(isToken(value) || isQuotedString(value)) {
			return mediaRange{}, false
		}
		if strings.EqualFold(name, "q") {
			q, valid := parseQValue(value)
			if !valid {
				return mediaRange{}, false
			}
			mr.q = q
		}
	}
	return mr, true
}

// parseQValue parses `"0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]` into thousandths.
func parseQValue(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range s[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			q += int(c-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// splitOutsideQuotes splits s at sep, except inside quoted strings, trims the pieces and
// drops empty ones (RFC 9110 §5.6.1: recipients accept empty list elements).
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted, escaped := 0, false, false
	add := func(part string) {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			add(s[start:i])
			start = i + 1
		}
	}
	add(s[start:])
	return parts
}

// stripParams drops the parameters of a content type ("audio/mpeg; x=y" → "audio/mpeg").
func stripParams(contentType string) string {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return mediaType
}

// isToken reports whether s is an RFC 9110 token: one or more tchars.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isQuotedString reports whether s is a whole quoted-string (escapes allowed inside).
func isQuotedString(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		switch s[i] {
		case '\\':
			i++
			if i == len(s)-1 {
				return false // the closing quote was escaped
			}
		case '"':
			return false
		}
	}
	return true
}
