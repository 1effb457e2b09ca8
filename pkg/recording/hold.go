package recording

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HoldField is the public field of a legal hold, which freezes a recording for litigation or
// a regulator: while one is set the recording cannot be deleted, soft-deleted, purged by
// retention or edited; it can still be read, downloaded and restored.
//
//	{"reason": "case 2026-114", "held_at": <gregorian seconds>, "held_by": "<user or account id>"}
//
// Only reason comes from the client; the service stamps the rest. The hold binds this
// service only: Kazoo's own crossbar does not know the field.
const HoldField = "legal_hold"

// MaxHoldReason bounds a hold's reason, in characters.
const MaxHoldReason = 500

// Hold is a recording's legal hold.
type Hold struct {
	Reason string
	HeldAt int64 // gregorian seconds
	HeldBy string
}

// HoldOf is the hold on doc, if any. Any non-null legal_hold counts, even one written by
// hand without a reason: a hold that is unreadable must still hold.
func HoldOf(doc Doc) (Hold, bool) {
	v, ok := doc[HoldField]
	if !ok || v == nil {
		return Hold{}, false
	}
	h := Hold{}
	if obj, ok := v.(map[string]any); ok {
		h.Reason, _ = obj["reason"].(string)
		h.HeldAt, _ = AsInt(obj["held_at"])
		h.HeldBy, _ = obj["held_by"].(string)
	}
	return h, true
}

// ELocked is the code of a request that would delete or change a recording on legal hold.
const ELocked = "locked"

// HeldError says which hold refused a request; it is the cause of an ELocked *Error.
type HeldError struct {
	ID   string
	Hold Hold
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("recording %s is on legal hold (%s)", e.ID, e.Hold.Reason)
}

func heldError(id string, h Hold) error {
	return &Error{Code: ELocked, Message: "recording " + id + " is on legal hold", Err: &HeldError{ID: id, Hold: h}}
}

// checkHoldValue validates the legal_hold of a PATCH body: null, or an object with a reason.
// held_at and held_by may be sent back as read; the service stamps its own.
func checkHoldValue(v any) error {
	if v == nil {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &FieldError{Field: HoldField, Code: "type", Message: "legal_hold must be an object with a reason, or null to release it"}
	}
	for k := range obj {
		switch k {
		case "reason", "held_at", "held_by":
		default:
			return &FieldError{Field: HoldField + "." + k, Code: "forbidden", Message: "legal_hold takes only a reason"}
		}
	}
	reason, ok := obj["reason"].(string)
	switch {
	case !ok:
		return &FieldError{Field: HoldField + ".reason", Code: "required", Message: "a legal hold needs a reason (a string)"}
	case strings.TrimSpace(reason) == "":
		return &FieldError{Field: HoldField + ".reason", Code: "minLength", Message: "a legal hold's reason cannot be empty"}
	case utf8.RuneCountInString(reason) > MaxHoldReason:
		return &FieldError{Field: HoldField + ".reason", Code: "maxLength", Message: fmt.Sprintf("a legal hold's reason is at most %d characters", MaxHoldReason)}
	}
	return nil
}

// TouchesHold reports whether the patch sets or releases a legal hold: only administrators
// may send it.
func (p *Patch) TouchesHold() bool { _, ok := p.fields[HoldField]; return ok }

// SetsHold reports whether the patch puts the recording on hold.
func (p *Patch) SetsHold() bool { v, ok := p.fields[HoldField]; return ok && v != nil }

// ReleasesHold reports whether the patch sends legal_hold: null.
func (p *Patch) ReleasesHold() bool { v, ok := p.fields[HoldField]; return ok && v == nil }

// checkHold refuses a patch that would change a recording held before or after it: once a
// hold applies, only the hold itself and a restore may be sent.
func (p *Patch) checkHold(doc Doc) error {
	h, held := HoldOf(doc)
	switch {
	case p.SetsHold():
		if !held {
			h = Hold{Reason: p.fields[HoldField].(map[string]any)["reason"].(string)}
		}
		held = true
	case p.ReleasesHold():
		held = false
	}
	if !held {
		return nil
	}
	for k := range p.fields {
		switch {
		case k == HoldField, k == "soft_restore":
		case k == "soft_delete" && p.fields[k] == nil: // Kazoo clients' restore
		default:
			return heldError(doc.ID(), h)
		}
	}
	return nil
}

// stampHold replaces the hold the patch sets with the service's own: the client's reason,
// when and by whom (the user, or the account for tokens without one).
func stampHold(fields map[string]any, doc Doc, caller Caller, nowG int64) {
	obj, ok := fields[HoldField].(map[string]any)
	if !ok {
		return
	}
	by := caller.UserID
	if by == "" {
		by = caller.AccountID
	}
	fields[HoldField] = map[string]any{"reason": obj["reason"], "held_at": json.Number(strconv.FormatInt(nowG, 10)), "held_by": by}
	delete(doc, HoldField) // a new hold replaces the old one whole
}
