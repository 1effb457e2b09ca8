package s3media

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/erlterm"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Location is where kz_att_s3 put an object, as its payload says (Kazoo 4.3
// core/kazoo_attachments/src/kz_att_s3.erl, decode_retrieval/1 and aws_config/1).
type Location struct {
	Bucket string
	Key    string
	Scheme string // http or https
	Host   string
	Port   int
	Region string // "" when the payload has none
	// AccessMethod is erlcloud's s3_bucket_access_method: path, vhost or auto (vhost for
	// DNS-compatible bucket names, path otherwise).
	AccessMethod string
	// The key pair stored with the object. Secret: never log.
	AccessKeyID, SecretAccessKey string
}

// Kazoo's default host (?AMAZON_S3_HOST).
const amazonS3Host = "s3.amazonaws.com"

// ParseLocation reads the payload {"S3": base64(term_to_binary(Term)), "metadata": {…}}.
// Term is {SettingsMap, FilePath} since Kazoo 4.1, the map's keys atoms (key, secret, bucket,
// host, scheme, port, region, bucket_access_method, path, folder_base_path, field_list, …);
// Kazoo 4.0 wrote {Key, Secret, Bucket, Path}, {Key, Secret, Host, Bucket, Path} or
// {Key, Secret, {Scheme, Host, Port}, Bucket, Path}, whose object key Kazoo derives from the
// database, the document id and the attachment name. Errors: Invalid.
func ParseLocation(att media.Attachment) (Location, error) {
	raw := media.Text(att.Payload, "S3")
	if raw == "" {
		return Location{}, invalid("missing_s3", errors.New("the kz_att_s3 payload has no S3 value"))
	}
	bin, err := decodeBase64(raw)
	if err != nil {
		return Location{}, invalid("undecodable_s3", errors.New("the kz_att_s3 payload's S3 value is not base64"))
	}
	term, err := erlterm.Decode(bin)
	if err != nil {
		return Location{}, invalid("undecodable_s3", err)
	}
	settings, ok := settingsOf(term)
	if !ok {
		return Location{}, invalid("undecodable_s3", errors.New("the kz_att_s3 payload is not a shape Kazoo writes"))
	}
	loc := Location{
		Bucket:          text(settings["bucket"]),
		Region:          text(settings["region"]),
		AccessKeyID:     text(settings["key"]),
		SecretAccessKey: text(settings["secret"]),
		AccessMethod:    text(settings["bucket_access_method"]),
	}
	if loc.Bucket == "" {
		return Location{}, invalid("undecodable_s3", errors.New("the kz_att_s3 payload names no bucket"))
	}
	loc.Key = text(settings["file"])
	if loc.Key == "" {
		loc.Key = objectName(settings, att)
	}
	if loc.Key == "" {
		return Location{}, invalid("undecodable_s3", errors.New("the kz_att_s3 payload names no object"))
	}
	scheme := strings.TrimSuffix(strings.ToLower(text(settings["scheme"])), "://")
	switch scheme {
	case "":
		scheme = "https"
	case "http", "https":
	default:
		return Location{}, invalid("unsupported_scheme", errors.New("the kz_att_s3 payload's scheme is neither http nor https"))
	}
	loc.Scheme = scheme
	loc.Host = text(settings["host"])
	if loc.Host == "" {
		loc.Host = amazonS3Host
		if loc.Region != "" {
			loc.Host = "s3." + loc.Region + ".amazonaws.com"
		}
	}
	loc.Port = 443
	if scheme != "https" {
		loc.Port = 80
	}
	if p, ok := integer(settings["port"]); ok {
		if p <= 0 || p > 65535 {
			return Location{}, invalid("undecodable_s3", errors.New("the kz_att_s3 payload's port is out of range"))
		}
		loc.Port = int(p)
	}
	if loc.AccessMethod == "" {
		// aws_default_bucket_access/1: path without a region, auto with one.
		loc.AccessMethod = "path"
		if loc.Region != "" {
			loc.AccessMethod = "auto"
		}
	}
	return loc, nil
}

func invalid(reason string, err error) *media.Error {
	return &media.Error{Kind: media.Invalid, Handler: Handler, Reason: reason, Err: err}
}

// decodeBase64 reads Erlang's base64:encode/1 output (standard alphabet, padded), tolerating
// line breaks and missing padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' {
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// settingsOf turns each shape decode_retrieval/1 accepts into its settings map, keyed by the
// atoms' names.
func settingsOf(term any) (map[string]any, bool) {
	switch t := term.(type) {
	case erlterm.Map:
		return mapOf(t), true
	case erlterm.Tuple:
		switch {
		case len(t) == 2:
			m, ok := t[0].(erlterm.Map)
			if !ok {
				return nil, false
			}
			s := mapOf(m)
			s["file"] = t[1]
			return s, true
		case len(t) == 4:
			return map[string]any{"key": t[0], "secret": t[1], "host": amazonS3Host, "bucket": t[2], "path": t[3]}, true
		case len(t) == 5:
			s := map[string]any{"key": t[0], "secret": t[1], "host": t[2], "bucket": t[3], "path": t[4]}
			if h, ok := t[2].(erlterm.Tuple); ok && len(h) == 3 {
				s["scheme"], s["host"], s["port"] = h[0], h[1], h[2]
			}
			return s, true
		}
	}
	return nil, false
}

