package recording

// Owner is the recording's owner: owner_id (the field the owner index uses), else the owner
// the media server put into the channel variables; "" when it has none.
func (d Doc) Owner() string {
	if o := d.String("owner_id"); o != "" {
		return o
	}
	ccv, _ := d["custom_channel_vars"].(map[string]any)
	for _, k := range []string{"owner_id", "Owner-ID"} {
		if o, _ := ccv[k].(string); o != "" {
			return o
		}
	}
	return ""
}
