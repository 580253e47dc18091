package manager

// Note is one line of status an integration shows on the manager's page
// and in its JSON (field "notes"): for example an etcd fleet's connection
// ("fleet", false, "etcd unreachable since 11:02:03: ..."). The zero
// value is a failing note without a name or detail.
type Note struct {
	// Name says what the note is about ("fleet"); the page shows it in
	// bold before the detail.
	Name string `json:"name"`
	// OK is false when the note reports a problem; the page shows such a
	// note as an error.
	OK bool `json:"ok"`
	// Detail is one line of text for an operator.
	Detail string `json:"detail"`
}

// notes returns the configured notes, nil without a Notes function. It
// runs outside any manager lock.
func (mg *Manager) notes() []Note {
	if mg.notesFn == nil {
		return nil
	}
	return mg.notesFn()
}