func mapOf(m erlterm.Map) map[string]any {
	out := make(map[string]any, len(m))
	for _, p := range m {
		if k := text(p.Key); k != "" {
			out[k] = p.Value
		}
	}
	return out
}

// text reads a term as kz_term:to_list/1 would: binaries, charlists, atoms and integers;
// the atoms undefined and null are absent values.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case erlterm.Charlist:
		return string(t)
	case erlterm.Atom:
		if t == "undefined" || t == "null" {
			return ""
		}
		return string(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case erlterm.List:
		// A charlist too long or too wide for STRING_EXT.
		var b strings.Builder
		for _, e := range t {
			c, ok := e.(int64)
			if !ok || c < 0 || c > 0x10ffff {
				return ""
			}
			b.WriteRune(rune(c))
		}
		return b.String()
	}
	return ""
}

func integer(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case nil:
		return 0, false
	}
	if s := text(v); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// objectName is kz_att_util:format_url/3 with kz_att_s3's default fields: the object name
// Kazoo derives when the payload has no file (Kazoo 4.0's tuples):
// [path/]<db>/<id>_<attachment>, each part URI-encoded.
func objectName(settings map[string]any, att media.Attachment) string {
	fields, ok := settings["field_list"].(erlterm.List)
	if !ok {
		fields = erlterm.List{
			erlterm.Tuple{erlterm.Atom("arg"), "db"},
			erlterm.Tuple{erlterm.Atom("group"), erlterm.List{
				erlterm.Tuple{erlterm.Atom("arg"), "id"},
				erlterm.Tuple{erlterm.Atom("const"), "_"},
				erlterm.Tuple{erlterm.Atom("arg"), "attachment"},
			}},
		}
	}
	sep := "/"
	if v, ok := settings["field_separator"]; ok {
		sep = text(v)
	}
	month, ok := recording.ParseRecordingID(att.RecordingID)
	db := ""
	if ok && recording.ValidAccountID(att.AccountID) {
		db = recording.MonthDBName(att.AccountID, month)
	}
	args := map[string]string{"attachment": att.Name, "id": att.RecordingID, "account_id": att.AccountID, "db": db}
	base := formatFields(fields, args, att.Fields, sep)
	path := text(settings["path"])
	if _, ok := settings["path"]; !ok {
		path = joinPath(text(settings["folder_base_path"]), text(settings["folder_path"]))
	}
	if path == "" {
		return base
	}
	return strings.TrimRight(path, "/") + "/" + base
}

func joinPath(base, other string) string {
	switch {
	case base == "":
		return other
	case other == "":
		return base
	case strings.HasPrefix(other, "/"):
		return other
	}
	return strings.TrimRight(base, "/") + "/" + other
}

// formatFields renders a field_list: {arg, Name}, {field, Name}, {const, Text}, {group, List}
// as tuples or as JSON-born maps ({"arg": Name}, …), or a literal binary.
func formatFields(fields erlterm.List, args map[string]string, doc map[string]any, sep string) string {
	var parts []string
	for _, f := range fields {
		kind, value := fieldOf(f)
		switch kind {
		case "arg":
			if v := args[text(value)]; v != "" {
				parts = append(parts, uriEncode(v))
			}
		case "field":
			if v, _ := doc[text(value)].(string); v != "" {
				parts = append(parts, uriEncode(v))
			}
		case "const", "literal":
			parts = append(parts, text(value))
		case "group":
			if l, ok := value.(erlterm.List); ok {
				parts = append(parts, formatFields(l, args, doc, ""))
			}
		}
	}
	return strings.Join(parts, sep)
}

func fieldOf(f any) (kind string, value any) {
	switch t := f.(type) {
	case erlterm.Tuple:
		if len(t) == 2 {
			return text(t[0]), t[1]
		}
	case erlterm.Map:
		for _, k := range []string{"group", "arg", "field", "const"} {
			if v, ok := t.Get(k); ok {
				return k, v
			}
		}
	case string:
		return "literal", t
	}
	return "", nil
}

// uriEncode is OTP's http_uri:encode/1, which Kazoo's kz_util:uri_encode/1 calls: only its
// reserved characters are escaped.
func uriEncode(s string) string {
	const reserved = ";:@&=+,/?#[]<>\"{}|\\'^% "
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(reserved, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
