package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Hash is the hash of an entry as stored: the lower-case hex SHA-256 of its canonical JSON,
// which is
//
//   - the entry's document without its "_id", "_rev" and "hash" members (every other member
//     counts, so a member added to a stored entry breaks its hash as an edited one does);
//   - written with no whitespace, the members of every object sorted bytewise by name;
//   - strings as Go's encoding/json writes them with HTML escaping off: `"` and `\` escaped,
//     \b \f \n \r \t, \u00XX for other control characters, \u2028 and \u2029, invalid UTF-8
//     as U+FFFD, everything else as is;
//   - numbers in decimal when they are integers that fit 64 bits, otherwise as the shortest
//     ECMAScript form of their float64 value (as JavaScript's String(x) writes it), so that a
//     store writing 1.0e21 where we wrote 1e+21 changes nothing.
//
// prev, part of it, is the previous entry's hash ("" for seq 1), which chains the entries.
// An auditor can recompute it in any language; TestHashDefinition holds a worked example.
func Hash(doc recording.Doc) string {
	sum := sha256.Sum256(CanonicalJSON(doc))
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON is what Hash hashes.
func CanonicalJSON(doc recording.Doc) []byte {
	body := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "_id" && k != "_rev" && k != "hash" {
			body[k] = canonicalValue(v)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		// Documents decoded from JSON hold nothing unencodable; should one, its hash matches none.
		return []byte("unencodable: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// canonicalValue rewrites numbers in their canonical form, at every depth.
func canonicalValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = canonicalValue(x)
		}
		return out
	case recording.Doc:
		return canonicalValue(map[string]any(t))
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = canonicalValue(x)
		}
		return out
	case json.Number:
		return canonicalNumber(string(t))
	case float64:
		return canonicalNumber(strconv.FormatFloat(t, 'g', -1, 64))
	case int:
		return json.Number(strconv.Itoa(t))
	case int64:
		return json.Number(strconv.FormatInt(t, 10))
	}
	return v
}

func canonicalNumber(s string) json.Number {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return json.Number(s) // not a number: encoding/json refuses it, as it should
	}
	b, _ := json.Marshal(f) // encoding/json writes float64 in ECMAScript's shortest form
	return json.Number(b)
}
