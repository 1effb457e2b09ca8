package recording

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHasCredentials(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef"
	user := func(extra map[string]any) map[string]any {
		d := map[string]any{"_id": "u", "pvt_type": "user", "enabled": true, FieldMD5Auth: h, FieldSHA1Auth: h + "sha"}
		for k, v := range extra {
			if v == nil {
				delete(d, k)
			} else {
				d[k] = v
			}
		}
		return d
	}
	num := func(s string) json.Number { return json.Number(s) }
	cases := []struct {
		name  string
		doc   map[string]any
		field string
		hash  string
		want  bool
	}{
		{"enabled absent", user(map[string]any{"enabled": nil}), FieldMD5Auth, h, false},
		{"enabled true", user(map[string]any{"enabled": true}), FieldMD5Auth, h, true},
		{"enabled false", user(map[string]any{"enabled": false}), FieldMD5Auth, h, false},
		{`enabled "false" (a string, true to JavaScript)`, user(map[string]any{"enabled": "false"}), FieldMD5Auth, h, true},
		{"pvt_deleted true", user(map[string]any{"pvt_deleted": true}), FieldMD5Auth, h, false},
		{`pvt_deleted "true"`, user(map[string]any{"pvt_deleted": "true"}), FieldMD5Auth, h, false},
		{`pvt_deleted "false" (true to JavaScript)`, user(map[string]any{"pvt_deleted": "false"}), FieldMD5Auth, h, false},
		{"pvt_deleted 1", user(map[string]any{"pvt_deleted": num("1")}), FieldMD5Auth, h, false},
		{"pvt_deleted {}", user(map[string]any{"pvt_deleted": map[string]any{}}), FieldMD5Auth, h, false},
		{"pvt_deleted false", user(map[string]any{"pvt_deleted": false}), FieldMD5Auth, h, true},
		{"pvt_deleted 0", user(map[string]any{"pvt_deleted": num("0")}), FieldMD5Auth, h, true},
		{"pvt_deleted 0.0", user(map[string]any{"pvt_deleted": num("0.0")}), FieldMD5Auth, h, true},
		{`pvt_deleted ""`, user(map[string]any{"pvt_deleted": ""}), FieldMD5Auth, h, true},
		{"pvt_type device", user(map[string]any{"pvt_type": "device"}), FieldMD5Auth, h, false},
		{"pvt_type absent", user(map[string]any{"pvt_type": nil}), FieldMD5Auth, h, false},
		{"pvt_type User", user(map[string]any{"pvt_type": "User"}), FieldMD5Auth, h, false},
		{"sha1 field", user(nil), FieldSHA1Auth, h + "sha", true},
		{"md5 hash asked of the sha1 field", user(nil), FieldSHA1Auth, h, false},
		{"other case", user(nil), FieldMD5Auth, strings.ToUpper(h), false},
		{"empty hash", user(map[string]any{FieldMD5Auth: ""}), FieldMD5Auth, "", false},
		{"hash not a string", user(map[string]any{FieldMD5Auth: num("12")}), FieldMD5Auth, "12", false},
		{"unknown field", user(map[string]any{"password": h}), "password", h, false},
	}
	nullEnabled := user(nil)
	nullEnabled["enabled"] = nil // JSON null, kept as a key: falsy, as in Kazoo
	cases = append(cases, struct {
		name  string
		doc   map[string]any
		field string
		hash  string
		want  bool
	}{"enabled null", nullEnabled, FieldMD5Auth, h, false})
	for _, c := range cases {
		if got := HasCredentials(c.doc, c.field, c.hash); got != c.want {
			t.Errorf("%s: HasCredentials = %v, want %v", c.name, got, c.want)
		}
	}
}
