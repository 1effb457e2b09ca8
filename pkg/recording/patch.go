package recording

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Caller is who makes a change, stamped into soft_delete/soft_restore and audit fields.
type Caller struct {
	AccountID string
	UserID    string // may be empty (account-level tokens)
	RequestID string
	// MayChange, when set, vets each document before it is written (EForbidden to refuse).
	MayChange func(Doc) error
}

func (c Caller) check(d Doc) error {
	if c.MayChange == nil {
		return nil
	}
	return c.MayChange(d)
}

// Patch is a validated PATCH body: a JSON merge patch over the public fields of a recording.
type Patch struct {
	fields map[string]any
}

// FieldError names the field of a request that is wrong, in Kazoo's validation shape.
type FieldError struct {
	Field   string // dotted path, e.g. "soft_delete.deleted_at"
	Code    string // e.g. "type", "forbidden"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// NewPatch validates request data. It returns a *FieldError when a key is private (starts with
// "_" or "pvt_"), when soft_delete or soft_restore is not an object (soft_delete may be null:
// Kazoo clients restore by sending null), when both appear together, or when legal_hold is
// neither null nor an object with a reason. "id" may be sent back unchanged and is ignored.
func NewPatch(data map[string]any, id string) (*Patch, error) {
	fields := make(map[string]any, len(data))
	for k, v := range data {
		switch {
		case IsPrivateKey(k):
			return nil, &FieldError{Field: k, Code: "forbidden", Message: "private field " + k + " cannot be changed"}
		case k == "id":
			if s, _ := v.(string); s != id {
				return nil, &FieldError{Field: "id", Code: "forbidden", Message: "id cannot be changed"}
			}
			continue
		}
		fields[k] = v
	}
	sd, hasDelete := fields["soft_delete"]
	sr, hasRestore := fields["soft_restore"]
	if hasDelete && sd != nil && hasRestore && sr != nil {
		return nil, &FieldError{Field: "soft_restore", Code: "conflict", Message: "soft_delete and soft_restore cannot be sent together"}
	}
	if hasDelete && sd != nil {
		obj, ok := sd.(map[string]any)
		if !ok {
			return nil, &FieldError{Field: "soft_delete", Code: "type", Message: "soft_delete must be an object"}
		}
		if err := checkStamp(obj, "soft_delete", "deleted_at", "deleted_by"); err != nil {
			return nil, err
		}
	}
	if hasRestore {
		obj, ok := sr.(map[string]any)
		if !ok {
			return nil, &FieldError{Field: "soft_restore", Code: "type", Message: "soft_restore must be an object"}
		}
		if err := checkStamp(obj, "soft_restore", "restored_at", "restored_by"); err != nil {
			return nil, err
		}
	}
	if v, ok := fields[HoldField]; ok {
		if err := checkHoldValue(v); err != nil {
			return nil, err
		}
	}
	return &Patch{fields: fields}, nil
}

// checkStamp validates the time and actor of a soft_delete/soft_restore object.
func checkStamp(obj map[string]any, name, atKey, byKey string) error {
	if v, ok := obj[atKey]; ok && v != nil {
		if _, ok := gregorianValue(v); !ok {
			return &FieldError{Field: name + "." + atKey, Code: "type", Message: atKey + " must be an integer (gregorian seconds)"}
		}
	}
	if v, ok := obj[byKey]; ok && v != nil {
		if _, ok := v.(map[string]any); !ok {
			return &FieldError{Field: name + "." + byKey, Code: "type", Message: byKey + " must be an object"}
		}
	}
	return nil
}

// gregorianValue accepts an integer or a numeric string (Kazoo's docs send "63755032655").
func gregorianValue(v any) (int64, bool) {
	if s, ok := v.(string); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil && n >= 0
	}
	n, ok := AsInt(v)
	return n, ok && n >= 0
}

// SoftDeletes reports whether applying the patch soft-deletes the recording.
func (p *Patch) SoftDeletes() bool { v, ok := p.fields["soft_delete"]; return ok && v != nil }

// Apply merges the patch into doc in place: objects merge, null removes a key, anything else
// replaces. soft_delete gets deleted_at/deleted_by filled in when missing; soft_restore removes
// soft_delete, keeps it as soft_restore.delete_data and gets restored_at/restored_by.
func (p *Patch) Apply(doc Doc, caller Caller, now time.Time) {
	fields := cloneValue(p.fields).(map[string]any)
	nowG := ToGregorian(now)
	if sd, ok := fields["soft_delete"].(map[string]any); ok {
		stamp(sd, "deleted_at", "deleted_by", caller, nowG)
		// a fresh delete replaces an earlier one wholesale rather than merging into it
		delete(doc, "soft_delete")
	}
	if sr, ok := fields["soft_restore"].(map[string]any); ok {
		stamp(sr, "restored_at", "restored_by", caller, nowG)
		if old, ok := doc["soft_delete"]; ok && old != nil {
			sr["delete_data"] = old
		}
		delete(doc, "soft_delete")
		delete(doc, "soft_restore")
	}
	stampHold(fields, doc, caller, nowG)
	mergePatch(map[string]any(doc), fields)
	doc["pvt_modified"] = json.Number(strconv.FormatInt(nowG, 10))
	stampAudit(doc, caller)
}

func stamp(obj map[string]any, atKey, byKey string, caller Caller, nowG int64) {
	if v, ok := obj[atKey]; ok && v != nil {
		n, _ := gregorianValue(v)
		obj[atKey] = json.Number(strconv.FormatInt(n, 10))
	} else {
		obj[atKey] = json.Number(strconv.FormatInt(nowG, 10))
	}
	if v, ok := obj[byKey]; !ok || v == nil {
		by := map[string]any{"account_id": caller.AccountID}
		if caller.UserID != "" {
			by["user_id"] = caller.UserID
		}
		obj[byKey] = by
	}
}

// stampAudit records who wrote the document last, as Kazoo's crossbar does.
func stampAudit(doc Doc, caller Caller) {
	if caller.AccountID != "" {
		doc["pvt_auth_account_id"] = caller.AccountID
	}
	if caller.UserID != "" {
		doc["pvt_auth_user_id"] = caller.UserID
	} else {
		delete(doc, "pvt_auth_user_id")
	}
	if caller.RequestID != "" {
		doc["pvt_request_id"] = caller.RequestID
	}
}

// mergePatch applies an RFC 7386 JSON merge patch to target.
func mergePatch(target, patch map[string]any) {
	for k, v := range patch {
		if v == nil {
			delete(target, k)
			continue
		}
		if pv, ok := v.(map[string]any); ok {
			tv, ok := target[k].(map[string]any)
			if !ok {
				tv = map[string]any{}
			}
			mergePatch(tv, pv)
			target[k] = tv
			continue
		}
		target[k] = v
	}
}
